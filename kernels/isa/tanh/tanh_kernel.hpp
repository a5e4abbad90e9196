// Contract (tanh_f32)
//   types:    float32 -> float32, y may equal x (in place), any alignment
//   error:    at most bounds::tanh_max_ulp (1 ULP) against tanh in float64 (ULP as defined in bounds.hpp), every
//             path; at most bounds::tanh_max_floats_from_reference (1) float from the float scalar reference.
//             Measured over all 2^32 inputs (neon: 1 input in 61, under qemu-aarch64)
//   range:    every float, any n
//   special:  tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN -> NaN, denormals unchanged; odd bit for bit, monotonic,
//             |y| <= 1, y = +-1 exactly from |x| = 0x1.205968p+3
//
// tanh, elementwise, float32: y[i] = tanh(x[i]).
//
// Maths (kernels/simd/tanh_core.hpp). On a = |x|, with the sign put back by a xor at the end (odd
// bit for bit, -0 kept), branch-free: both regimes are computed for every lane and one is selected.
//   a < 1 (small):  tanh(a) = a + a^3 P(a^2), P of degree 6 with single-precision minimax
//                   coefficients (relative approximation error 2^-27.6 for the whole expression),
//                   the last step one fmadd onto a. The leading a is exact, so tiny inputs and
//                   denormals come back unchanged.
//   a >= 1 (large): tanh(a) = 1 - 2/(1 + e^(2a)). e^(2a) = 2^k e^r with k = round(2a log2 e),
//                   r = 2a - k ln2 (one fmadd; ln2's float rounding error times k stays below
//                   2^-26 in r where it matters), e^r = 1 + r + r^2 E(r), E of degree 4 (relative
//                   error 2^-28.1). The 1 + e^(2a) is folded into the last fmadd as e^r + 2^-k, so
//                   it is rounded once, and 2/(1 + e^(2a)) = 2^(1-k)/(e^r + 2^-k) is one division
//                   with an exact numerator.
//   a >= 0x1.205968p+3: clamped there (min(sat, a), which lets NaN through). It is the first float
//                   at which the large formula gives exactly 1.0, and also the first at which tanh
//                   rounds to 1.0f, so |y| <= 1, tanh(+-inf) = +-1 and the clamp changes no result.
// Why this split: each regime's error is the rounding error of its correction term (a^3 P for the
// small one, 2/(1 + e^(2a)) for the large one) weighted by the size of that term relative to the
// result. The first weight grows with a, the second shrinks, and they are equal (about 0.24) at
// a = 1, so that is where the regimes meet. A single formula (a rational, or expm1/(expm1 + 2))
// has the whole result as its "correction term": every one measured while this kernel was written
// landed at 2.5 ULP or worse in float (Eigen 3.4's 13/6 rational: 4.65 ULP, docs/performance.md).
//
// Precision by ISA. With FMA (avx2+fma3, avx512f, neon64) the computation is in float with every
// fmadd fused. SSE2 has no FMA, and the float formula with unfused multiply-adds exceeds 1 ULP
// (1.09 in a trial), so there the same formula with the same float coefficients is evaluated in
// double and rounded to float once.
//
// Error, ULP = |y - tanh(x)| / 2^(floor(log2|tanh(x)|) - 23), tanh(x) in float64, spacing at least
// 2^-149, measured over all 2^32 float inputs (tools/ulp.cpp --function tanh, run by the test
// command; about 75 s on the reference machine's 2 cores, AMD EPYC Zen 4):
//   avx2+fma3 and avx512f (identical bits): max 0.9377 ULP at |x| = 0x1.d3e846p-1;
//                                           20 of 2^32 inputs above 0.9, 4.3 million above 0.5
//   sse2 (double evaluation):               max 0.5775 ULP
//   scalar reference (double, rounded):     max 0.5000 ULP
//   neon64, on 1 input in 61 under qemu-aarch64 (tools/test_aarch64.sh; not exhaustive): max 0.9231 ULP.
//   Its division must be AArch64's correctly rounded fdiv (simd::div): xsimd 8.1's neon64 float
//   division is a reciprocal estimate with two Newton steps, which took this kernel to 1.009 ULP.
// Monotonic, |y| <= 1, odd bit for bit, NaN -> NaN on every path. The documented bound is
// `tanh_max_ulp` in attnkern/bounds.hpp (and `tanh_max_floats_from_reference` against the float
// scalar reference); docs/numerics.md lists it with the measured figures.
//
// Cost (bench/bench_tanh.cpp; docs/performance.md, "tanh"): about 35 vector operations per batch,
// of which about 20 multiply/FMA/compare/blend operations and the division compete for the two FMA
// pipes of AMD Zen, against about 14 plus the division for Eigen 3.4's 13/6 rational (4.65 ULP):
// 0.60x Eigen's throughput with AVX2, 0.79x with AVX-512, measured on one core of the reference
// machine (AMD EPYC, Zen 4, g++ 12.2.0) on 2026-11-21.
//
// Coefficients: tools/gen_tanh_coeffs.sh runs tools/tanh_coeffs.sollya (Debian's sollya, fpminimax)
// and writes kernels/simd/tanh_coeffs.hpp; `tools/gen_tanh_coeffs.sh --check` (a test) verifies the
// checked-in file. Changing them needs a new exhaustive run and new figures here and in
// docs/numerics.md.
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd/tanh_core.hpp"

#include <cstddef>

namespace attnkern {
namespace kernels {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)


// y[0..n) = tanh(x[0..n)). Any alignment; y may equal x (each vector is loaded before it is
// stored). Single-threaded: kernels/drivers/tanh_driver.cpp splits large arrays
// across threads.
template <class Arch>
void tanh_f32(const float* x, float* y, std::size_t n) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  constexpr std::size_t W = V::size;
  std::size_t i = 0;
  // Two independent vectors per iteration: one tanh is a dependency chain of about 60 cycles, and
  // two chains interleaved by GCC's pre-register-allocation scheduler (CMakeLists.txt) keep the FMA
  // pipes busier: +3% to +10% on Zen 4.
  for (; i + 2 * W <= n; i += 2 * W) {
    const V x0 = simd::load_floats<V>(x + i), x1 = simd::load_floats<V>(x + i + W);
    const V y0 = simd::tanh(x0), y1 = simd::tanh(x1);
    simd::store_floats(y + i, y0);
    simd::store_floats(y + i + W, y1);
  }
  for (; i + W <= n; i += W) {
    simd::store_floats(y + i, simd::tanh(simd::load_floats<V>(x + i)));
  }
  if (i < n) {  // masked where the ISA can: never reads or writes past n
    simd::store_floats_partial(y + i, n - i, simd::tanh(simd::load_floats_partial<V>(x + i, n - i, 0.0f)));
  }
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
