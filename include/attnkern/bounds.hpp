// attnkern/bounds.hpp: the documented error bound of every kernel, each defined here and nowhere
// else. The unit tests and the fuzz targets assert exactly these constants, attnkern-numerics
// measures fingerprints against them, and every other place (attnkern.h, the kernels' headers,
// docs/numerics.md) quotes them by name. Public and header-only (C++17), so that a caller's own
// regression tests can hold attnkern's results to the same numbers.
//
// Errors are measured against the float64 reference (attnkern/reference.hpp with T = double).
// ULP: |y - ref| / 2^(floor(log2 |ref|) - 23), ref not rounded to float, the spacing never below
// 2^-149. Each kernel's header (kernels/<family>/<family>_kernel.hpp) derives its bound.
#ifndef ATTNKERN_BOUNDS_HPP
#define ATTNKERN_BOUNDS_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace attnkern {
namespace bounds {

// tanh (kernels/isa/tanh/tanh_kernel.hpp), in ULP against float64.
constexpr double tanh_max_ulp = 1.0;
// Against the float scalar reference (correctly rounded but for double rounding, 0.5 ULP): both lie
// within 1 + 0.5 ULP of the float64 value, so they are at most one float apart.
constexpr std::int64_t tanh_max_floats_from_reference = 1;
// softmax (kernels/isa/softmax/softmax_kernel.hpp): |y - ref| <= 1e-6 |ref| + 2^-126 per output (the
// absolute floor covers outputs below FLT_MIN, which cannot carry relative precision), row sums
// within 1e-6 of 1; log-softmax within 1e-6 max(1, |y|).
constexpr double softmax_max_rel_error = 1e-6;
constexpr double softmax_abs_floor = 0x1p-126;
constexpr double softmax_max_sum_error = 1e-6;
constexpr double log_softmax_max_error = 1e-6;
// The fused attention kernels (kernels/isa/pooling/pooling_kernel.hpp): weights within the bound
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
// Scaled dot-product attention (kernels/isa/attention/attention_kernel.hpp): each output row within
//   max|v| 2^-24 (2 (d + 1) sigma + 2 ln n + 136)  (+ 2^-126)
// of the float64 reference, sigma = scale * max_j sum_c |q[i,c] k[j,c]| and max|v| over the n keys
// the row sees. On random inputs (q, k uniform in [-1, 1], scale 1/sqrt(d)) the tests also hold every
// row to sdpa_random_input_error times max|v|: the sigma term is a worst case that random rounding
// errors do not approach. It is a test tolerance for such inputs, not a bound for all inputs.
inline double sdpa_max_error(std::size_t head_dim, double sigma, std::size_t keys) {
  const double n = keys > 1 ? static_cast<double>(keys) : 1.0;
  return 0x1p-24 * (2.0 * (static_cast<double>(head_dim) + 1.0) * sigma + 2.0 * std::log(n) + 136.0);
}
constexpr double sdpa_random_input_error = 1e-5;
// attnkern_attention with a softcap, a bias or ALiBi (kernels/isa/attention/attention_kernel.hpp): as sdpa_max_error
// with head_dim + 7 in place of head_dim and sigma = the largest |scale q.k| + |bias term| + |ALiBi
// term| of the row: the modifiers' roundings (softcap's division, tanh and product: 3.88 u; the bias
// and ALiBi products and sums: 3 u) are at most 7 u of that sigma per score. A sink adds one key to n.
// The log-sum-exp likewise: lse_max_error with head_dim + 7.
inline double attention_max_error(std::size_t head_dim, double sigma, std::size_t keys) {
  return sdpa_max_error(head_dim + 7, sigma, keys + 1);
}
// attnkern_attention's log-sum-exp per row (kernels/isa/attention/attention_kernel.hpp): within
//   2^-24 ((d + 2) sigma + 2 ln n + 52)
// of the float64 reference, absolute, with sigma and n as for sdpa_max_error.
inline double lse_max_error(std::size_t head_dim, double sigma, std::size_t keys) {
  const double n = keys > 1 ? static_cast<double>(keys) : 1.0;
  return 0x1p-24 * ((static_cast<double>(head_dim) + 2.0) * sigma + 2.0 * std::log(n) + 52.0);
}
// attnkern_attention with half-precision tensors (q_dtype, k_dtype, v_dtype, out_dtype): f16 and bf16
// inputs are widened to float exactly, so every bound above holds as it is, for the widened values.
// An f16 or bf16 output is rounded once, to nearest even, from the double that a float32 output is
// rounded from (through a float rounded to odd): add half a unit in its last place, at most
// half_out_error times max|v| (|out| <= max|v|), and for f16 half its smallest subnormal,
// f16_out_floor, absolute.
inline double half_out_error(bool bf16) { return bf16 ? 0x1p-8 : 0x1p-11; }
constexpr double f16_out_floor = 0x1p-25;
// attnkern_attention_merge (kernels/capi.cpp): a merged row is within the larger of its two parts'
// errors, plus ((e_a + e_b) / 2 + merge_max_error) times the larger |out| of the parts, where e_a and
// e_b are the errors of the parts' lse; its lse within the larger of e_a and e_b plus
// merge_max_error max(1, |lse|).
constexpr double merge_max_error = 0x1p-23;
// The two allowances of a merged row, from its parts: out_err_a and out_err_b the parts' own output
// errors (their bounds), lse_err_a and lse_err_b their lse errors, max_abs_out the larger |out| of
// the parts, and lse the merged row's log-sum-exp.
inline double merge_out_max_error(double out_err_a, double out_err_b, double lse_err_a, double lse_err_b,
                                  double max_abs_out) {
  return (out_err_a > out_err_b ? out_err_a : out_err_b) + ((lse_err_a + lse_err_b) / 2.0 + merge_max_error) * max_abs_out;
}
inline double merge_lse_max_error(double lse_err_a, double lse_err_b, double lse) {
  const double a = std::fabs(lse);
  return (lse_err_a > lse_err_b ? lse_err_a : lse_err_b) + merge_max_error * (a > 1.0 ? a : 1.0);
}
// The notebooks' examples (tests/data/): attnkern's float outputs against their float64
// expectations, absolute, for the word example's sdpa rows and the softmax seed checks.
constexpr double golden_tolerance = 1e-6;

}  // namespace bounds
}  // namespace attnkern

#endif  // ATTNKERN_BOUNDS_HPP
