// Contract (sdpa_chunk_f32): a block of a.rows query rows against one chunk of a.keys key slots
//   types:    q float32 (the driver widens f16/bf16 q); K and V float32, f16 or bf16, widened to float exactly.
//             Writes per row a.max (float: max of its visible scores, -inf if none), a.sum (double:
//             sum_j e^(s_j - m)) and a.acc (float: sdpa_p_scale sum_j e^(s_j - m) v[j,:], padding too)
//   error:    the chunk's terms are derived below; after the driver's merge (double, chunk order) a row of
//             attnkern_sdpa_f32 / attnkern_attention is within bounds::sdpa_max_error(head_dim, sigma, keys) max|v|
//             (softcap, bias or ALiBi: bounds::attention_max_error) plus bounds::attention_abs_floor (2^-126); lse
//             within bounds::lse_max_error; an f16/bf16 out adds bounds::half_out_error(bf16) max|v| (f16: and
//             bounds::f16_out_floor (2^-25))
//   range:    rows 1 .. the table's sdpa_query_rows, keys 1 .. sdpa_key_chunk (512), up to 2^24 keys per row;
//             scores are float32: one beyond +-FLT_MAX overflows (the bound is then infinite too)
//   special:  a NaN or +inf score among a row's visible keys makes the row NaN; a row that sees no key gets max
//             -inf here (the call: zeros, lse -inf or its sink); hidden keys (range, causal, window, mask 0, bias
//             -inf) never change a row, whatever their K and V hold; values up to +-FLT_MAX do not overflow acc
//
// Fused scaled dot-product attention, one block of query rows against one chunk of keys (the
// driver, kernels/drivers/attention_driver.cpp, cuts the work into such units and merges the chunks):
//   s[i,j] = scale * dot(q[i,:], k[j,:]),  out[i,:] = sum_j softmax_j(s[i,:]) v[j,:]
// over the keys row i sees, a range [first_i, end_i) of the chunk (the key range of its batch item,
// the causal mask and the sliding window, all set by the driver). The rows are any rows that share K
// and V: positions of one head, or the query heads of a GQA group at a few positions (the driver's
// choice), so that each block of K and V is read once for all of them. The T x T score matrix is
// never formed: a block of `rows` queries (2 vectors: 32 on AVX-512, 16 on AVX2, 8 on SSE2) meets
// the chunk's keys in blocks of sdpa_key_block (64) at fixed positions of the sequence (multiples of
// 64, whatever the rows and ranges: a row's arithmetic never depends on its neighbours):
//   1. S = scale Q K^T for the block, by a register-blocked micro-kernel: Q transposed once per
//      chunk (head_dim x rows, the query rows across the lanes), each key's element broadcast,
//      2 x 4 (AVX-512) or 2 x 3 vectors of scores. Each score is summed in the decode shape's order
//      (score_tile: W chains of fmadds over the columns l, l + W, ..., summed in lane order), so
//      that a row's bits are the same in both shapes. With the queries across the lanes, everything
//      per row that follows is vertical: no horizontal reductions anywhere. Keys no row sees are not
//      read; their columns hold -inf.
//   2. The mask: where the block is not seen whole by every row, each row's scores outside its range
//      (and the padding rows of a short block) are overwritten with -inf, whatever K held there;
//      the block's max per row; rows whose max grows get alpha = e^(m_old - m_new), and their sum
//      and accumulator are multiplied by it (only then; alpha = 1 exactly otherwise); a block in
//      which no row sees a key is skipped.
//   3. P = e^(S - m) (exp_nonpositive; in double on SSE2), l += the sum of P per row; P is stored
//      times sdpa_p_scale (2^-9, exact), so that the chunk's float sums of p v, at most 512 terms of
//      at most |v|, cannot overflow where the result is finite.
//   4. acc += P V by a micro-kernel of 4 rows x 4 (AVX-512) or 3 vectors of value_dim, each key's
//      p broadcast; the block's products are summed in registers from zero, then added to acc.
//      A tile covers the keys some of its rows see; a row's p is 0 at the others, which adds exactly
//      nothing to its sums while V is finite. Where such a key's V holds an inf or a NaN, each row of
//      the tile sums its own keys instead, in the same order: a hidden key never reaches a row.
// The driver merges the chunks' (m, l, acc) in double and divides once at the end; lse = M + log L.
// Units of at most tiles<Arch>::decode_rows rows (decoding: 8 on AVX-512, one vector's worth
// elsewhere) go to the decode shape instead (kernels/isa/attention/attention_decode.hpp), which puts
// head_dim across the lanes and computes the same bits for every row: the same chains, in the same order.
//
// Error bound (u = 2^-24; n = the keys row i sees, n <= 2^24; d = head_dim; every path). With
// sigma = scale * max_j sum_c |q[i,c] k[j,c]| over those keys (so |s_j| <= sigma):
//   Scores: W chains of at most ceil(d / W) fmadds each (SSE2: a multiply and an add, the same
//     first-order bound), summed by W - 1 adds, then the product with scale: each product q_c k_c
//     meets at most ceil(d / W) + min(W, d) - 1 <= d roundings before the scale's, so
//     |s~_j - s_j| <= (d + 1) u sigma, as for one chain of d (a zero lane adds exactly nothing).
//   p_j = e^(s~_j - m): s~_j - m rounded (u |s_j - m|), the exp's 0.8913 ULP (1.78 u relative, as
//     measured over every argument by tools/ulp.cpp; SSE2 evaluates it in double and rounds once).
//     The weights alpha_j = p_j / l then move by at most twice the alpha-weighted mean of these
//     relative errors: sum_j |alpha~_j - alpha_j| <= 2 u ((d + 1) sigma + ln n + 1.78), since the
//     alpha-weighted mean of m - s_j is at most ln n (it equals ln alpha_max + the entropy of alpha).
//   l: per block, two float chains per row (<= 33 roundings), then l alpha + l_block per block
//     (2 per block, 16 per chunk): 49 u relative; the merges in double add nothing that matters.
//     alpha (and the merges' factors) scale l and acc of a row alike and cancel in acc / l.
//   acc: per block a chain of at most 64 fmadds (SSE2: 65 roundings) from zero, then the rescale and
//     the add (16 per chunk): 81 u of sum_j p_j |v_j| <= l max|v|.
//   The division in double and the rounding to float: u/2 of |out| <= max|v|.
//   In all, |out - out_ref| <= max|v| u (2 (d + 1) sigma + 2 ln n + 136)
//   (first order: 2 x 1.78 + 49 + 81 + 1/2 = 134.1, SSE2 135.1, rounded up)
//   which is the documented bound: `sdpa_max_error(head_dim, sigma, keys)` times max|v| (plus
//   `attention_abs_floor`) in attnkern/bounds.hpp. The sigma term is the float32 dot product's own
//   (any float32 attention has it): the bound is at most 1e-5 max|v| only while
//   2 (d + 1) sigma + 2 ln n <= 31.77, e.g. (d + 1) sigma <= 4.37 at n = 10^5. On random inputs the
//   rounding errors do not line up: the tests also hold their random shapes to
//   `sdpa_random_input_error` max|v|, and measure at most 1.0e-7 max|v| there; the numerics
//   fingerprint, whose inputs include scores up to +-256, measures 1.31e-6 max|v|
//   (docs/numerics.md; the tests print theirs with ATTNKERN_TEST_REPORT=1).
//   The log-sum-exp, lse = M + log L (attnkern_attention): with the exps' errors as above, the sums'
//   49 u and the rounding of M + log L to float (u/2 |lse| <= u/2 (sigma + ln n)),
//   |lse - lse_ref| <= u ((d + 1) sigma + ln n + 1.78 + 49 + 1) + u/2 (sigma + ln n)
//   <= u ((d + 2) sigma + 2 ln n + 52): `lse_max_error(head_dim, sigma, keys)` in attnkern/bounds.hpp.
// Special values: a NaN or +inf score among a row's visible keys makes that row NaN (as in the
// reference); a row that sees no key gives zeros. Keys a row does not see never change it, whatever
// their K and V hold (step 4).
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd/exp_core.hpp"
#include "simd/tanh_core.hpp"
#include "isa/attention/attention_decode.hpp"
#include "isa/attention/attention_tiles.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

