// SIMD building blocks shared by the kernels, all templated on the xsimd batch (and so on the
// architecture): a fused multiply-add that is really fused where the ISA has one, Horner evaluation
// of a coefficient table, and the bit tricks that round to an integer and build 2^k.
//
// These headers are compiled once per ISA, each translation unit with its own flags, so everything
// here lives in that ISA's inline namespace (kernels/simd/isa_namespace.hpp: otherwise the linker
// could pick the AVX2 copy of a helper for the SSE2 path, xsimd issue #633).
#pragma once

#include "simd/isa_namespace.hpp"

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

// The building blocks are small and called in hot loops: always inlined, or GCC calls the larger
// ones out of line and spills every vector to the stack. Not forced with clang (the test command's
// ThreadSanitizer and fuzzing builds): it inlines them unasked, and forced it took over 20 minutes,
// with the sanitizers, for the AVX-512 file's many instances of the attention kernels.
#if defined(__GNUC__) && !defined(__clang__)
#define ATTNKERN_INLINE inline __attribute__((always_inline))
#else
#define ATTNKERN_INLINE inline
#endif

namespace attnkern {
namespace simd {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)

// Rows of a block to prefetch into L2 (locality 2), one call per row as the same row of the block
// before them is read: rows j < n at p + j * ld_bytes, row_bytes each. p null: none.
struct row_prefetch {
  const char* p = nullptr;
  std::size_t ld_bytes = 0, row_bytes = 0, n = 0;
  void row(std::size_t j) const noexcept {
    if (j < n)
      for (std::size_t c = 0; c < row_bytes; c += 64) __builtin_prefetch(p + j * ld_bytes + c, 0, 2);
  }
  // The rows from row j0 on (this block's slot j0 reads the next block's row j0 as its own 0th).
  row_prefetch from(std::size_t j0) const noexcept {
    return p && j0 < n ? row_prefetch{p + j0 * ld_bytes, ld_bytes, row_bytes, n - j0} : row_prefetch{};
  }
};

// Whether Arch has a fused multiply-add. Kernels whose error analysis needs single roundings evaluate
// in float where it does, and in double where it does not (SSE2).
template <class Arch>
struct has_fma : std::false_type {};
template <>
struct has_fma<xsimd::fma3<xsimd::avx2>> : std::true_type {};
template <>
struct has_fma<xsimd::avx512f> : std::true_type {};
template <>
struct has_fma<xsimd::neon64> : std::true_type {};

// The floating type a kernel computes in on Arch: float with FMA, double without.
template <class Arch>
using compute_t = typename std::conditional<has_fma<Arch>::value, float, double>::type;

// x * y + z, with one rounding where Arch has FMA (xsimd 8.1 has no avx512f fma, so it is
// spelled out), and two roundings in double where it does not.
template <class T, class A>
ATTNKERN_INLINE xsimd::batch<T, A> fmadd(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y,
                         const xsimd::batch<T, A>& z) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_same<A, xsimd::avx512f>::value) {
    if constexpr (std::is_same<T, float>::value) {
      return _mm512_fmadd_ps(x, y, z);
    } else {
      return _mm512_fmadd_pd(x, y, z);
    }
  } else
#endif
  {
    return xsimd::fma(x, y, z);
  }
}

// x / y, correctly rounded. xsimd 8.1's float division on neon64 is armv7 NEON's: a reciprocal
// estimate, two Newton steps and a product, off by more than an ULP now and then (it took tanh to
// 1.009 ULP) and wrong for zero, infinite and subnormal divisors; AArch64 has the IEEE fdiv.
template <class T, class A>
ATTNKERN_INLINE xsimd::batch<T, A> div(const xsimd::batch<T, A>& x, const xsimd::batch<T, A>& y) noexcept {
#if defined(__aarch64__)
  if constexpr (std::is_same<A, xsimd::neon64>::value && std::is_same<T, float>::value) {
    return vdivq_f32(x, y);
  } else
#endif
  {
    return x / y;
  }
}

// Loads V::size floats from p (any alignment) into a batch of the compute type V: a plain load for
// float, a conversion for double (exact), with SSE2's cvtps2pd rather than xsimd's scalar loop.
template <class V>
ATTNKERN_INLINE V load_floats(const float* p) noexcept {
  using T [[maybe_unused]] = typename V::value_type;
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::avx512f>::value) {
    return _mm512_cvtps_pd(_mm256_loadu_ps(p));
  } else
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    return _mm256_cvtps_pd(_mm_loadu_ps(p));
  } else
