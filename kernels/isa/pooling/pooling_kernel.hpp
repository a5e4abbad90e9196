// Contract (attention_pool_chunk_f32, additive_attention_chunk_f32): one chunk of `count` steps of one sequence
//   types:    h, bias (or null), keys, query, values: float32; w, v: double (w zero-padded to a multiple of 8,
//             v of 16). Returns attention_partial {float max m, double sum of e^(s - m)}; overwrites out.acc
//             (double, sum_t e^(s_t - m) attention_p_scale x[t,:]); when out.p is set, p per step and m per block
//   error:    the chunk's terms are derived below; after the driver's merge (chunk order), the call's outputs are
//             within bounds::attention_pool_max_error (1e-5) (weights relative, context times max|h|), or
//             bounds::additive_attention_max_error(||v||_1) (times max|values|), each plus
//             bounds::attention_abs_floor (2^-126); max|x| over the positions read
//   range:    finite inputs of any magnitude, no overflow (scores in double, block sums bounded by max|x|); count up to
//             attention_chunk (256) per call from the driver, sequences up to 2^24 steps
//   special:  a NaN among the positions read makes that sequence's context and weights NaN; infinities in x give
//             infinite (or NaN) contexts, as IEEE arithmetic does in the reference; count = 0: {-inf, 0}, acc zeros
//             (the call: a length of 0 gives a context of zeros, and padding is never read)
//
// The fused attention kernels, one chunk of one sequence at a time (the driver,
// kernels/drivers/pooling_driver.cpp, splits sequences into chunks and merges them):
//   attention_pool:      s[t] = tanh(dot(h[t,:], w) + bias[t]),          x = h
//   additive_attention:  s[t] = dot(v, tanh(keys[t,:] + query)),          x = values
//   then alpha = softmax_t(s) and context = sum_t alpha[t] x[t,:].
//
// One pass over the sequence, in blocks of attention_block (16) steps:
//   1. the block's scores, in double (pool: the dot product of each row of h, read from memory;
//      additive: tanh of keys + query, vectorized over attn_dim, then the dot with v);
//   2. an online max m (updated per block: when a block's max exceeds it, the running sum and
//      accumulator are multiplied by e^(m_old - m_new), which happens a few times per sequence),
//      then p = e^(s - m) for the block's 16 scores at once (exp_nonpositive, with s - m carried
//      exactly as a float pair);
//   3. the block's rows of x (pool: the rows just read, now in L1) summed with weights
//      p * 2^-5 in float, one fmadd per element, then added to a double accumulator.
// tanh bounds the pooling scores to [-1, 1], so m there settles within the first blocks and the
// rescaling is rare (pooling could do without a max; the online max costs little and keeps the
// largest p at 1, which the absolute floor of the bound below relies on). The steps' p and each
// block's m are written out when weights are wanted, and the driver turns them into
// alpha = p e^(m_block - M) / S once the sequence's max M and sum S are known.
//
// Error bound (ULP as everywhere in attnkern; u = 2^-24; every path, sequences of up to 2^24 steps).
//   Scores. Pool: the dot product is taken in double from exact products of floats (error
//   below F 2^-53 sum|h w|, negligible next to the float roundings below while sum|h w| < 2^20),
//   plus bias, rounded once to float (relative u), then tanh (0.9377 ULP, kernels/tanh): since
//   x tanh'(x) <= tanh(x), the argument's rounding moves tanh by at most u |tanh|, so
//   |s - s_ref| <= (2 * 0.9377 + 1) u |s| <= 1.72e-7 (|s| <= 1). Additive: each keys + query is
//   rounded once to float and tanh'd as above, each term within 1.44 2^-23 |tanh| of its exact
//   value; the dot with v is taken in double: |s - s_ref| <= 1.72e-7 ||v||_1.
//   p = e^(s - m): s - m is exact as a float pair (s is a double, m a float), so p carries the exp's
//   0.8913 ULP (1.07e-7 relative) and e^(delta s). S, the sums of p: in double, negligible error.
//   Weights, alpha = p * float(e^(m_block - M) / S), two roundings (1.2e-7):
//     relative error <= 2 (ds + 1.07e-7) + 1.2e-7, ds the score bound above:
//     pool 6.8e-7; additive 3.4e-7 + 3.44e-7 ||v||_1.
//   Context: the block sums in float, 16 fmadds (2 roundings each on SSE2, no FMA) err by at most
//   16 u (SSE2: 32 u) of sum_block p |x|: 1.9e-6 at most; the double accumulation, the rescaling
//   and the chunk merges add nothing that matters; the final division and rounding 6e-8. With p's
//   errors as for the weights, the context is within
//     pool (1.9e-6 + 6.8e-7 + 6e-8) max|h| = 2.7e-6 max|h|,
//     additive (2.4e-6 + 3.44e-7 ||v||_1) max|values|
//   of the float64 reference, max over the positions read.
//   The documented bounds, in attnkern/bounds.hpp, lie above these: `attention_pool_max_error`
//   (weights relative, context times max|h|) and `additive_attention_max_error(||v||_1)`, which is
//   `additive_attention_base_error` up to ||v||_1 = 20 and `additive_attention_error_per_v` ||v||_1
//   above that, where no float32 evaluation does much better: tanh rounded to float, even
//   correctly, moves the score by up to 2^-24 ||v||_1. Near the bottom of the float range the
//   relative bounds get the absolute floor `attention_abs_floor` (weights below FLT_MIN, products
//   p x that are subnormal), as softmax gets `softmax_abs_floor`. Measured errors:
//   docs/numerics.md.
// Special values: a NaN among the positions read makes that sequence's context and weights NaN;
// infinities in x give infinite (or NaN) contexts as IEEE arithmetic does in the reference; large
// finite inputs cannot overflow (scores in double, block sums bounded by max|x|).
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd/exp_core.hpp"
#include "simd/tanh_core.hpp"
#include "isa/pooling/pooling_partial.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <type_traits>