namespace attnkern {
namespace kernels {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)

namespace sdpa_detail {

// s[kk * rows + r] = scale * dot(q[r,:], k[kk,:]) for kk < NK, all rows r of the block at once.
// qt: head_dim x rows (Q transposed); k: NK rows of head_dim floats, ldk apart.
// Each dot product is summed in the decode shape's order (attention_decode.hpp, decode_scores), which
// holds head_dim across the W lanes of a batch: for each lane l, a chain of fmadds over the columns
// l, l + W, l + 2W, ... from zero (plus, where head_dim is not a multiple of W and l >= head_dim % W,
// one fmadd of 0 times 0 for the last vector's unused lane), and the lanes summed in order,
// ((c_0 + c_1) + c_2) + ... + c_(W-1). Here the rows lie across the lanes instead, so the W chains of
// a (row, key) pair run one after the other, each added to the pair's sum as it ends: the same
// operations on the same operands, hence the same bits.
template <class Arch, std::size_t NK>
ATTNKERN_INLINE void score_tile(const float* qt, const float* k, std::size_t ldk, std::size_t head_dim, float scale,
                                float* s) noexcept {
  using V = typename tiles<Arch>::V;
  constexpr std::size_t W = tiles<Arch>::width, R = tiles<Arch>::rows;
  const std::size_t tail = head_dim % W;  // lanes l >= tail (when tail != 0) end with 0 times 0
  V lo[NK], hi[NK];
  for (std::size_t l = 0; l < W; ++l) {
    V clo[NK], chi[NK];
#pragma GCC unroll 16
    for (std::size_t kk = 0; kk < NK; ++kk) clo[kk] = chi[kk] = V(0.0f);
    for (std::size_t c = l; c < head_dim; c += W) {
      const V q_lo = V::load_aligned(qt + c * R);
      const V q_hi = V::load_aligned(qt + c * R + W);
#pragma GCC unroll 16
      for (std::size_t kk = 0; kk < NK; ++kk) {
        const V kc(k[kk * ldk + c]);
        clo[kk] = simd::fmadd(q_lo, kc, clo[kk]);
        chi[kk] = simd::fmadd(q_hi, kc, chi[kk]);
      }
    }
    if (tail != 0 && l >= tail) {  // the decode shape's 0 times 0 (+0 added: turns a -0 into +0)
#pragma GCC unroll 16
      for (std::size_t kk = 0; kk < NK; ++kk) {
        clo[kk] = clo[kk] + V(0.0f);
        chi[kk] = chi[kk] + V(0.0f);
      }
    }
#pragma GCC unroll 16
    for (std::size_t kk = 0; kk < NK; ++kk) {
      lo[kk] = l == 0 ? clo[kk] : lo[kk] + clo[kk];
      hi[kk] = l == 0 ? chi[kk] : hi[kk] + chi[kk];
    }
  }
  const V sc(scale);
#pragma GCC unroll 16
  for (std::size_t kk = 0; kk < NK; ++kk) {
    (lo[kk] * sc).store_aligned(s + kk * R);
    (hi[kk] * sc).store_aligned(s + kk * R + W);
  }
}

// The last `count` (< score_keys) keys of a block, by the tile of that size.
template <class Arch, std::size_t NK = tiles<Arch>::score_keys - 1>
ATTNKERN_INLINE void score_tail(const float* qt, const float* k, std::size_t ldk, std::size_t count, std::size_t head_dim,
                                float scale, float* s) noexcept {
  if constexpr (NK > 0) {
    if (count == NK) {
      score_tile<Arch, NK>(qt, k, ldk, head_dim, scale, s);
    } else {
      score_tail<Arch, NK - 1>(qt, k, ldk, count, head_dim, scale, s);
    }
  }
}

}  // namespace sdpa_detail

template <class Arch>
void sdpa_chunk_f32(const sdpa_chunk_args& a) noexcept {
  using namespace sdpa_detail;
  if (a.rows <= tiles<Arch>::decode_rows) {  // a few rows: head_dim across the lanes, same bits
    decode_chunk<Arch>(a);
    return;
  }
  using V = typename tiles<Arch>::V;
  using C = simd::compute_t<Arch>;  // the exps' type: float with FMA, double without
  using VC = xsimd::batch<C, Arch>;
  constexpr std::size_t W = tiles<Arch>::width, R = tiles<Arch>::rows, WC = VC::size;
  constexpr std::size_t NK = tiles<Arch>::score_keys, RR = tiles<Arch>::value_rows, E = tiles<Arch>::value_vectors;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  const std::size_t d = a.head_dim, stride = sdpa_acc_stride(a.value_dim);

  float* qt = reinterpret_cast<float*>((reinterpret_cast<std::uintptr_t>(a.scratch) + 63) & ~std::uintptr_t(63));
  float* s = qt + d * R;
  // Strided V rows (BSHD: heads x value_dim floats apart, often a multiple of 4 KiB, so that a
  // block's rows share a few cache sets and evict each other while the P.V tiles read them again and
  // again) are packed a block at a time, and half-precision K and V are widened to float a block at a
  // time (exact). (Float K's rows are read once per block: packing them costs more than it saves.)
  const bool pack_k = a.k_type != dtype::f32, pack_v = a.ldv != a.value_dim || a.v_type != dtype::f32;
  float* v_block = qt + sdpa_scratch_base_floats(d);
  float* k_block = v_block + (pack_v ? sdpa_key_block * a.value_dim : 0);
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t c = 0; c < d; ++c) qt[c * R + r] = r < a.rows ? a.q[r][c] : 0.0f;

