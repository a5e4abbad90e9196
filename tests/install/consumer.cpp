// A C++17 program using the installed attnkern's C++ API (tests/install/run.sh builds it every way).
#include <attnkern/attnkern.hpp>
#include <attnkern/bounds.hpp>
#include <attnkern/reference.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int main() {
  std::vector<float> x{-2.0f, -0.5f, 0.0f, 0.5f, 2.0f}, y(x.size());
  attnkern::tanh(x.data(), y.data(), x.size());
  // the documented bound, from the installed bounds.hpp, against the installed float64 reference
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double ref = attnkern::reference::tanh(static_cast<double>(x[i]));
    const double ulp = ref == 0 ? 0x1p-149 : std::ldexp(1.0, std::ilogb(ref) - 23);
    if (std::fabs(y[i] - ref) > attnkern::bounds::tanh_max_ulp * ulp) return 1;
  }
  try {
    attnkern::set_isa("no-such-isa");
    return 1;
  } catch (const attnkern::error& e) {
    if (e.status() != ATTNKERN_ERROR_UNSUPPORTED_ISA) return 1;
    if (std::string(e.what()).find("\"no-such-isa\" cannot be used") == std::string::npos) return 1;
  }
  std::printf("C++ consumer: attnkern %s on %s, tanh(0.5) = %.7f\n", attnkern::version().c_str(),
              attnkern::isa().c_str(), y[3]);
  return 0;
}