#endif
#if defined(__SSE2__)
  if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::sse2>::value) {
    // (through __m64, which may alias anything: a double* load of float data breaks strict aliasing,
    // and GCC did reorder it past scalar float stores to the same place)
    return _mm_cvtps_pd(_mm_loadl_pi(_mm_setzero_ps(), reinterpret_cast<const __m64*>(p)));
  } else
#endif
  {
    return V::load_unaligned(p);
  }
}

// Stores a batch of the compute type as V::size floats at p, rounding double to float once.
template <class V>
ATTNKERN_INLINE void store_floats(float* p, const V& v) noexcept {
  using T [[maybe_unused]] = typename V::value_type;
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__SSE2__)
  if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::sse2>::value) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), _mm_cvtpd_ps(v));  // (__m64: may alias floats)
  } else
#endif
  {
    v.store_unaligned(p);
  }
}

// The first `count` (< V::size) floats at p, the other lanes set to `fill`; never reads past
// p + count. Masked loads where the ISA has them: a vector load from a buffer just written by scalar
// stores stalls on store-to-load forwarding, which costs short rows more than their arithmetic.
template <class V>
ATTNKERN_INLINE V load_floats_partial(const float* p, std::size_t count, float fill) noexcept {
  using T [[maybe_unused]] = typename V::value_type;
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<T, float>::value && std::is_same<A, xsimd::avx512f>::value) {
    const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1u);
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask, p);
  } else
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same<T, float>::value && std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lane);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask));
  } else if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(static_cast<int>(count)), _mm_setr_epi32(0, 1, 2, 3));
    return _mm256_cvtps_pd(_mm_blendv_ps(_mm_set1_ps(fill), _mm_maskload_ps(p, mask), _mm_castsi128_ps(mask)));
  } else
#endif
#if defined(__AVX512F__)
  if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::avx512f>::value) {
    const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1u);
    return _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask, p)));
  } else
#endif
  {
    float buffer[V::size];
    for (std::size_t j = 0; j < V::size; ++j) buffer[j] = j < count ? p[j] : fill;
    return load_floats<V>(buffer);
  }
}

// V::size floats at p as load_floats, or, when n < V::size, the first n of them, the other lanes `fill`
// (load_floats_partial): never reads past p + n.
template <class V>
ATTNKERN_INLINE V load_floats_some(const float* p, std::size_t n, float fill) noexcept {
  return n < V::size ? load_floats_partial<V>(p, n, fill) : load_floats<V>(p);
}

// Stores the first `count` (< V::size) lanes of v at p as floats; never writes past p + count.
template <class V>
ATTNKERN_INLINE void store_floats_partial(float* p, std::size_t count, const V& v) noexcept {
  using T [[maybe_unused]] = typename V::value_type;
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<T, float>::value && std::is_same<A, xsimd::avx512f>::value) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1u), v);
  } else
#endif
  {
    float buffer[V::size];
    store_floats(buffer, v);
    for (std::size_t j = 0; j < count; ++j) p[j] = buffer[j];
  }
}

// The float batch v as two double batches of the same architecture: lanes [0, W/2) and [W/2, W).
template <class Vd, class Vf>
ATTNKERN_INLINE void split_to_doubles(const Vf& v, Vd& low, Vd& high) noexcept {
  static_assert(2 * Vd::size == Vf::size, "a double batch holds half the lanes of a float batch");
  using A [[maybe_unused]] = typename Vf::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<A, xsimd::avx512f>::value) {
    const __m512 f = v;
    low = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
    high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
    return;
  } else
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    const __m256 f = v;
    low = _mm256_cvtps_pd(_mm256_castps256_ps128(f));
    high = _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1));
    return;
  } else
#endif
#if defined(__SSE2__)
  if constexpr (std::is_same<A, xsimd::sse2>::value) {
    const __m128 f = v;
    low = _mm_cvtps_pd(f);
    high = _mm_cvtps_pd(_mm_movehl_ps(f, f));
    return;
  } else
#endif
  {
    alignas(64) float lanes[Vf::size];
    v.store_aligned(lanes);
    low = load_floats<Vd>(lanes);
    high = load_floats<Vd>(lanes + Vd::size);
  }
}

