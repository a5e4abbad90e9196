// The decode shape of the attention kernel: a unit of a few query rows (one decoded position, a few
// speculative ones, or the G query heads of a GQA group; at most tiles<Arch>::decode_rows) against one
// chunk of keys. The query-rows shape (kernels/isa/attention/attention_kernel.hpp) puts the query
// rows across the lanes, and would fill 1 lane of its 32 at q_len = 1; this one puts HEAD_DIM across
// the lanes for the scores and value_dim for P.V, fills them all, and reads each K and V byte once per
// unit, as it lies in memory (no transpose of K).
//
// It computes, row for row, exactly what the query-rows shape computes (attention_kernel.hpp's steps 1 to
// 4), in the same order, so that a row's bits do not depend on the shape that computed it (and so on
// q_len, the batch, the group or the thread count: docs/numerics.md, "Bits"):
//   1. Scores (decode_scores): each score is W chains of fmadds from zero, chain l over the columns
//      l, l + W, l + 2W, ... (lane l of a batch holding head_dim across the lanes), the chains summed
//      in lane order, then one product with scale. The query-rows shape runs the same W chains one
//      after the other and sums them in the same order: operand for operand the same arithmetic.
//   2. The modifiers and the mask per row, over the row's own keys [f, e) of the block (the other
//      columns are never looked at: the query-rows shape gives them p = 0, which adds nothing).
//   3. The row's max (exact whatever the order; a NaN tracked apart), alpha when any row's max grew,
//      p = e^(s - m) by the same exp on the same arguments, stored times sdpa_p_scale; the block's
//      sum of p per row is the same two chains, keys of even and of odd position in order, summed in
//      the same type, then l alpha + sum (the rows' chains run side by side, over the slots any row
//      sees: a slot the row does not see adds +0, which changes nothing, as the sums are never -0).
//   4. acc += P V by value_rows (attention_tiles.hpp), the same chain of fmadds per element over the
//      keys in order, in tiles of 1 to 4 rows that share V's loads (a row's p is 0 at the tile's keys
//      it does not see); where the block's V holds an inf or a NaN and rows of a tile see different
//      keys, or a mask or a -inf bias hides some, value_row sums each row's own keys, as the
//      query-rows shape does.
// The error bound is therefore attention_kernel.hpp's, unchanged.
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd/exp_core.hpp"
#include "simd/half.hpp"
#include "simd/tanh_core.hpp"
#include "simd/transpose.hpp"
#include "isa/attention/attention_chunk.hpp"
#include "isa/attention/attention_tiles.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace attnkern {
namespace kernels {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)

