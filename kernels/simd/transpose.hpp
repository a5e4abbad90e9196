// The in-register transpose of a square tile of floats: W batches of W lanes (W = the batch's width),
// row r lane c becoming row c lane r. The decode kernel (kernels/isa/attention/attention_decode.hpp) sums W
// dot products' accumulators lane by lane with it (W - 1 vertical adds after it). Shuffles only (no gathers:
// they are microcoded, and slower still under the Downfall mitigation): AVX-512 16 x 16 in 64
// shuffles, AVX2 8 x 8 in 24, SSE2 4 x 4 in 8, NEON 4 x 4 in 8 (trn1/trn2, then the 64-bit halves paired);
// other architectures go through memory.
#pragma once

#include "simd/isa_namespace.hpp"

#include "half.hpp"
#include "simd_ops.hpp"

namespace attnkern {
namespace simd {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)


template <class V>
ATTNKERN_INLINE void transpose(V (&r)[V::size]) noexcept {
  using A [[maybe_unused]] = typename V::arch_type;
  static_assert(std::is_same<typename V::value_type, float>::value, "a tile of floats");
#if defined(__AVX512F__)
  if constexpr (std::is_same<A, xsimd::avx512f>::value) {
    // 1. pairs of rows interleaved: t[2i], t[2i + 1] hold, in each 128-bit lane l, the columns
    //    4l, 4l + 1 (lo) and 4l + 2, 4l + 3 (hi) of rows 2i and 2i + 1
    __m512 t[16], u[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // 2. u[4i + m]: in lane l, column 4l + m of rows 4i .. 4i + 3
    for (int i = 0; i < 4; ++i) {
      u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    // 3. for each m, the 4 x 4 matrix of lanes [i][l] of u[4i + m] transposed: column 4l + m gets
    //    lane l of u[m], u[4 + m], u[8 + m], u[12 + m]
    for (int m = 0; m < 4; ++m) {
      const __m512 v0 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88);       // i0l0 i0l2 i1l0 i1l2
      const __m512 v1 = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xDD);       // i0l1 i0l3 i1l1 i1l3
      const __m512 v2 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);  // i2l0 i2l2 i3l0 i3l2
      const __m512 v3 = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xDD);  // i2l1 i2l3 i3l1 i3l3
      r[m] = _mm512_shuffle_f32x4(v0, v2, 0x88);
      r[4 + m] = _mm512_shuffle_f32x4(v1, v3, 0x88);
      r[8 + m] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
      r[12 + m] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
    return;
  } else
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
      u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int m = 0; m < 4; ++m) {
      r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
      r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
    }
    return;
  } else
#endif
#if defined(__SSE2__)
  if constexpr (std::is_same<A, xsimd::sse2>::value) {
    __m128 a = r[0], b = r[1], c = r[2], d = r[3];
    _MM_TRANSPOSE4_PS(a, b, c, d);
    r[0] = a, r[1] = b, r[2] = c, r[3] = d;
    return;
  } else
#endif
#if defined(__aarch64__)
  if constexpr (std::is_same<A, xsimd::neon64>::value) {
    // rows 0 1 interleaved by even and odd columns, rows 2 3 likewise: t01.val[0] = r0c0 r1c0 r0c2 r1c2,
    // t01.val[1] = r0c1 r1c1 r0c3 r1c3; then column c = the low (c < 2) or high halves of both pairs
    const float32x4x2_t t01 = vtrnq_f32(r[0], r[1]), t23 = vtrnq_f32(r[2], r[3]);
    r[0] = vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0]));
    r[1] = vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1]));
    r[2] = vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0]));
    r[3] = vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1]));
    return;
  } else
#endif
  {
    constexpr std::size_t W = V::size;
    alignas(64) float m[W * W];
    for (std::size_t i = 0; i < W; ++i) r[i].store_aligned(m + i * W);
    alignas(64) float t[W * W];
    for (std::size_t i = 0; i < W; ++i)
      for (std::size_t j = 0; j < W; ++j) t[j * W + i] = m[i * W + j];
    for (std::size_t i = 0; i < W; ++i) r[i] = V::load_aligned(t + i * W);
  }
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace simd
}  // namespace attnkern