// The sum of v's lanes (float or double) in double, and their max, each by a pairwise tree (log2 W dependent steps
// rather than W: short rows wait on these). xsimd 8.1's hadd needs AVX512DQ on avx512f.
template <class V>
ATTNKERN_INLINE double sum_lanes(const V& v) noexcept {
  using T [[maybe_unused]] = typename V::value_type;
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::avx512f>::value) {
    return _mm512_reduce_add_pd(v);
  } else if constexpr (std::is_same<T, float>::value && std::is_same<A, xsimd::avx512f>::value) {
    const __m512 f = v;
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  } else
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same<T, double>::value && std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    const __m256d d = v;
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(d), _mm256_extractf128_pd(d, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  } else if constexpr (std::is_same<T, float>::value && std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    const __m256 f = v;
    const __m256d s4 = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(f)), _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
    const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  } else
#endif
  {
    T lanes[V::size];
    v.store_unaligned(lanes);
    double partial[V::size];
    for (std::size_t j = 0; j < V::size; ++j) partial[j] = static_cast<double>(lanes[j]);
    for (std::size_t width = V::size / 2; width > 0; width /= 2)
      for (std::size_t j = 0; j < width; ++j) partial[j] += partial[j + width];
    return partial[0];
  }
}

template <class V>
ATTNKERN_INLINE typename V::value_type max_lanes(const V& v) noexcept {
  using T = typename V::value_type;
  using A [[maybe_unused]] = typename V::arch_type;
#if defined(__AVX512F__)
  if constexpr (std::is_same<T, float>::value && std::is_same<A, xsimd::avx512f>::value) {
    return _mm512_reduce_max_ps(v);
  } else
#endif
#if defined(__AVX2__)
  if constexpr (std::is_same<T, float>::value && std::is_same<A, xsimd::fma3<xsimd::avx2>>::value) {
    const __m256 f = v;
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(f), _mm256_extractf128_ps(f, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
  } else
#endif
  {
    T lanes[V::size];
    v.store_unaligned(lanes);
    for (std::size_t width = V::size / 2; width > 0; width /= 2)
      for (std::size_t j = 0; j < width; ++j) lanes[j] = lanes[j + width] > lanes[j] ? lanes[j + width] : lanes[j];
    return lanes[0];
  }
}

// c[0] + x * (c[1] + x * (... + x * c[N-1])): Horner's rule, one fmadd per coefficient.
template <class V, class C, int N>
ATTNKERN_INLINE V horner(const V& x, const C (&c)[N]) noexcept {
  using T = typename V::value_type;
  V acc(static_cast<T>(c[N - 1]));
  for (int i = N - 2; i >= 0; --i) {
    acc = fmadd(acc, x, V(static_cast<T>(c[i])));
  }
  return acc;
}

// IEEE layout of the compute types.
template <class T>
struct float_bits;
template <>
struct float_bits<float> {
  using int_type = int32_t;
  static constexpr int mantissa = 23;
  static constexpr int32_t bias = 127;
  static constexpr float round_magic = 0x1.8p23f;  // adding it rounds |x| < 2^22 to an integer
  static constexpr int32_t round_magic_bits = 0x4B400000;
};
template <>
struct float_bits<double> {
  using int_type = int64_t;
  static constexpr int mantissa = 52;
  static constexpr int64_t bias = 1023;
  static constexpr double round_magic = 0x1.8p52;
  static constexpr int64_t round_magic_bits = 0x4338000000000000;
};

// Rounds x * scale to the nearest integer k (ties to even), returned as a value `biased` that
// carries k in its low mantissa bits: k = biased - round_magic. Valid for |x * scale| < 2^22.
template <class V>
ATTNKERN_INLINE V round_biased(const V& x, const V& scale) noexcept {
  using T = typename V::value_type;
  return fmadd(x, scale, V(float_bits<T>::round_magic));
}

// 2^k (Sign = +1) or 2^-k (Sign = -1) for the k carried by round_biased's result, built in the
// exponent bits; the exponent must stay in the normal range (garbage in, garbage out for NaN lanes,
// which the callers' arithmetic keeps NaN).
template <int Sign, class V>
ATTNKERN_INLINE V exp2_biased(const V& biased) noexcept {
  using T = typename V::value_type;
  using B = float_bits<T>;
  using I = xsimd::batch<typename B::int_type, typename V::arch_type>;
  const I k_plus_magic = xsimd::bitwise_cast<I>(biased);
  const I exponent = Sign > 0 ? k_plus_magic + I(B::bias - B::round_magic_bits)   // bias + k
                              : I(B::round_magic_bits + B::bias) - k_plus_magic;  // bias - k
  return xsimd::bitwise_cast<V>(exponent << B::mantissa);
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace simd
}  // namespace attnkern
