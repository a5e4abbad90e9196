// The documented error bounds of every kernel (README, "Numerics"; each kernel's header derives its
// own), named once: the tests assert them (tests/support.hpp) and attnkern-numerics compares
// fingerprints against them.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace attnkern_tools {
namespace bounds {

// tanh (kernels/tanh/tanh_kernel.hpp), in ULP against float64.
constexpr double tanh_max_ulp = 1.0;
// Against the float scalar reference (correctly rounded but for double rounding, 0.5 ULP): both lie
// within 1 + 0.5 ULP of the float64 value, so they are at most one float apart.
constexpr int64_t tanh_max_floats_from_reference = 1;
// softmax (kernels/softmax/softmax_kernel.hpp): |y - ref| <= 1e-6 |ref| + 2^-126 per output (the
// absolute floor covers outputs below FLT_MIN, which cannot carry relative precision), row sums
// within 1e-6 of 1; log-softmax within 1e-6 max(1, |y|).
constexpr double softmax_max_rel_error = 1e-6;
constexpr double softmax_abs_floor = 0x1p-126;
constexpr double softmax_max_sum_error = 1e-6;
constexpr double log_softmax_max_error = 1e-6;
// The fused attention kernels (kernels/attention/attention_kernel.hpp): weights within the bound
// relative, contexts within the bound times max|x| (x = h or values, over the positions read), each
// with an absolute floor of 2^-126 for results near the bottom of the float range. attention_pool:
// 1e-5; additive_attention: max(1e-5, 5e-7 ||v||_1), the float32 tanh's rounding growing with ||v||_1.
constexpr double attention_pool_max_error = 1e-5;
constexpr double additive_attention_base_error = 1e-5;
constexpr double additive_attention_error_per_v = 5e-7;
constexpr double attention_abs_floor = 0x1p-126;
inline double additive_attention_max_error(double v_l1) {
  return v_l1 * additive_attention_error_per_v > additive_attention_base_error ? v_l1 * additive_attention_error_per_v
                                                                               : additive_attention_base_error;
}
// Scaled dot-product attention (kernels/sdpa/sdpa_kernel.hpp): each output row within
//   max|v| 2^-24 (2 (d + 1) sigma + 2 ln n + 136)  (+ 2^-126)
// of the float64 reference, sigma = scale * max_j sum_c |q[i,c] k[j,c]| and max|v| over the n keys
// the row sees. The goal, 1e-5 max|v|, is what the random-input tests also hold every row to
// (the sigma term being a worst case that random rounding errors do not approach).
inline double sdpa_max_error(std::size_t head_dim, double sigma, std::size_t keys) {
  const double n = keys > 1 ? static_cast<double>(keys) : 1.0;
  return 0x1p-24 * (2.0 * (static_cast<double>(head_dim) + 1.0) * sigma + 2.0 * std::log(n) + 136.0);
}
constexpr double sdpa_random_input_error = 1e-5;
// The notebook's examples: attnkern's float outputs against float64 expectations, 1e-6 as in the
// issue's seed check.
constexpr double golden_tolerance = 1e-6;

}  // namespace bounds
}  // namespace attnkern_tools
