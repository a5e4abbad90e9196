// Loads of float, f16 and bf16 elements into a batch of floats (exact widenings): AVX-512's and
// F16C's vcvtph2ps and AArch64's fcvtl for f16, a zero extension and a shift by 16 for bf16;
// elsewhere (SSE2 without F16C) the scalar conversions of kernels/simd/dtype.hpp, lane by lane.
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd/dtype.hpp"
#include "simd_ops.hpp"

namespace attnkern {
namespace simd {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)


// V::size elements at p, as floats.
template <class V>
ATTNKERN_INLINE V load_elems(const float* p) noexcept {
  return V::load_unaligned(p);
}

template <class V>
ATTNKERN_INLINE V load_elems(const kernels::f16_t* p) noexcept {
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<A, xsimd::avx512f>::value) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  } else
#endif
#if defined(__AVX2__) && defined(__F16C__)
  if constexpr (std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else
#endif
#if defined(__aarch64__)
  if constexpr (std::is_same<A, xsimd::neon64>::value) {
    // fcvtl: every f16 exactly, subnormals, infinities and NaNs (quieted, payload kept) included
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const std::uint16_t*>(p))));
  } else
#endif
  {
    alignas(64) float lanes[V::size];
    for (std::size_t i = 0; i < V::size; ++i) lanes[i] = kernels::to_float(p[i]);
    return V::load_aligned(lanes);
  }
}

template <class V>
ATTNKERN_INLINE V load_elems(const kernels::bf16_t* p) noexcept {
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<A, xsimd::avx512f>::value) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else
#endif
#if defined(__SSE2__)
  if constexpr (std::is_same<A, xsimd::sse2>::value) {
    const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
  } else
#endif
#if defined(__aarch64__)
  if constexpr (std::is_same<A, xsimd::neon64>::value) {
    // ushll #16: each 16 bits widened to 32 and moved to the top
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const std::uint16_t*>(p)), 16));
  } else
#endif
  {
    alignas(64) float lanes[V::size];
    for (std::size_t i = 0; i < V::size; ++i) lanes[i] = kernels::to_float(p[i]);
    return V::load_aligned(lanes);
  }
}

// The first n (<= V::size) elements at p, the other lanes 0; never reads past p + n.
template <class V, class T>
ATTNKERN_INLINE V load_elems_some(const T* p, std::size_t n) noexcept {
  if constexpr (std::is_same<T, float>::value) {
    return load_floats_some<V>(p, n, 0.0f);
  } else {
    if (n == V::size) return load_elems<V>(p);
    T lanes[V::size] = {};
    for (std::size_t i = 0; i < n; ++i) lanes[i] = p[i];
    return load_elems<V>(lanes);
  }
}

// dst[0, n) = src[0, n) as floats.
template <class V, class T>
ATTNKERN_INLINE void widen_row(const T* src, float* dst, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + V::size <= n; i += V::size) load_elems<V>(src + i).store_unaligned(dst + i);
  for (; i < n; ++i) dst[i] = kernels::to_float(src[i]);
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace simd
}  // namespace attnkern
