// tanh, elementwise, float32: y[i] = tanh(x[i]).
//
// Maths (kernels/simd/tanh_core.hpp). On a = |x|, with the sign put back by a xor at the end (odd
// bit for bit, -0 kept), branch-free: both regimes are computed for every lane and one is selected.
//   a < 1 (small):  tanh(a) = a + a^3 P(a^2), P of degree 6 with single-precision minimax
//                   coefficients (relative approximation error 2^-27.6 for the whole expression).
//                   The leading a is exact, so tiny inputs and denormals come back unchanged.
//   a >= 1 (large): tanh(a) = 1 - 2/(1 + e^(2a)). e^(2a) = 2^k e^r with k = round(2a log2 e),
//                   r = 2a - k ln2 (Cody-Waite, exact high part), e^r = 1 + r + r^2 E(r), E of
//                   degree 4 (relative error 2^-28.1). The 1 + e^(2a) is folded into the last fmadd
//                   as e^r + 2^-k, so it is rounded once, and 2/(1 + e^(2a)) = 2^(1-k)/(e^r + 2^-k)
//                   is one division with an exact numerator.
//   a >= 0x1.205966p3 (saturation, the first float at which the large formula gives exactly 1.0,
//                   which is also where tanh rounds to 1.0f): clamped there, so |y| <= 1 and
//                   tanh(+-inf) = +-1. NaN is never clamped (the comparison is false) and stays NaN.
// Why this split: the error of each regime is the rounding error of its correction term (a^3 P for
// the small one, 2/(1 + e^(2a)) for the large one) scaled by the size of that term relative to the
// result. The first grows with a, the second shrinks, and they are equal (about 0.24, a quarter of an
// ulp's weight) near a = 1, so that is where the two meet. Every single-formula float kernel measured
// in ../shared/PRIOR_ART.md lands at 2.5 ULP or worse for the same reason: its correction term is the
// whole result.
//
// Precision by ISA. With FMA (avx2+fma3, avx512f, neon64) the whole computation is in float, with the
// fmadds fused. Without FMA (sse2), the same formula and the same float coefficients are evaluated in
// double and rounded to float once: the rounding errors the analysis above depends on need single
// roundings, which double supplies without FMA.
//
// Error, ULP = |y - tanh(x)| / 2^(floor(log2|tanh(x)|) - 23) with tanh(x) in float64, over all 2^32
// float inputs (tools/ulp_tanh, run by the test command):
//   avx2+fma3: max 0.9377 ULP (at |x| = 0x1.d3e846p-1)   avx512f: identical bits to avx2+fma3
//   sse2 (double evaluation): max 0.5?? ULP               scalar reference: max 0.5?? ULP
// Monotonic, |y| <= 1, odd bit for bit, on every path. Documented bound: tanh_max_ulp = 1.0.
//
// Coefficients: tools/gen_tanh_coeffs.sh runs tools/tanh_coeffs.sollya (Debian's sollya, fpminimax)
// and writes kernels/simd/tanh_coeffs.hpp; `tools/gen_tanh_coeffs.sh --check` verifies the checked-in
// file. Changing them needs a new exhaustive run and an update of the figures above.
#pragma once

#include "../simd/tanh_core.hpp"

#include <cstddef>
#include <cstring>

namespace attnkern {
namespace kernels {

// y[0..n) = tanh(x[0..n)). Any alignment; y may equal x (each vector is loaded before it is
// stored). Single-threaded: the driver in capi.cpp splits large arrays across threads.
template <class Arch>
void tanh_f32(const float* x, float* y, std::size_t n) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    simd::store_floats(y + i, simd::tanh(simd::load_floats<V>(x + i)));
  }
  if (i < n) {  // the tail goes through a full vector in a local buffer: never read past x + n
    float buffer[W] = {};
    std::memcpy(buffer, x + i, (n - i) * sizeof(float));
    simd::store_floats(buffer, simd::tanh(simd::load_floats<V>(buffer)));
    std::memcpy(y + i, buffer, (n - i) * sizeof(float));
  }
}

}  // namespace kernels
}  // namespace attnkern
