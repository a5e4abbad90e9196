// The pieces both shapes of the attention kernel share (kernels/isa/attention/attention_kernel.hpp, the query rows
// across the lanes, and kernels/isa/attention/attention_decode.hpp, head_dim across the lanes): the tile shapes,
// and the P.V micro-kernels, whose chains of fmadds are what makes a row's bits the same whichever
// shape computed it. P is read at p[j * pj + r * pr] (key j, row r), so that each shape keeps its own
// layout.
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd/half.hpp"
#include "simd/simd_ops.hpp"
#include "isa/attention/attention_chunk.hpp"

#include <cstddef>
#include <cstring>

namespace attnkern {
namespace kernels {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)

namespace sdpa_detail {

// The micro-kernels' shapes on Arch.
template <class Arch>
struct tiles {
  using V = xsimd::batch<float, Arch>;
  static constexpr std::size_t width = V::size;
  static constexpr std::size_t rows = 2 * width;                 // the query block: two vectors
  static constexpr std::size_t score_keys = width >= 16 ? 4 : 3;  // keys per score tile (x 2 vectors)
  static constexpr std::size_t value_rows = 4;                    // query rows per P.V tile
  static constexpr std::size_t value_vectors = width >= 16 ? 4 : 3;  // value_dim vectors per P.V tile
  // The decode shape (head_dim across the lanes) takes units of at most this many rows.
  static constexpr std::size_t decode_rows = width >= 16 ? 8 : width;
  static constexpr std::size_t decode_value_vectors = width >= 16 ? 8 : 6;  // value_dim vectors per 1-row P.V tile
  static constexpr std::size_t decode_pair_vectors = width >= 16 ? 6 : 4;   // ... per 2-row tile
  static_assert(rows <= sdpa_max_query_rows && rows % value_rows == 0, "query block shape");
  static_assert(decode_rows <= sdpa_max_decode_rows, "decode block shape");
};

// The slots [f, e) of block jb (its columns [j0, nk) read) that a row seeing slots [first, end) sees,
// as columns of the block; f >= e when it sees none there.
struct block_keys_t {
  std::size_t f, e;
};
template <class Arch>
ATTNKERN_INLINE block_keys_t block_keys(std::size_t first, std::size_t end, std::size_t jb, std::size_t j0,
                                        std::size_t nk) noexcept {
  if (first >= end) return {nk, nk};
  const std::size_t f = first <= jb + j0 ? j0 : first - jb < nk ? first - jb : nk;
  return {f, end <= jb + f ? f : end - jb < nk ? end - jb : nk};
}

// The keys of a block that the rows of a P.V tile see, from each row's [f[i], e[i]) (f >= e: none):
// [t0, t1), those some row sees, and [c0, c1), those every row sees (c0 >= c1 when a row sees none).
// Where they differ (mixed), a row's p is 0 at keys of the tile it does not see, which adds nothing
// while V is finite; an inf or a NaN there would reach the row, so then each row sums its own keys.
struct tile_keys_t {
  std::size_t t0, t1, c0, c1;
  bool mixed() const { return c0 >= c1 || t0 < c0 || c1 < t1; }
};
template <class Arch>
ATTNKERN_INLINE tile_keys_t tile_keys(const std::size_t* f, const std::size_t* e, std::size_t n, std::size_t j0,
                                      std::size_t nk) noexcept {
  tile_keys_t k{nk, j0, j0, nk};
  for (std::size_t i = 0; i < n; ++i) {
    if (f[i] >= e[i]) {
      k.c1 = 0;
      continue;
    }
    k.t0 = f[i] < k.t0 ? f[i] : k.t0;
    k.t1 = e[i] > k.t1 ? e[i] : k.t1;
    k.c0 = f[i] > k.c0 ? f[i] : k.c0;
    k.c1 = e[i] < k.c1 ? e[i] : k.c1;
  }
  return k;
}

// Rows [j0, j1) of a tensor of type t (rows ld elements apart, n elements each) into dst, as floats
// n apart.
template <class V>
ATTNKERN_INLINE void widen_rows(const void* src, dtype t, std::size_t j0, std::size_t j1, std::size_t ld, std::size_t n,
                                float* dst) noexcept {
  for (std::size_t j = j0; j < j1; ++j, dst += n) {
    switch (t) {
      case dtype::f16:
        simd::widen_row<V>(static_cast<const f16_t*>(src) + j * ld, dst, n);
        break;
      case dtype::bf16:
        simd::widen_row<V>(static_cast<const bf16_t*>(src) + j * ld, dst, n);
        break;
      default:
        std::memcpy(dst, static_cast<const float*>(src) + j * ld, n * sizeof(float));
    }
  }
}

// acc[rr * stride + e] += sum_{j < keys} p[j * pj + rr * pr] v[j, e] for rr < valid_rows (of a tile
// of RR rows) and the E vectors of value_dim at v (V rows ldv apart; the last vector `last` floats
// wide if Partial). The products are summed from zero in registers, then added to acc (padded: whole
// vectors). Every element's sum is one chain of fmadds over the keys in order, whatever RR and E.
// (ahead: rows to prefetch, key j's as key j is read; the decode shape's next block.)
template <class Arch, std::size_t E, bool Partial, std::size_t RR, class T>
ATTNKERN_INLINE void value_tile(const float* p, std::size_t pj, std::size_t pr, const T* v, std::size_t ldv,
                                std::size_t keys, std::size_t last, float* acc, std::size_t stride,
                                std::size_t valid_rows, const simd::row_prefetch& ahead) noexcept {
  using V = typename tiles<Arch>::V;
  constexpr std::size_t W = tiles<Arch>::width;
  V o[RR][E];
#pragma GCC unroll 16
  for (std::size_t rr = 0; rr < RR; ++rr)
#pragma GCC unroll 16
    for (std::size_t e = 0; e < E; ++e) o[rr][e] = V(0.0f);
  for (std::size_t j = 0; j < keys; ++j) {
    if (ahead.p) ahead.row(j);
    V vv[E];
#pragma GCC unroll 16
    for (std::size_t e = 0; e < E; ++e)
      vv[e] = (Partial && e == E - 1) ? simd::load_elems_some<V>(v + j * ldv + e * W, last)
                                      : simd::load_elems<V>(v + j * ldv + e * W);
#pragma GCC unroll 16
    for (std::size_t rr = 0; rr < RR; ++rr) {
      const V pj_(p[j * pj + rr * pr]);
#pragma GCC unroll 16
      for (std::size_t e = 0; e < E; ++e) o[rr][e] = simd::fmadd(pj_, vv[e], o[rr][e]);
    }
  }
  for (std::size_t rr = 0; rr < RR && rr < valid_rows; ++rr)
#pragma GCC unroll 16
    for (std::size_t e = 0; e < E; ++e) {
      float* a = acc + rr * stride + e * W;
      (V::load_unaligned(a) + o[rr][e]).store_unaligned(a);
    }
}

// value_tile for `count` (1 .. EMax) vectors.
template <class Arch, bool Partial, std::size_t RR, std::size_t E, class T>
ATTNKERN_INLINE void value_tiles(std::size_t count, const float* p, std::size_t pj, std::size_t pr, const T* v,
                                 std::size_t ldv, std::size_t keys, std::size_t last, float* acc, std::size_t stride,
                                 std::size_t valid_rows, const simd::row_prefetch& ahead) noexcept {
  if constexpr (E > 0) {
    if (count == E) {
      value_tile<Arch, E, Partial, RR>(p, pj, pr, v, ldv, keys, last, acc, stride, valid_rows, ahead);
    } else {
      value_tiles<Arch, Partial, RR, E - 1>(count, p, pj, pr, v, ldv, keys, last, acc, stride, valid_rows, ahead);
    }
  }
}

// acc[rr * stride + e] += the sums over keys [0, keys) for the tile's rows, over all of value_dim, in
// tiles of EMax vectors; `ahead`'s rows prefetched as the first tile reads the keys.
template <class Arch, std::size_t RR, std::size_t EMax, class T>
ATTNKERN_INLINE void value_rows(const float* p, std::size_t pj, std::size_t pr, const T* v, std::size_t ldv,
                                std::size_t keys, std::size_t value_dim, float* acc, std::size_t stride,
                                std::size_t valid_rows, const simd::row_prefetch& ahead = {}) noexcept {
  constexpr std::size_t W = tiles<Arch>::width;
  const std::size_t vectors = (value_dim + W - 1) / W;
  const std::size_t last = value_dim - (vectors - 1) * W;  // 1 .. W floats in the last vector
  for (std::size_t e0 = 0; e0 < vectors; e0 += EMax) {
    const std::size_t count = vectors - e0 < EMax ? vectors - e0 : EMax;
    const simd::row_prefetch none{}, &first = e0 == 0 ? ahead : none;
    if (e0 + count == vectors && last < W)
      value_tiles<Arch, true, RR, EMax>(count, p, pj, pr, v + e0 * W, ldv, keys, last, acc + e0 * W, stride,
                                        valid_rows, first);
    else
      value_tiles<Arch, false, RR, EMax>(count, p, pj, pr, v + e0 * W, ldv, keys, W, acc + e0 * W, stride,
                                         valid_rows, first);
  }
}

// value_tile's sums for one row, whose p are p_row[j * pj], over keys [j0, j1) but those skip(j)
// names (hidden from the row by a mask or a -inf bias): the same chain per element as the tile's
// lane (fmadd from zero over the keys in order, then added to acc), so that leaving out keys whose
// p is 0 changes no bit, and a key left out cannot bring its V's inf or NaN into the row.
template <class Arch, class T, class Skip>
ATTNKERN_INLINE void value_row(const float* p_row, std::size_t pj, const T* v, std::size_t ldv, std::size_t j0,
                               std::size_t j1, std::size_t value_dim, float* acc, Skip&& skip) noexcept {
  using V = typename tiles<Arch>::V;
  constexpr std::size_t W = tiles<Arch>::width;
  for (std::size_t e = 0; e < value_dim; e += W) {
    const std::size_t n = value_dim - e < W ? value_dim - e : W;
    V o(0.0f);
    for (std::size_t j = j0; j < j1; ++j) {
      if (skip(j)) continue;
      const V vv = simd::load_elems_some<V>(v + j * ldv + e, n);
      o = simd::fmadd(V(p_row[j * pj]), vv, o);
    }
    (V::load_unaligned(acc + e) + o).store_unaligned(acc + e);
  }
}

// Whether V rows [j0, j1) hold an inf or a NaN.
template <class Arch, class T>
ATTNKERN_INLINE bool any_nonfinite(const T* v, std::size_t ldv, std::size_t j0, std::size_t j1,
                                   std::size_t value_dim) noexcept {
  using V = typename tiles<Arch>::V;
  constexpr std::size_t W = tiles<Arch>::width;
  auto bad = xsimd::isnan(V(0.0f));
  for (std::size_t j = j0; j < j1; ++j)
    for (std::size_t e = 0; e < value_dim; e += W) {
      const std::size_t n = value_dim - e < W ? value_dim - e : W;
      const V x = simd::load_elems_some<V>(v + j * ldv + e, n);
      bad = bad || xsimd::isnan(x - x);  // (inf - inf and NaN - NaN are NaN)
    }
  return xsimd::any(bad);
}

}  // namespace sdpa_detail
}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