namespace attnkern {
namespace kernels {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)

namespace attention_detail {

// acc[0, W) += a (W = Vf::size), in double.
template <class Vf>
ATTNKERN_INLINE void add_to_doubles(double* acc, const Vf& a) noexcept {
  using Vd = xsimd::batch<double, typename Vf::arch_type>;
  Vd low, high;
  simd::split_to_doubles(a, low, high);
  (Vd::load_unaligned(acc) + low).store_unaligned(acc);
  (Vd::load_unaligned(acc + Vd::size) + high).store_unaligned(acc + Vd::size);
}

// acc[0, features) += sum_t p[t] x[t, :] over t < count (x: rows of `features` floats, in L1 by now).
// The block is summed in float per feature, four vectors of features at a time (independent chains),
// then added to acc in double. acc holds at least `features` rounded up to Vf::size entries.
template <class Arch>
ATTNKERN_INLINE void accumulate_rows(const float* x, std::size_t features, const float* p, std::size_t count,
                                     double* acc) noexcept {
  using Vf = xsimd::batch<float, Arch>;
  constexpr std::size_t W = Vf::size;
  std::size_t j = 0;
  for (; j + 4 * W <= features; j += 4 * W) {
    Vf a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    for (std::size_t t = 0; t < count; ++t) {
      const Vf pt(p[t]);
      const float* r = x + t * features + j;
      a0 = simd::fmadd(pt, Vf::load_unaligned(r), a0);
      a1 = simd::fmadd(pt, Vf::load_unaligned(r + W), a1);
      a2 = simd::fmadd(pt, Vf::load_unaligned(r + 2 * W), a2);
      a3 = simd::fmadd(pt, Vf::load_unaligned(r + 3 * W), a3);
    }
    add_to_doubles(acc + j, a0);
    add_to_doubles(acc + j + W, a1);
    add_to_doubles(acc + j + 2 * W, a2);
    add_to_doubles(acc + j + 3 * W, a3);
  }
  for (; j + W <= features; j += W) {
    Vf a(0.0f);
    for (std::size_t t = 0; t < count; ++t) a = simd::fmadd(Vf(p[t]), Vf::load_unaligned(x + t * features + j), a);
    add_to_doubles(acc + j, a);
  }
  if (j < features) {
    Vf a(0.0f);
    for (std::size_t t = 0; t < count; ++t)
      a = simd::fmadd(Vf(p[t]), simd::load_floats_partial<Vf>(x + t * features + j, features - j, 0.0f), a);
    add_to_doubles(acc + j, a);
  }
}

// e[t] = float(dot(h[t, :], w) + bias[t]) for t < count: the dot product in double (exact products,
// double sums), rounded once. w is padded with zeros to a multiple of the double batch size. Four
// rows at a time share the loads of w.
template <class Arch>
ATTNKERN_INLINE void pool_dots(const float* h, const double* w, const float* bias, std::size_t count,
                               std::size_t features, float* e) noexcept {
  using Vd = xsimd::batch<double, Arch>;
  constexpr std::size_t D = Vd::size;
  auto finish = [&](std::size_t t, const Vd& a) {
    e[t] = static_cast<float>(simd::sum_lanes(a) + (bias ? static_cast<double>(bias[t]) : 0.0));
  };
  std::size_t t = 0;
  for (; t + 4 <= count; t += 4) {
    const float* r = h + t * features;
    Vd a0(0.0), a1(0.0), a2(0.0), a3(0.0), b0(0.0), b1(0.0), b2(0.0), b3(0.0);
    std::size_t j = 0;
    for (; j + 2 * D <= features; j += 2 * D) {
      const Vd w0 = Vd::load_unaligned(w + j), w1 = Vd::load_unaligned(w + j + D);
      a0 = simd::fmadd(simd::load_floats<Vd>(r + j), w0, a0);
      b0 = simd::fmadd(simd::load_floats<Vd>(r + j + D), w1, b0);
      a1 = simd::fmadd(simd::load_floats<Vd>(r + features + j), w0, a1);
      b1 = simd::fmadd(simd::load_floats<Vd>(r + features + j + D), w1, b1);
      a2 = simd::fmadd(simd::load_floats<Vd>(r + 2 * features + j), w0, a2);
      b2 = simd::fmadd(simd::load_floats<Vd>(r + 2 * features + j + D), w1, b2);
      a3 = simd::fmadd(simd::load_floats<Vd>(r + 3 * features + j), w0, a3);
      b3 = simd::fmadd(simd::load_floats<Vd>(r + 3 * features + j + D), w1, b3);
    }
    for (; j < features; j += D) {
      const Vd w0 = Vd::load_unaligned(w + j);
      const std::size_t rest = features - j;
      auto row = [&](std::size_t k) {
        return rest >= D ? simd::load_floats<Vd>(r + k * features + j)
                         : simd::load_floats_partial<Vd>(r + k * features + j, rest, 0.0f);
      };
      a0 = simd::fmadd(row(0), w0, a0);
      a1 = simd::fmadd(row(1), w0, a1);
      a2 = simd::fmadd(row(2), w0, a2);
      a3 = simd::fmadd(row(3), w0, a3);
    }
    finish(t, a0 + b0);
    finish(t + 1, a1 + b1);
    finish(t + 2, a2 + b2);
    finish(t + 3, a3 + b3);
  }
  for (; t < count; ++t) {
    const float* r = h + t * features;
    Vd a0(0.0), a1(0.0);
    std::size_t j = 0;
    for (; j + 2 * D <= features; j += 2 * D) {
      a0 = simd::fmadd(simd::load_floats<Vd>(r + j), Vd::load_unaligned(w + j), a0);
      a1 = simd::fmadd(simd::load_floats<Vd>(r + j + D), Vd::load_unaligned(w + j + D), a1);
    }
    for (; j < features; j += D) {
      const std::size_t rest = features - j;
      a0 = simd::fmadd(rest >= D ? simd::load_floats<Vd>(r + j) : simd::load_floats_partial<Vd>(r + j, rest, 0.0f),
                       Vd::load_unaligned(w + j), a0);
    }
    finish(t, a0 + a1);
  }
}

// a += th * v[0, W) (and b for the upper half when th is a float batch, split into two doubles).
template <class V, class Vd>
ATTNKERN_INLINE void dot_step(const V& th, const double* v, Vd& a, Vd& b) noexcept {
  if constexpr (std::is_same<typename V::value_type, float>::value) {
    Vd low, high;
    simd::split_to_doubles(th, low, high);
    a = simd::fmadd(low, Vd::load_unaligned(v), a);
    b = simd::fmadd(high, Vd::load_unaligned(v + Vd::size), b);
  } else {
    a = simd::fmadd(th, Vd::load_unaligned(v), a);
  }
}

// Additive scores s[t] = dot(v, tanh(keys[t, :] + query)) for t < count: tanh in the compute type
// (float with FMA, double on SSE2), the dot in double; v is padded with zeros to a multiple of the
// float batch size (the tail's keys and query are loaded as 0, and tanh(0) = 0).
template <class Arch>
ATTNKERN_INLINE void additive_scores(const float* keys, const float* query, const double* v, std::size_t count,
                                     std::size_t attn_dim, double* s) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  using Vd = xsimd::batch<double, Arch>;
  constexpr std::size_t W = V::size;
  for (std::size_t t = 0; t < count; ++t) {
    const float* k = keys + t * attn_dim;
    Vd a0(0.0), a1(0.0), a2(0.0), a3(0.0);
    std::size_t j = 0;
    for (; j + 2 * W <= attn_dim; j += 2 * W) {
      const V th0 = simd::tanh(simd::load_floats<V>(k + j) + simd::load_floats<V>(query + j));
      const V th1 = simd::tanh(simd::load_floats<V>(k + j + W) + simd::load_floats<V>(query + j + W));
      dot_step(th0, v + j, a0, a1);
      dot_step(th1, v + j + W, a2, a3);
    }
    if (j + W <= attn_dim) {
      dot_step(simd::tanh(simd::load_floats<V>(k + j) + simd::load_floats<V>(query + j)), v + j, a0, a1);
      j += W;
    }
    if (j < attn_dim) {
      const std::size_t rest = attn_dim - j;
      const V x = simd::load_floats_partial<V>(k + j, rest, 0.0f) + simd::load_floats_partial<V>(query + j, rest, 0.0f);
      dot_step(simd::tanh(x), v + j, a2, a3);
    }
    s[t] = simd::sum_lanes((a0 + a1) + (a2 + a3));
  }
}

// One chunk of `count` steps: scores(t0, n, s) fills the double scores of steps [t0, t0 + n); x holds
// the rows to average (count x features). Returns the chunk's (max, sum); writes its accumulator,
// and p and the block maxima when out asks for them.
template <class Arch, class Scores>
ATTNKERN_INLINE attention_partial attend_chunk(Scores&& scores, const float* x, std::size_t count, std::size_t features,
                                               const attention_outputs& out) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  using Vd = xsimd::batch<double, Arch>;
  constexpr std::size_t S = attention_block;
  static_assert(S % V::size == 0 && S % Vd::size == 0, "a block holds whole batches of scores");
  const std::size_t padded = (features + xsimd::batch<float, Arch>::size - 1) / xsimd::batch<float, Arch>::size *
                             xsimd::batch<float, Arch>::size;
  for (std::size_t f = 0; f < padded; ++f) out.acc[f] = 0.0;
  attention_partial total{-INFINITY, 0.0};
  alignas(64) double s[S];
  alignas(64) float d_hi[S], d_lo[S], p[S], p_scaled[S];
  for (std::size_t t0 = 0; t0 < count; t0 += S) {
    const std::size_t n = count - t0 < S ? count - t0 : S;
    scores(t0, n, s);
    for (std::size_t i = n; i < S; ++i) s[i] = -INFINITY;  // padding: e^-inf = 0 below
    // The block's max (x86's max passes NaN scores over here; their p is NaN below).
    Vd block_max(-INFINITY);
    for (std::size_t i = 0; i < S; i += Vd::size) block_max = xsimd::max(Vd::load_aligned(s + i), block_max);
    const float m_block = static_cast<float>(simd::max_lanes(block_max));
    if (m_block > total.max) {  // rescale what has been summed so far (nothing in the first block)
      if (total.sum != 0.0) {
        const double factor = std::exp(static_cast<double>(total.max) - static_cast<double>(m_block));
        total.sum *= factor;
        for (std::size_t f = 0; f < padded; ++f) out.acc[f] *= factor;
      }
      total.max = m_block;
    }
    // s - m as a float pair: hi + lo = s - m to within 2^-48 relative.
    // (for -inf padding lo is NaN, which exp_nonpositive ignores: it returns 0 below its domain)
    const double m = total.max;
    for (std::size_t i = 0; i < S; ++i) {
      const double d = s[i] - m;
      d_hi[i] = static_cast<float>(d);
      d_lo[i] = static_cast<float>(d - static_cast<double>(d_hi[i]));
    }
    using T = typename V::value_type;
    double block_sum = 0.0;
    for (std::size_t i = 0; i < S; i += V::size) {
      const V e = simd::exp_nonpositive<true>(simd::load_floats<V>(d_hi + i), simd::load_floats<V>(d_lo + i));
      simd::store_floats(p + i, e);
      simd::store_floats(p_scaled + i, e * V(static_cast<T>(attention_p_scale)));
      block_sum += simd::sum_lanes(e);
    }
    total.sum += block_sum;
    if (out.p) {
      std::memcpy(out.p + t0, p, n * sizeof(float));
      out.block_max[t0 / S] = total.max;
    }
    accumulate_rows<Arch>(x + t0 * features, features, p_scaled, n, out.acc);
  }
  return total;
}

}  // namespace attention_detail

