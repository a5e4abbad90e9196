// libFuzzer target: attnkern_tanh_f32 on any floats (NaN, infinities, denormals included), any
// length, in place or not, on any path, within tanh_max_ulp (1 ULP) of float64 tanh; a null array
// gives ATTNKERN_ERROR_NULL_POINTER and writes nothing.
#include <attnkern/bounds.hpp>
#include "../tools/ulp.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace attnkern_fuzz;
  input in(data, size);
  in.select_isa();
  const uint8_t mode = in.byte();
  const std::size_t n = in.below(300);
  std::vector<float> x = in.values(n, 12.0f, false);
  if (mode % 8 == 7 && n > 0) {  // a null array
    std::vector<float> y(n, 1.5f);
    expect_status(attnkern_tanh_f32(nullptr, y.data(), n), ATTNKERN_ERROR_NULL_POINTER, "tanh");
    expect_untouched(y, 1.5f, "tanh");
    return 0;
  }
  std::vector<float> y(n);
  const bool in_place = mode % 2 == 1;
  if (in_place) y = x;
  expect_status(attnkern_tanh_f32(in_place ? y.data() : x.data(), y.data(), n), ATTNKERN_OK, "tanh");
  for (std::size_t i = 0; i < n; ++i)
    if (!(attnkern_tools::ulp_error(y[i], std::tanh(static_cast<double>(x[i]))) <= attnkern::bounds::tanh_max_ulp))
      fail("tanh beyond tanh_max_ulp at x = " + std::to_string(x[i]));
  return 0;
}