namespace sdpa_detail {

// A block's keys as decode_scores reads them: K row j at k + j * ldk for the slots j in [j0, nk)
// (the other slots are never read).
template <class TK>
struct key_block_t {
  const TK* k;
  std::size_t ldk, j0, nk;
  simd::row_prefetch next;  // the next block's rows, prefetched as this block's are read
};

// The scores of one group of W (row, key) pairs: NR rows and KPR = W / NR keys, the slots [g, g + KPR):
//   s[rr * sp + g + kk] = scale * dot(q[rr], key g + kk).
// Each pair's dot product runs with head_dim across the lanes: lane l of its accumulator is the chain
// of fmadds over the columns l, l + W, l + 2W, ... in order, from zero (columns past head_dim: 0 times
// 0); the score is the sum of the lanes in lane order, ((a_0 + a_1) + a_2) + ... + a_(W-1), then one
// product with scale. K's rows are read as they lie in memory, one after the other (a stream the
// hardware prefetchers follow), each widened once for all NR rows; the W accumulators are then summed
// at once: transposed (simd::transpose), and W - 1 vertical adds.
// Slots outside [j0, nk) are never read (their scores are those of the group's nearest slot read, and
// the caller never looks at them).
template <class Arch, std::size_t NR, class TK>
ATTNKERN_INLINE void decode_scores(const key_block_t<TK>& kb, std::size_t g, const float* const* q,
                                   std::size_t head_dim, float scale, float* s, std::size_t sp) noexcept {
  using V = typename tiles<Arch>::V;
  constexpr std::size_t W = tiles<Arch>::width, KPR = W / NR;
  const std::size_t i0 = kb.j0 > g ? kb.j0 - g : 0, i1 = kb.nk - g < KPR ? kb.nk - g : KPR;
  const std::size_t full = head_dim / W * W, n = head_dim - full;
  const TK* row[KPR];
#pragma GCC unroll 16
  for (std::size_t kk = 0; kk < KPR; ++kk) row[kk] = kb.k + (g + (kk < i0 ? i0 : kk >= i1 ? i1 - 1 : kk)) * kb.ldk;
  if (kb.next.p)  // the next block's rows, as far ahead as this block's
#pragma GCC unroll 16
    for (std::size_t kk = 0; kk < KPR; ++kk) kb.next.row(g + kk);
  V acc[W];
  if (kb.ldk == head_dim) {
    // contiguous rows: key by key, one stream
#pragma GCC unroll 16
    for (std::size_t kk = 0; kk < KPR; ++kk) {
      V a[NR];
#pragma GCC unroll 16
      for (std::size_t rr = 0; rr < NR; ++rr) a[rr] = V(0.0f);
      for (std::size_t c0 = 0; c0 < full; c0 += W) {
        const V kv = simd::load_elems<V>(row[kk] + c0);
#pragma GCC unroll 16
        for (std::size_t rr = 0; rr < NR; ++rr) a[rr] = simd::fmadd(V::load_unaligned(q[rr] + c0), kv, a[rr]);
      }
#pragma GCC unroll 16
      for (std::size_t rr = 0; rr < NR; ++rr) acc[rr * KPR + kk] = a[rr];
    }
  } else {
    // strided rows (each on its own page, BSHD): the group's rows side by side, W columns at a time,
    // so that the memory system fetches them in parallel
#pragma GCC unroll 16
    for (std::size_t i = 0; i < W; ++i) acc[i] = V(0.0f);
    for (std::size_t c0 = 0; c0 < full; c0 += W) {
      V qv[NR];
#pragma GCC unroll 16
      for (std::size_t rr = 0; rr < NR; ++rr) qv[rr] = V::load_unaligned(q[rr] + c0);
#pragma GCC unroll 16
      for (std::size_t kk = 0; kk < KPR; ++kk) {
        const V kv = simd::load_elems<V>(row[kk] + c0);
#pragma GCC unroll 16
        for (std::size_t rr = 0; rr < NR; ++rr) acc[rr * KPR + kk] = simd::fmadd(qv[rr], kv, acc[rr * KPR + kk]);
      }
    }
  }
  if (n != 0) {  // the last columns, the lanes past head_dim 0 times 0
    V qv[NR];
#pragma GCC unroll 16
    for (std::size_t rr = 0; rr < NR; ++rr) qv[rr] = simd::load_floats_some<V>(q[rr] + full, n, 0.0f);
#pragma GCC unroll 16
    for (std::size_t kk = 0; kk < KPR; ++kk) {
      const V kv = simd::load_elems_some<V>(row[kk] + full, n);
#pragma GCC unroll 16
      for (std::size_t rr = 0; rr < NR; ++rr) acc[rr * KPR + kk] = simd::fmadd(qv[rr], kv, acc[rr * KPR + kk]);
    }
  }
  simd::transpose(acc);  // acc[l]: lane l of every pair
  V sum = acc[0];
#pragma GCC unroll 16
  for (std::size_t l = 1; l < W; ++l) sum = sum + acc[l];
  alignas(64) float lanes[W];
  (sum * V(scale)).store_aligned(lanes);
#pragma GCC unroll 16
  for (std::size_t rr = 0; rr < NR; ++rr)
#pragma GCC unroll 16
    for (std::size_t kk = 0; kk < KPR; ++kk) s[rr * sp + g + kk] = lanes[rr * KPR + kk];
}

// The scores of all the unit's rows for the slots [g0, g1) (multiples of W), in one pass over K:
// rows in tiles of NR (1, 2, 4 or 8; a tile's rows past the unit's are row 0 again, computed and
// dropped), W / NR keys at a time. Not inlined: one copy per K type, not per V type.
template <class Arch, class TK>
__attribute__((noinline)) void decode_block_scores(const key_block_t<TK>& kb, std::size_t g0, std::size_t g1,
                                                   const float* const* q, std::size_t rows, std::size_t head_dim,
                                                   float scale, float* s, std::size_t sp) noexcept {
  constexpr std::size_t W = tiles<Arch>::width;
  const float* qr[sdpa_max_decode_rows];
  for (std::size_t r = 0; r < sdpa_max_decode_rows; ++r) qr[r] = q[r < rows ? r : 0];
  auto each = [&](auto nr) {
    constexpr std::size_t NR = decltype(nr)::value, KPR = W / NR;
    for (std::size_t g = g0; g < g1; g += KPR)
      if (g + KPR > kb.j0 && g < kb.nk) decode_scores<Arch, NR>(kb, g, qr, head_dim, scale, s, sp);
  };
  using std::integral_constant;
  if (rows == 1)
    each(integral_constant<std::size_t, 1>());
  else if (rows == 2)
    each(integral_constant<std::size_t, 2>());
  else if (rows <= 4 || tiles<Arch>::decode_rows <= 4)
    each(integral_constant<std::size_t, 4>());
  else if constexpr (tiles<Arch>::decode_rows > 4)  // (not compiled where units have at most 4 rows)
    each(integral_constant<std::size_t, sdpa_max_decode_rows>());
}

// row[j] = 0 for the slots j of [a, b) that lie outside the row's own keys [f, e) (all of them when
// f >= e: a row that sees none).
template <class T>
ATTNKERN_INLINE void zero_outside(T* row, std::size_t f, std::size_t e, std::size_t a, std::size_t b) noexcept {
  const std::size_t lo = f < e ? f : b, hi = f < e ? e : b;
  for (std::size_t j = a; j < lo; ++j) row[j] = T(0);
  for (std::size_t j = hi; j < b; ++j) row[j] = T(0);
}

// The next block's rows, to prefetch into L2 as this block's (at slot jb) are read, row by row: K's in
// decode_scores, V's in the P.V tile (all of a block's rows at once, as it starts, took 30% longer on
// a paged cache of 64-position blocks). Only where the hardware prefetchers would not find them:
// where the rows are not contiguous (BSHD: a position's heads side by side, so that each row of a
// head lies on its own 4 KiB page, where the hardware prefetchers stop), and where the next block
// does not follow this one in memory (a paged cache's blocks, the next chunk's first block); null
// elsewhere (one stream of contiguous rows is followed better without).
inline simd::row_prefetch next_block_rows(const void* const* blocks, const void* next_chunk, std::size_t next_keys,
                                          std::size_t jb, std::size_t hi, std::size_t ld, std::size_t dim,
                                          std::size_t size) noexcept {
  const std::size_t m = jb / sdpa_key_block;
  const char* here = static_cast<const char*>(blocks[m]);
  const char* next = nullptr;
  std::size_t n = 0;
  if (jb + sdpa_key_block < hi) {
    next = static_cast<const char*>(blocks[m + 1]);
    n = hi - jb - sdpa_key_block;
  } else if (jb + sdpa_key_block == sdpa_key_chunk && next_chunk) {
    next = static_cast<const char*>(next_chunk);
    n = next_keys;
  }
  if (!next || (ld == dim && next == here + sdpa_key_block * ld * size)) return {};
  return {next, ld * size, dim * size, n < sdpa_key_block ? n : sdpa_key_block};
}

// decode_block_scores for the chunk's K type, on the block at slot jb.
template <class Arch>
ATTNKERN_INLINE void decode_block_scores_of(const sdpa_chunk_args& a, std::size_t jb, std::size_t j0, std::size_t nk,
                                            std::size_t hi, std::size_t g0, std::size_t g1, float* s,
                                            std::size_t sp) noexcept {
  auto run = [&](auto* k) {
    using TK = std::remove_const_t<std::remove_pointer_t<decltype(k)>>;
    const key_block_t<TK> kb{k, a.ldk, j0, nk,
                             next_block_rows(a.k, a.k_next, a.next_keys, jb, hi, a.ldk, a.head_dim, sizeof(TK))};
    decode_block_scores<Arch>(kb, g0, g1, a.q, a.rows, a.head_dim, a.scale, s, sp);
  };
  switch (a.k_type) {
    case dtype::f16:
      return run(static_cast<const f16_t*>(a.k[jb / sdpa_key_block]));
    case dtype::bf16:
      return run(static_cast<const bf16_t*>(a.k[jb / sdpa_key_block]));
    default:
      return run(static_cast<const float*>(a.k[jb / sdpa_key_block]));
  }
}

// TV: the element type of V (float, f16_t, bf16_t), widened as it is loaded; K's type is switched on
// per block, in decode_block_scores_of (one instance per V type rather than per (K, V) pair: the
// nine pairs were most of the library's build time, and the switch costs nothing measurable).
template <class Arch, class TV>
void decode_chunk(const sdpa_chunk_args& a) noexcept {
  using V = typename tiles<Arch>::V;
  using C = simd::compute_t<Arch>;  // the exps' type: float with FMA, double without
  using VC = xsimd::batch<C, Arch>;
  constexpr std::size_t W = tiles<Arch>::width, WC = VC::size, KB = sdpa_key_block;
  constexpr std::size_t EV = tiles<Arch>::decode_value_vectors;
  constexpr std::size_t SP = KB + 16;  // a row of scores, with room for a vector past the block
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  const std::size_t stride = sdpa_acc_stride(a.value_dim), rows = a.rows;

  alignas(64) float s[sdpa_max_decode_rows * SP];  // per row: the block's scores, then its p (scaled)
  alignas(64) C pc[sdpa_max_decode_rows * SP];     // per row: the block's p, unscaled, for its sums
  for (std::size_t i = 0; i < rows * SP; ++i) s[i] = 0.0f;
  alignas(64) float iota[W];
  for (std::size_t i = 0; i < W; ++i) iota[i] = static_cast<float>(i);

  // The slots some row sees, [lo, hi)
  std::size_t lo = a.keys, hi = 0;
  for (std::size_t r = 0; r < rows; ++r)
    if (a.first[r] < a.end[r]) {
      lo = a.first[r] < lo ? a.first[r] : lo;
      hi = a.end[r] > hi ? a.end[r] : hi;
    }
  float m[sdpa_max_decode_rows], m_new[sdpa_max_decode_rows];
  C l[sdpa_max_decode_rows], alpha[sdpa_max_decode_rows], m_safe[sdpa_max_decode_rows];
  std::size_t f[sdpa_max_decode_rows], e[sdpa_max_decode_rows];
  for (std::size_t r = 0; r < rows; ++r) {
    m[r] = neg_inf;
    l[r] = C(0);
  }
  for (std::size_t i = 0; i < rows * stride; ++i) a.acc[i] = 0.0f;

  for (std::size_t jb = lo / KB * KB; jb < hi; jb += KB) {
    const std::size_t j0 = lo > jb ? lo - jb : 0;
    const std::size_t nk = hi - jb < KB ? hi - jb : KB;
    // 1. the scores of the vectors of keys that hold the slots read, [g0, g1) (slots outside [j0, nk): 0)
    const std::size_t g0 = j0 / W * W, g1 = (nk + W - 1) / W * W;
    decode_block_scores_of<Arch>(a, jb, j0, nk, hi, g0, g1, s, SP);

    // 2. each row's keys [f, e) of the block, its modifiers and mask, and its max
    bool any_visible = false, grew = false;
    for (std::size_t r = 0; r < rows; ++r) {
      const block_keys_t k = block_keys<Arch>(a.first[r], a.end[r], jb, j0, nk);
      f[r] = k.f, e[r] = k.e;
      float* sr = s + r * SP;
      if (a.modified || a.hides) {
        if (a.softcap > 0) {
          const VC cap(static_cast<C>(a.softcap));
          for (std::size_t jj = f[r]; jj < e[r]; jj += WC) {
            const VC x = simd::load_floats<VC>(sr + jj);
            simd::store_floats(sr + jj, cap * simd::tanh(simd::div(x, cap)));
          }
        }
        if (const float* b = a.bias[r]) {
          const V scale(a.bias_scale[r]);
          for (std::size_t jj = f[r]; jj < e[r]; jj += W) {
            const V bv = simd::load_floats_some<V>(b + jb + jj, e[r] - jj, 0.0f);
            const V x = V::load_unaligned(sr + jj);
            xsimd::select(bv == V(neg_inf), V(neg_inf), x + bv * scale).store_unaligned(sr + jj);
          }
        }
        if (a.slope[r] != 0.0f) {  // ALiBi: slope (j - d), j - d exact in float (|j - d| < 2^24)
          const V slope(a.slope[r]), diagonal(static_cast<float>(a.diagonal[r]));
          for (std::size_t jj = f[r]; jj < e[r]; jj += W) {
            const V j = V(static_cast<float>(jb + jj)) + V::load_aligned(iota);
            (V::load_unaligned(sr + jj) + slope * (j - diagonal)).store_unaligned(sr + jj);
          }
        }
        if (const unsigned char* mk = a.mask[r])
          for (std::size_t jj = f[r]; jj < e[r]; ++jj) sr[jj] = mk[jb + jj] ? sr[jj] : neg_inf;
      }
      V bm(neg_inf);
      auto nan = xsimd::isnan(bm);
      for (std::size_t jj = f[r]; jj < e[r]; jj += W) {
        const V x = simd::load_floats_some<V>(sr + jj, e[r] - jj, neg_inf);
        bm = xsimd::max(x, bm);
        nan = nan || xsimd::isnan(x);
      }
      alignas(64) float lanes[W];
      bm.store_aligned(lanes);
      float top = neg_inf;
      for (std::size_t i = 0; i < W; ++i) top = lanes[i] > top ? lanes[i] : top;
      m_new[r] = xsimd::any(nan) || m[r] != m[r] ? std::numeric_limits<float>::quiet_NaN() : (top > m[r] ? top : m[r]);
      any_visible = any_visible || !(m_new[r] == neg_inf);
      grew = grew || !(m_new[r] == m[r]);
    }
    if (!any_visible) continue;
    for (std::size_t r = 0; r < rows; ++r) m_safe[r] = m_new[r] == neg_inf ? C(0) : static_cast<C>(m_new[r]);
    if (grew)
      for (std::size_t r = 0; r < rows; ++r) {
        const VC x = VC(static_cast<C>(m[r])) - VC(m_safe[r]);
        alignas(64) C lanes[WC];
        simd::exp_nonpositive<false>(x, x).store_aligned(lanes);
        alpha[r] = lanes[0];
      }

    // 3. p = e^(s - m) over each row's keys, stored times sdpa_p_scale; the row's sum; the rescale
    const VC p_scale(static_cast<C>(sdpa_p_scale));
    std::size_t z0 = KB, z1 = 0;  // the slots some row sees, widened to even bounds
    for (std::size_t r = 0; r < rows; ++r)
      if (f[r] < e[r]) {
        z0 = f[r] < z0 ? f[r] : z0;
        z1 = e[r] > z1 ? e[r] : z1;
      }
    z0 = z0 / 2 * 2, z1 = (z1 + 1) / 2 * 2;
    for (std::size_t r = 0; r < rows; ++r) {
      float* sr = s + r * SP;
      C* pr = pc + r * SP;
      const VC ms(m_safe[r]);
      for (std::size_t jj = f[r]; jj < e[r]; jj += WC) {
        const VC x = simd::load_floats_some<VC>(sr + jj, e[r] - jj, neg_inf) - ms;
        const VC p = simd::exp_nonpositive<false>(x, x);
        simd::store_floats(sr + jj, p * p_scale);
        p.store_unaligned(pr + jj);
      }
      zero_outside(pr, f[r], e[r], z0, z1);
    }
    // the rows' chains side by side (each its own order: even slots, odd slots; a +0 adds nothing)
    C sum_even[sdpa_max_decode_rows], sum_odd[sdpa_max_decode_rows];
    for (std::size_t r = 0; r < rows; ++r) sum_even[r] = sum_odd[r] = C(0);
    for (std::size_t jj = z0; jj < z1; jj += 2)
      for (std::size_t r = 0; r < rows; ++r) {
        sum_even[r] = sum_even[r] + pc[r * SP + jj];
        sum_odd[r] = sum_odd[r] + pc[r * SP + jj + 1];
      }
    for (std::size_t r = 0; r < rows; ++r) {
      const C block_sum = sum_even[r] + sum_odd[r];
      l[r] = grew ? l[r] * alpha[r] + block_sum : l[r] + block_sum;
      if (grew && alpha[r] != C(1)) {
        const V factor(static_cast<float>(alpha[r]));
        float* ar = a.acc + r * stride;
        for (std::size_t i = 0; i < stride; i += W) (V::load_unaligned(ar + i) * factor).store_unaligned(ar + i);
      }
      m[r] = m_new[r];
    }

    // 4. acc += P V, in tiles of 1 row (the widest, value_dim in 8 vectors on AVX-512), or 2 to 4 rows
    //    that share each V load (and its widening) over the keys some row of the tile sees; a row's p
    //    is zeroed at the tile's other keys, which then add exactly nothing while V is finite
    const TV* vb = static_cast<const TV*>(a.v[jb / KB]);
    simd::row_prefetch v_next = next_block_rows(a.v, a.v_next, a.next_keys, jb, hi, a.ldv, a.value_dim, sizeof(TV));
    int v_state = -1;  // whether the block's V holds an inf or a NaN: not known yet (-1), no (0), yes (1)
    for (std::size_t r0 = 0; r0 < rows;) {
      const std::size_t nr = rows - r0 >= 4 ? 4 : rows - r0 == 3 ? 3 : rows - r0;
      const tile_keys_t k = tile_keys<Arch>(f + r0, e + r0, nr, j0, nk);
      const std::size_t t0 = k.t0, t1 = k.t1;
      if (t0 < t1) {
        const bool partial = a.hides || k.mixed();
        if (partial && v_state < 0) v_state = any_nonfinite<Arch>(vb, a.ldv, j0, nk, a.value_dim) ? 1 : 0;
        if (partial && v_state == 1) {  // each row its own keys, the hidden ones left out
          for (std::size_t r = r0; r < r0 + nr; ++r) {
            auto skip = [&](std::size_t jj) { return sdpa_hidden_by_modifiers(a, r, jb + jj); };
            if (f[r] < e[r]) value_row<Arch>(s + r * SP, 1, vb, a.ldv, f[r], e[r], a.value_dim, a.acc + r * stride, skip);
          }
        } else {
          for (std::size_t r = r0; r < r0 + nr; ++r) {
            zero_outside(s + r * SP, f[r], e[r], t0, t1);
          }
          const float* p = s + r0 * SP + t0;
          const TV* v = vb + t0 * a.ldv;
          float* acc = a.acc + r0 * stride;
          const simd::row_prefetch ahead = v_next.from(t0);  // (the first tile's pass only)
          v_next = {};
          if (nr == 1)
            value_rows<Arch, 1, EV>(p, 1, SP, v, a.ldv, t1 - t0, a.value_dim, acc, stride, 1, ahead);
          else if (nr == 2)
            value_rows<Arch, 2, tiles<Arch>::decode_pair_vectors>(p, 1, SP, v, a.ldv, t1 - t0, a.value_dim, acc, stride, 2, ahead);
          else
            value_rows<Arch, 4, tiles<Arch>::value_vectors>(p, 1, SP, v, a.ldv, t1 - t0, a.value_dim, acc, stride, nr, ahead);
        }
      }
      r0 += nr;
    }
  }
  for (std::size_t r = 0; r < rows; ++r) {
    a.max[r] = m[r];
    a.sum[r] = static_cast<double>(l[r]);
  }
}

// decode_chunk for the chunk's V type.
template <class Arch>
void decode_chunk(const sdpa_chunk_args& a) noexcept {
  switch (a.v_type) {
    case dtype::f16:
      return decode_chunk<Arch, f16_t>(a);
    case dtype::bf16:
      return decode_chunk<Arch, bf16_t>(a);
    default:
      return decode_chunk<Arch, float>(a);
  }
}

}  // namespace sdpa_detail
}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
