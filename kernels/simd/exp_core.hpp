// e^x on a SIMD batch for x <= 0 (the arguments softmax needs: x - max), with an optional tail t,
// a small correction to the argument (e^(x + t), |t| <= ulp(x)/2), so that the rounding error of
// x = a - b can be carried in (see softmax). The core shared by softmax, log-softmax, the fused
// attention kernels and sdpa. Internal: it has no documented bound of its own in
// attnkern/bounds.hpp; the kernels' derivations use the measured 0.8913 ULP below, and the test
// command's exhaustive check holds every path to 1 ULP (tools/ulp.cpp's default --bound).
// docs/numerics.md, "exp (internal)".
//
// Maths. k = round(x log2 e) in [-126, 0]; r = x - k ln2 in two parts (Cody-Waite: ln2's high part
// has 17 bits, so k ln2_hi is exact for |k| <= 127), |r| <= ln2/2 (+ a margin for the rounding of
// k); e^r = 1 + r (1 + r E(r)), E of degree 4 with single-precision minimax coefficients, relative
// error 2^-28.1 (the same fit as tanh's, tools/tanh_coeffs.sollya); e^x = e^r 2^k, 2^k built in the
// exponent bits.
// Domain and limits. x below ln(FLT_MIN) = -0x1.5d58a0p+6 gives exactly 0 (the result would be
// subnormal), so -inf gives 0; NaN gives NaN; x in (0, 0.35] (a positive tail, or rounding) is
// still accurate; larger positive x is outside the domain.
// Error, ULP as everywhere in attnkern, measured over every float x in [ln FLT_MIN, 0]
// (tools/ulp.cpp --function exp, run by the test command; 53 s on the reference machine's 2 cores,
// AMD EPYC Zen 4): avx2 and avx512 max 0.8913 ULP (at
// x = -0x1.765026p+2), sse2 (the same formula in double) 0.5385. Not monotonic: a sub-ULP error
// steps back by one ULP between neighbouring inputs here and there (2899 times on avx2).
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd_ops.hpp"
#include "tanh_coeffs.hpp"

namespace attnkern {
namespace simd {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)


// ln(FLT_MIN) rounded to float (just below the true value): the smallest argument not flushed to 0.
constexpr float exp_lowest = -0x1.5d58a0p6f;

// e^(x + tail) for x <= 0; 0 for x < exp_lowest (including -inf); NaN for NaN.
template <bool WithTail, class V>
ATTNKERN_INLINE V exp_nonpositive(const V& x, const V& tail) noexcept {
  using T = typename V::value_type;
  // Arguments below exp_lowest (-inf among them: masked scores) give 0 by the select below; they are
  // evaluated as 0 meanwhile, so that no multiply makes a subnormal (x86 takes a microcode assist,
  // a hundred cycles or more, for each: a sixth of a block's scores masked cost sdpa twice its time).
  // NaN passes (NaN < lowest is false). k stays >= -126, where 2^k is a normal number.
  const V xc = xsimd::select(x < V(T(exp_lowest)), V(T(0)), x);
  const V biased = round_biased(xc, V(T(0x1.715476p0)));  // k = round(x log2 e)
  const V k = biased - V(float_bits<T>::round_magic);
  V r = fmadd(k, V(T(-0x1.62e4p-1)), xc);  // exact: k ln2_hi has at most 24 bits
  r = fmadd(k, V(T(-0x1.7f7d1cp-20)), r);
  if (WithTail) r = r + tail;
  const V e_r = fmadd(fmadd(horner(r, tanh_coeffs::exp_poly), r, V(T(1))), r, V(T(1)));
  return xsimd::select(x < V(T(exp_lowest)), V(T(0)), e_r * exp2_biased<+1>(biased));
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace simd
}  // namespace attnkern
