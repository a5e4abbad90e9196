// tanh on a SIMD batch: the core shared by the tanh kernel and (later) the fused attention kernels.
// The maths, the error analysis and the measured bound are in kernels/isa/tanh/tanh_kernel.hpp.
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd_ops.hpp"
#include "tanh_coeffs.hpp"

namespace attnkern {
namespace simd {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)


// The smallest float at which the large-regime formula gives exactly 1.0, which is also the first
// at which tanh rounds to 1.0f (tools/ulp.cpp --function tanh reports both). Larger inputs are clamped to it:
// e^(2a) stays finite and the result is exactly +-1 from there on.
constexpr float tanh_saturation = 0x1.205968p3f;

// tanh(a) for a >= 0 or NaN (NaN stays NaN). V is a batch of float or double.
template <class V>
ATTNKERN_INLINE V tanh_nonnegative(V a) noexcept {
  using T = typename V::value_type;
  namespace c = tanh_coeffs;
  // min(sat, a): x86's min returns its second operand when either is NaN, NEON's returns NaN, so
  // NaN passes through on every path (the exhaustive tool checks it on each).
  a = xsimd::min(V(T(tanh_saturation)), a);

  // Small regime, a < cut: a + a^3 P(a^2), the last step one fmadd onto a.
  const V s = a * a;
  const V y_small = fmadd(a * s, horner(s, c::small), a);

  // Large regime: 1 - 2/(1 + e^(2a)). With 2a = k ln2 + r, |r| <= ln2/2 and e^r ~= 1 + r q(r):
  //   (1 + e^(2a)) 2^-k = e^r + 2^-k = fmadd(q, r, 1 + 2^-k), one rounding for the sum, and
  //   2/(1 + e^(2a)) = 2^(1-k) / that, a division by a value in [0.7, 1.6] with an exact numerator.
  const V two_a = a + a;
  const V biased = round_biased(two_a, V(T(0x1.715476p0)));  // k = round(2a log2 e)
  const V k = biased - V(float_bits<T>::round_magic);
  // One fmadd with ln2 rounded to float: its error (2^-28.4 relative) times k is 2^-27.4 in r at
  // k = 3, where the large regime starts, and matters only there: t = 2/(1 + e^(2a)) shrinks like
  // 2^-k, and with it the weight of any error in e^(2a).
  const V r = fmadd(k, V(T(-0x1.62e430p-1)), two_a);
  const V q = fmadd(horner(r, c::exp_poly), r, V(T(1)));
  const V m = exp2_biased<-1>(biased);  // 2^-k
  const V scaled_denominator = fmadd(q, r, V(T(1)) + m);
  const V y_large = V(T(1)) - simd::div(m + m, scaled_denominator);

  return xsimd::select(a < V(T(c::cut)), y_small, y_large);
}

// tanh(x) for any x: computed on |x| with the sign put back by a xor, so the result is odd
// bit for bit and -0 stays -0.
template <class V>
ATTNKERN_INLINE V tanh(const V& x) noexcept {
  using T = typename V::value_type;
  const V sign_mask(T(-0.0));
  const V sign = x & sign_mask;
  return tanh_nonnegative(xsimd::abs(x)) ^ sign;
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace simd
}  // namespace attnkern