  // The slots some row sees, [lo, hi), and those all rows see, [all_lo, all_hi) (empty when a row of
  // the block is padding).
  std::size_t lo = a.keys, hi = 0, all_lo = 0, all_hi = a.rows < R ? 0 : a.keys;
  for (std::size_t r = 0; r < a.rows; ++r) {
    if (a.first[r] >= a.end[r]) {
      all_hi = 0;
      continue;
    }
    lo = a.first[r] < lo ? a.first[r] : lo;
    hi = a.end[r] > hi ? a.end[r] : hi;
    all_lo = a.first[r] > all_lo ? a.first[r] : all_lo;
    all_hi = a.end[r] < all_hi ? a.end[r] : all_hi;
  }

  alignas(64) float m[R];      // the running max per row
  alignas(64) float m_new[R];  // after this block
  alignas(64) C l[R];          // the running sum per row
  alignas(64) C alpha[R];
  for (std::size_t r = 0; r < R; ++r) {
    m[r] = neg_inf;
    l[r] = C(0);
  }
  for (std::size_t i = 0; i < a.rows * stride; ++i) a.acc[i] = 0.0f;

  // The bias rows' offsets from row 0's, per lane (padding rows: row 0's), when every row has one
  // and they all lie within an int32 of it: then a lane gathers its row's bias.
  alignas(64) std::int32_t bias_offset[R];
  alignas(64) float bias_scale[R];
  bool bias_gather = a.modified && a.bias[0] != nullptr;
  for (std::size_t r = 0; r < R && bias_gather; ++r) {
    const std::ptrdiff_t off = r < a.rows ? (a.bias[r] ? a.bias[r] - a.bias[0] : PTRDIFF_MAX) : 0;
    bias_gather = off > -(std::ptrdiff_t(1) << 30) && off < (std::ptrdiff_t(1) << 30);
    bias_offset[r] = static_cast<std::int32_t>(bias_gather ? off : 0);
    bias_scale[r] = r < a.rows ? a.bias_scale[r] : 1.0f;
  }
  // ALiBi's slopes and diagonals per lane (0 for rows without, and padding rows)
  alignas(64) float slope[R];
  alignas(64) float diagonal[R];
  bool any_slope = false;
  for (std::size_t r = 0; r < R; ++r) {
    const bool row = a.modified && r < a.rows && a.slope[r] != 0.0f;
    slope[r] = row ? a.slope[r] : 0.0f;
    diagonal[r] = row ? static_cast<float>(a.diagonal[r]) : 0.0f;
    any_slope = any_slope || row;
  }