// attention_pool over steps [0, count) of one sequence: h is count x features, bias count floats or
// null, w `features` doubles padded with zeros to a multiple of 8.
template <class Arch>
attention_partial attention_pool_chunk_f32(const float* h, const double* w, const float* bias, std::size_t count,
                                           std::size_t features, const attention_outputs& out) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  return attention_detail::attend_chunk<Arch>(
      [&](std::size_t t0, std::size_t n, double* s) {
        // tanh of the rounded sums, a batch at a time (the tail of the block is padded with zeros).
        alignas(64) float e[attention_block] = {};
        attention_detail::pool_dots<Arch>(h + t0 * features, w, bias ? bias + t0 : nullptr, n, features, e);
        for (std::size_t i = 0; i < attention_block; i += V::size)
          simd::store_floats(e + i, simd::tanh(simd::load_floats<V>(e + i)));
        for (std::size_t i = 0; i < attention_block; ++i) s[i] = e[i];
      },
      h, count, features, out);
}

// additive_attention over steps [0, count) of one sequence: keys count x attn_dim, query attn_dim
// floats, v attn_dim doubles padded with zeros to a multiple of 16, values count x features.
template <class Arch>
attention_partial additive_attention_chunk_f32(const float* keys, const float* query, const double* v,
                                               const float* values, std::size_t count, std::size_t attn_dim,
                                               std::size_t features, const attention_outputs& out) noexcept {
  return attention_detail::attend_chunk<Arch>(
      [&](std::size_t t0, std::size_t n, double* s) {
        attention_detail::additive_scores<Arch>(keys + t0 * attn_dim, query, v, n, attn_dim, s);
      },
      values, count, features, out);
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
