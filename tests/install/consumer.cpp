// A C++17 program using the installed attnkern's C++ API (tests/install/run.sh builds it every way).
#include <attnkern/attnkern.hpp>
#include <attnkern/reference.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  std::vector<float> x{-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, y(x.size());
  attnkern::tanh(x.data(), y.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::fabs(y[i] - attnkern::reference::tanh(x[i])) > 1e-7f) return 1;
  }
  try {
    attnkern::set_isa("no-such-isa");
    return 1;
  } catch (const attnkern::error& e) {
    if (e.status() != ATTNKERN_ERROR_UNSUPPORTED_ISA) return 1;
  }
  std::printf("C++ consumer: attnkern %s on %s, tanh(0.5) = %.7f\n", attnkern::version().c_str(),
              attnkern::isa().c_str(), y[3]);
  return 0;
}