  for (std::size_t jb = lo / sdpa_key_block * sdpa_key_block; jb < hi; jb += sdpa_key_block) {
    // The block's slots that are read, [jb + j0, jb + nk); slot jb + jj is column jj of S whatever
    // the rows, and the columns before j0 hold -inf.
    const std::size_t j0 = lo > jb ? lo - jb : 0;
    const std::size_t nk = hi - jb < sdpa_key_block ? hi - jb : sdpa_key_block;
    // K and V of the block's slots [j0, nk), as rows ldk and ldv apart from slot 0 of the block
    const float* kb = static_cast<const float*>(a.k[jb / sdpa_key_block]);
    const float* vb = static_cast<const float*>(a.v[jb / sdpa_key_block]);
    std::size_t ldk = a.ldk, ldv = a.ldv;
    if (pack_k) {
      widen_rows<V>(a.k[jb / sdpa_key_block], a.k_type, j0, nk, a.ldk, d, k_block + j0 * d);
      kb = k_block, ldk = d;
    }
    if (pack_v) {
      widen_rows<V>(a.v[jb / sdpa_key_block], a.v_type, j0, nk, a.ldv, a.value_dim, v_block + j0 * a.value_dim);
      vb = v_block, ldv = a.value_dim;
    }
    // 1. scores
    for (std::size_t jj = 0; jj < j0; ++jj)
      for (std::size_t r = 0; r < R; ++r) s[jj * R + r] = neg_inf;
    std::size_t j = j0;
    for (; j + NK <= nk; j += NK) score_tile<Arch, NK>(qt, kb + j * ldk, ldk, d, a.scale, s + j * R);
    if (j < nk) score_tail<Arch>(qt, kb + j * ldk, ldk, nk - j, d, a.scale, s + j * R);

    // 1b. the modifiers: softcap (all rows at once), then each row's bias, ALiBi and mask
    if (a.modified || a.hides) {
      if (a.softcap > 0) {
        const VC cap(static_cast<C>(a.softcap));
        for (std::size_t jj = j0; jj < nk; ++jj)
          for (std::size_t r = 0; r < R; r += WC) {
            const VC x = simd::load_floats<VC>(s + jj * R + r);
            simd::store_floats(s + jj * R + r, cap * simd::tanh(simd::div(x, cap)));
          }
      }
      if (bias_gather) {  // all rows at once: each lane gathers its row's bias
        using VI = xsimd::batch<std::int32_t, Arch>;
        static_assert(VI::size == W, "one int32 offset per float lane");
        for (std::size_t jj = j0; jj < nk; ++jj) {
          const float* b = a.bias[0] + jb + jj;
          for (std::size_t r = 0; r < R; r += W) {
            const V bv = V::gather(b, VI::load_aligned(bias_offset + r));
            const V x = V::load_aligned(s + jj * R + r);
            xsimd::select(bv == V(neg_inf), V(neg_inf), x + bv * V::load_aligned(bias_scale + r))
                .store_aligned(s + jj * R + r);
          }
        }
      } else {
        for (std::size_t r = 0; r < a.rows; ++r) {
          if (const float* b = a.bias[r]) {
            const float scale = a.bias_scale[r];
            for (std::size_t jj = j0; jj < nk; ++jj) {
              const float bj = b[jb + jj];
              s[jj * R + r] = bj == neg_inf ? neg_inf : s[jj * R + r] + bj * scale;
            }
          }
        }
      }
      if (any_slope) {  // ALiBi, all rows at once: slope (j - d), j - d exact in float (|j - d| < 2^24)
        for (std::size_t jj = j0; jj < nk; ++jj) {
          const V key(static_cast<float>(jb + jj));
          for (std::size_t r = 0; r < R; r += W) {
            const V x = V::load_aligned(s + jj * R + r);
            (x + V::load_aligned(slope + r) * (key - V::load_aligned(diagonal + r))).store_aligned(s + jj * R + r);
          }
        }
      }
      for (std::size_t r = 0; r < a.rows; ++r)
        if (const unsigned char* mk = a.mask[r])
          for (std::size_t jj = j0; jj < nk; ++jj)  // (a select, not a branch: masks are irregular)
            s[jj * R + r] = mk[jb + jj] ? s[jj * R + r] : neg_inf;
    }

    // 2. the mask: padding rows, and the slots a row does not see (overwritten: whatever K holds there)
    const bool masked = a.hides || !(all_lo <= jb + j0 && jb + nk <= all_hi);
    if (masked) {
      if (a.rows < R)  // the padding rows: contiguous in each column
        for (std::size_t jj = j0; jj < nk; ++jj)
          for (std::size_t r = a.rows; r < R; ++r) s[jj * R + r] = neg_inf;
      for (std::size_t r = 0; r < a.rows; ++r) {
        // row r sees the block's columns [f, e)
        const auto [f, e] = block_keys<Arch>(a.first[r], a.end[r], jb, j0, nk);
        for (std::size_t jj = j0; jj < f; ++jj) s[jj * R + r] = neg_inf;
        for (std::size_t jj = e; jj < nk; ++jj) s[jj * R + r] = neg_inf;
      }
    }
    //    the block's max per row, and whether any row sees a key or has a larger max
    bool any_visible = false, grew = false;
    for (std::size_t r = 0; r < R; r += W) {
      // (x86's max returns its second operand when either is NaN: max(x, bm) skips a NaN x, which
      // is tracked apart, and a NaN row max stays NaN whatever follows)
      V bm(neg_inf);
      auto nan = xsimd::isnan(bm);
      for (std::size_t jj = j0; jj < nk; ++jj) {
        const V x = V::load_aligned(s + jj * R + r);
        bm = xsimd::max(x, bm);
        nan = nan || xsimd::isnan(x);
      }
      const V old = V::load_aligned(m + r);
      const V mn = xsimd::select(nan || xsimd::isnan(old), V(std::numeric_limits<float>::quiet_NaN()),
                                 xsimd::max(old, bm));
      mn.store_aligned(m_new + r);
      // (== is ordered: a NaN lane counts as visible and grown)
      any_visible = any_visible || !xsimd::all(mn == V(neg_inf));
      grew = grew || !xsimd::all(mn == old);
    }
    if (!any_visible) continue;
    // m_safe: 0 for rows that still see nothing (their p and alpha become e^-inf = 0, never NaN)
    alignas(64) C m_safe[R];
    for (std::size_t r = 0; r < R; ++r) m_safe[r] = m_new[r] == neg_inf ? C(0) : static_cast<C>(m_new[r]);
    if (grew) {
      for (std::size_t r = 0; r < R; r += WC) {
        const VC x = simd::load_floats<VC>(m + r) - VC::load_aligned(m_safe + r);
        simd::exp_nonpositive<false>(x, x).store_aligned(alpha + r);
      }
    }

    // 3. P = e^(S - m), stored times sdpa_p_scale in place, and its sum per row: two chains per lane
    //    (even and odd columns: the columns before j0 are -inf, whose p = 0 adds nothing)
    const VC p_scale(static_cast<C>(sdpa_p_scale));
    for (std::size_t r = 0; r < R; r += WC) {
      const VC ms = VC::load_aligned(m_safe + r);
      VC sum_even(C(0)), sum_odd(C(0));
      std::size_t jj = 0;
      for (; jj + 2 <= nk; jj += 2) {
        const VC x0 = simd::load_floats<VC>(s + jj * R + r) - ms;
        const VC x1 = simd::load_floats<VC>(s + (jj + 1) * R + r) - ms;
        const VC p0 = simd::exp_nonpositive<false>(x0, x0);
        const VC p1 = simd::exp_nonpositive<false>(x1, x1);
        simd::store_floats(s + jj * R + r, p0 * p_scale);
        simd::store_floats(s + (jj + 1) * R + r, p1 * p_scale);
        sum_even = sum_even + p0;
        sum_odd = sum_odd + p1;
      }
      if (jj < nk) {
        const VC x0 = simd::load_floats<VC>(s + jj * R + r) - ms;
        const VC p0 = simd::exp_nonpositive<false>(x0, x0);
        simd::store_floats(s + jj * R + r, p0 * p_scale);
        sum_even = sum_even + p0;
      }
      const VC block_sum = sum_even + sum_odd;
      const VC old = VC::load_aligned(l + r);
      (grew ? old * VC::load_aligned(alpha + r) + block_sum : old + block_sum).store_aligned(l + r);
    }
    if (grew) {
      for (std::size_t r = 0; r < a.rows; ++r) {
        if (alpha[r] == C(1)) continue;
        const V f(static_cast<float>(alpha[r]));
        float* ar = a.acc + r * stride;
        for (std::size_t e = 0; e < stride; e += W) (V::load_unaligned(ar + e) * f).store_unaligned(ar + e);
      }
    }
    for (std::size_t r = 0; r < R; ++r) m[r] = m_new[r];

    // 4. acc += P V, tile by tile, over the block's slots the tile's rows see (a slot a row does not
    //    see has p = 0 there: leaving it out of the row's sum changes no bit)
    int v_state = -1;  // whether the block's V holds an inf or a NaN: not known yet (-1), no (0), yes (1)
    for (std::size_t r0 = 0; r0 < a.rows; r0 += RR) {
      std::size_t t0 = j0, t1 = nk;
      if (masked) {
        // The block's slots each row of the tile sees, [f, e), and the tile's (tile_keys)
        std::size_t f[RR], e[RR];
        const std::size_t n = a.rows - r0 < RR ? a.rows - r0 : RR;
        for (std::size_t rr = 0; rr < n; ++rr) {
          const block_keys_t k = block_keys<Arch>(a.first[r0 + rr], a.end[r0 + rr], jb, j0, nk);
          f[rr] = k.f, e[rr] = k.e;
        }
        const tile_keys_t k = tile_keys<Arch>(f, e, n, j0, nk);
        t0 = k.t0, t1 = k.t1;
        if (t0 >= t1) continue;
        const bool partial = a.hides || k.mixed();
        if (partial) {
          if (v_state < 0) v_state = any_nonfinite<Arch>(vb, ldv, j0, nk, a.value_dim) ? 1 : 0;  // (once per block)
          if (v_state == 1) {
            for (std::size_t rr = 0; rr < RR && r0 + rr < a.rows; ++rr) {
              const std::size_t r = r0 + rr;
              auto skip = [&](std::size_t jj) { return sdpa_hidden_by_modifiers(a, r, jb + jj); };
              if (f[rr] < e[rr]) value_row<Arch>(s + r, R, vb, ldv, f[rr], e[rr], a.value_dim, a.acc + r * stride, skip);
            }
            continue;
          }
        }
      }
      value_rows<Arch, RR, E>(s + t0 * R + r0, R, 1, vb + t0 * ldv, ldv, t1 - t0, a.value_dim, a.acc + r0 * stride,
                              stride, a.rows - r0);
    }
  }
  for (std::size_t r = 0; r < a.rows; ++r) {
    a.max[r] = m[r];
    a.sum[r] = static_cast<double>(l[r]);
  }
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
