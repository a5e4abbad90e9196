// Element types of attnkern_attention's tensors (attnkern_dtype), and their exact scalar conversions:
// f16 (IEEE binary16) and bf16 widen to float exactly; the outputs narrow by round-to-nearest-even,
// from double through a float rounded to odd, so that the two roundings are one (a float has more
// than twice a half's 11 bits plus 2). The SIMD widenings are in kernels/simd/half.hpp.
#pragma once

#include "simd/isa_namespace.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace attnkern {
namespace kernels {

enum class dtype : std::uint8_t { f32, f16, bf16 };

// Tags for the element types of half-precision tensors (their bits).
struct f16_t {
  std::uint16_t bits;
};
struct bf16_t {
  std::uint16_t bits;
};

inline namespace ATTNKERN_ISA_NAMESPACE {

inline std::size_t dtype_size(dtype t) noexcept { return t == dtype::f32 ? 4 : 2; }

inline std::uint32_t float_bits(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(std::uint32_t u) noexcept {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float to_float(float x) noexcept { return x; }
inline float to_float(bf16_t x) noexcept { return bits_float(static_cast<std::uint32_t>(x.bits) << 16); }
inline float to_float(f16_t x) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(x.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (x.bits >> 10) & 0x1fu, mantissa = x.bits & 0x3ffu;
  if (exponent == 0x1fu) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN (quiet bit kept)
  if (exponent != 0) return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  // zero or subnormal: mantissa 2^-24, exact in float
  const float m = static_cast<float>(mantissa) * 0x1p-24f;
  return sign ? -m : m;
}

// The element at index i of a tensor of type t, as a float (exact).
inline float element(const void* p, dtype t, std::size_t i) noexcept {
  switch (t) {
    case dtype::f16:
      return to_float(static_cast<const f16_t*>(p)[i]);
    case dtype::bf16:
      return to_float(static_cast<const bf16_t*>(p)[i]);
    default:
      return static_cast<const float*>(p)[i];
  }
}

// out[0, n) = the elements [at, at + n) of a tensor of type t, as floats (exact).
inline void widen_elements(const void* p, dtype t, std::size_t at, std::size_t n, float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = element(p, t, at + i);
}

// x rounded to a float by rounding to odd: truncated toward zero, its last bit set if inexact.
inline float round_to_odd(double x) noexcept {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) == x || f != f) return f;
  std::uint32_t u = float_bits(f);
  if (f == 0) return bits_float((x < 0 ? 0x80000000u : 0u) | 1u);  // below the smallest subnormal
  if (std::fabs(static_cast<double>(f)) > std::fabs(x)) --u;      // rounded away from zero: step back
  return bits_float(u | 1u);
}

// Round to nearest even, from a float: NaN stays NaN (quiet), overflow gives inf.
inline std::uint16_t float_to_f16_bits(float f) noexcept {
  const std::uint32_t u = float_bits(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x1ffu));  // NaN
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: inf (and inf)
  if (a < 0x38800000u) {  // below 2^-14: a subnormal half (or 0), in units of 2^-24, rounded to even
    const float m = bits_float(a) * 0x1p24f;  // exact: a float's 24 bits scaled
    const float r = m + 0x1p23f - 0x1p23f;    // rounds to an integer (even on ties): m < 2^10
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(r));
  }
  // normal: drop 13 bits, rounding to even (a carry into the exponent is right)
  const std::uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}
inline std::uint16_t float_to_bf16_bits(float f) noexcept {
  const std::uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);  // NaN, quiet
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// Stores x (a result computed in double) at index i of an output of type t, rounded once.
inline void store_element(void* p, dtype t, std::size_t i, double x) noexcept {
  switch (t) {
    case dtype::f16:
      static_cast<f16_t*>(p)[i].bits = float_to_f16_bits(round_to_odd(x));
      break;
    case dtype::bf16:
      static_cast<bf16_t*>(p)[i].bits = float_to_bf16_bits(round_to_odd(x));
      break;
    default:
      static_cast<float*>(p)[i] = static_cast<float>(x);
  }
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
