// Contract (softmax_rows_f32, softmax_stats_f32, softmax_output_f32, exp_f32)
//   types:    float32 -> float32, rows x cols row-major; y may equal x (softmax_rows_f32, softmax_output_f32);
//             log selects log-softmax. softmax_stats_f32 returns softmax_stats {float max, double sum}
//   error:    each row's y: softmax within bounds::softmax_max_rel_error (1e-6) |ref| plus
//             bounds::softmax_abs_floor (2^-126) of float64, row sums within bounds::softmax_max_sum_error (1e-6)
//             of 1; log-softmax within bounds::log_softmax_max_error (1e-6) max(1, |y|). softmax_output_f32 meets
//             them given the row's stats (the driver merges softmax_stats_f32's chunks in order). exp_f32: no
//             constant in bounds.hpp; attnkern-ulp holds it to 1 ULP
//   range:    inputs of any magnitude, rows of any length (the driver picks softmax_rows_f32 below 2^22 columns,
//             softmax_stats_f32 then softmax_output_f32 from there); exp_f32: x <= 0
//   special:  -inf -> 0 (log: -inf); a row of only -inf -> zeros (log: -inf); a NaN or +inf in a row -> the row NaN.
//             softmax_stats_f32: sum NaN for a NaN, {-inf, 0} for only -inf; softmax_output_f32 takes neither
//             (the driver fills those rows). exp_f32: e^-0 = 1, NaN -> NaN, exactly 0 below ln FLT_MIN and for -inf
//
// softmax and log-softmax over rows, float32:
//   y[i] = e^(x[i] - m) / S,  log: y[i] = (x[i] - m) - log S,  m = max_i x[i],  S = sum_i e^(x[i] - m).
//
// Algorithms (kernels/drivers/softmax_driver.cpp picks by the row length only, so the result never
// depends on the thread count):
//   three passes (softmax_rows), rows of fewer than 4M columns: the row's max; its terms e^(x - m)
//     stored into y and summed; y times 1/S (log: the sum without storing, then (x - m) - log S).
//     While a row and its output stay in the last-level cache, the second and third passes are
//     cache hits and this is the fastest (measured with bench/bench_softmax.cpp; the crossover
//     table is in docs/performance.md, "softmax").
//   two passes (softmax_stats + softmax_output), rows of 4M columns and more: the row is cut into
//     fixed-size chunks; each chunk's (max, sum) comes from one pass over memory, in blocks of
//     `stats_block` elements that stay in L1 (block max, then the block's sum relative to it,
//     merged in double); the chunks' pairs merge in chunk order; then one pass writes y. It reads x
//     twice and computes e^x twice, and wins once rows no longer fit in cache.
// Numerics (every ISA path; ULP as everywhere in attnkern).
//   x - m is computed exactly as a float pair (TwoSum) and the low part is carried into e^x's
//   reduced argument: without it the rounding of x - m alone (up to 2^-18 for |x - m| near 64) would
//   cost several 1e-6 of relative error on the small outputs.
//   e^x: kernels/simd/exp_core.hpp, max 0.8913 ULP over every float in [ln FLT_MIN, 0] on avx2 and
//   avx512 (sse2, evaluated in double: 0.5385), checked exhaustively by tools/ulp.cpp --function exp.
//   S: each group of four vectors is added pairwise (2^-23 of the group), groups go into per-lane
//   Kahan sums (2^-23), the lanes are added in double: S carries at most 2^-22 (2.4e-7) relative
//   error beyond its terms' own (0.8913 ULP, 1.06e-7 relative); the chunks and blocks of long rows
//   merge in double.
//   Output: e^(x - m) (1.06e-7) times float(1/S) (6e-8, 1/S in double), rounded (6e-8), plus S's
//   error (1.06e-7 + 2.4e-7): below 5.7e-7 relative for every output that is a normal float. An
//   output below FLT_MIN (2^-126) has an absolute error below 2^-126: subnormal results cannot
//   carry relative precision, and e^(x - m) below FLT_MIN is flushed to 0. The documented bound,
//   in attnkern/bounds.hpp, is |y - ref| <= `softmax_max_rel_error` |ref| + `softmax_abs_floor` per
//   output, row sums within `softmax_max_sum_error` of 1; the derivation above stays below it.
//   Measured: below 1.6e-7 relative on the tests' random rows (docs/numerics.md).
//   log-softmax: (d_hi - L_hi) + (d_lo - L_lo) with d = x - m exact as a pair and L = log S in double
//   split in two floats: below 2 ulp(y) + 2^-23 |L|, so within the documented
//   `log_softmax_max_error` max(1, |y|).
// Special values: -inf entries give 0 (log: -inf); a row of only -inf gives zeros (log: -inf); a NaN
// or a +inf anywhere in a row makes the whole row NaN; inputs of any magnitude (+-3.4e38) are safe.
#pragma once

#include "simd/isa_namespace.hpp"

#include "simd/exp_core.hpp"
#include "isa/softmax/softmax_stats.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

namespace attnkern {
namespace kernels {
inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)


// Elements per block of softmax_stats: the block is read from memory once for its max, then again
// from L1 for its sum.
constexpr std::size_t stats_block = 2048;

namespace softmax_detail {

// Independent accumulators per reduction: a sum's loop-carried chain (three dependent adds for
// Kahan) would otherwise bound the loop at one vector per chain latency.
constexpr int slots = 4;

template <int S>
using slot_t = std::integral_constant<int, S>;

// Calls f(v, slot, i) for every vector v = x[i, i + W) of x[0, n): groups of `slots` vectors go to
// slots 0, 1, 2, 3 in order, the vectors after the last group to slot -1 (slot is a compile-time
// constant, so per-slot values stay in registers); the tail is padded with -inf, which changes no
// max and adds e^-inf = 0 to a sum. f returns the vector to store at y (when y is not null). Which
// vector goes to which slot depends only on n.
template <class V, class F>
ATTNKERN_INLINE void for_each_vector(const float* x, float* y, std::size_t n, F&& f) noexcept {
  static_assert(slots == 4, "the unrolled group below has four slots");
  constexpr std::size_t W = V::size;
  auto step = [&](std::size_t at, auto slot) {
    const V result = f(simd::load_floats<V>(x + at), slot, at);
    if (y) simd::store_floats(y + at, result);
  };
  std::size_t i = 0;
  for (; i + slots * W <= n; i += slots * W) {
    step(i, slot_t<0>{});
    step(i + W, slot_t<1>{});
    step(i + 2 * W, slot_t<2>{});
    step(i + 3 * W, slot_t<3>{});
  }
  for (; i + W <= n; i += W) step(i, slot_t<-1>{});
  if (i < n) {
    const V result = f(simd::load_floats_partial<V>(x + i, n - i, -INFINITY), slot_t<-1>{}, i);
    if (y) simd::store_floats_partial(y + i, n - i, result);
  }
}

// A max and a NaN flag over vectors, with per-slot maxima (see for_each_vector).
template <class V>
struct max_lanes_acc {
  V m[slots];
  decltype(xsimd::isnan(V())) nan_seen = xsimd::isnan(V(typename V::value_type(0)));  // all false
  max_lanes_acc() noexcept {
    for (auto& v : m) v = V(-std::numeric_limits<typename V::value_type>::infinity());
  }
  template <class Slot>
  ATTNKERN_INLINE void add(const V& v, Slot slot) noexcept {
    constexpr int s = slot() < 0 ? 0 : slot();
    m[s] = xsimd::max(m[s], v);
    // (not v != v: xsimd 8.1's != is an ordered comparison on AVX, false for NaN, but not on SSE2)
    nan_seen = nan_seen || xsimd::isnan(v);
  }
  float result(bool& has_nan) const noexcept {
    has_nan = xsimd::any(nan_seen);
    return static_cast<float>(simd::max_lanes(xsimd::max(xsimd::max(m[0], m[1]), xsimd::max(m[2], m[3]))));
  }
};

// The max of x[0, n) (-inf for n = 0), and whether any element is NaN.
template <class V>
ATTNKERN_INLINE float row_max(const float* x, std::size_t n, bool& has_nan) noexcept {
  max_lanes_acc<V> acc;
  for_each_vector<V>(x, nullptr, n, [&](const V& v, auto slot, std::size_t) {
    acc.add(v, slot);
    return v;
  });
  return acc.result(has_nan);
}

// y[0, n) *= factor while taking the max of next[0, n), in one loop: the scaling of one row (from
// cache) overlaps the first pass of the next (from memory). The max is the same as row_max's.
template <class V>
ATTNKERN_INLINE float scale_and_next_max(float* y, std::size_t n, float factor, const float* next, bool& has_nan) noexcept {
  const V f(static_cast<typename V::value_type>(factor));
  max_lanes_acc<V> acc;
  for_each_vector<V>(y, y, n, [&](const V& e, auto slot, std::size_t i) {
    acc.add(i + V::size <= n ? simd::load_floats<V>(next + i) : simd::load_floats_partial<V>(next + i, n - i, -INFINITY), slot);
    return e * f;
  });
  return acc.result(has_nan);
}

// x - m as hi + lo exactly (TwoSum). lo is NaN where hi is infinite; e^x and the log output
// handle those lanes without it.
template <class V>
ATTNKERN_INLINE V difference_low_part(const V& x, const V& m, const V& hi) noexcept {
  const V minus_m = -m;
  const V m_part = hi - x;
  return (x - (hi - m_part)) + (minus_m - m_part);
}

// e^(x - m) with x - m carried exactly (its rounding error goes into the reduced argument).
template <class V>
ATTNKERN_INLINE V exp_of_difference(const V& x, const V& m) noexcept {
  const V d = x - m;
  return simd::exp_nonpositive<true>(d, difference_low_part(x, m, d));
}

// Per-lane Kahan sums.
template <class V>
struct kahan_lanes {
  // (Parentheses: braces would pick xsimd's initializer-list constructor and read past one value.)
  V sum = V(typename V::value_type(0)), compensation = V(typename V::value_type(0));
  ATTNKERN_INLINE void add(const V& v) noexcept {
    const V y = v - compensation;
    const V t = sum + y;
    compensation = (t - sum) - y;
    sum = t;
  }
};

// Sum of e^(x - m) over x[0, n); stores each term at y when y is not null. Each group of four
// vectors is added pairwise (two roundings, at most 2^-23 of the group) and the groups and single
// vectors go into per-lane Kahan sums; the lanes are added in double: the relative error of the sum
// is below 2^-22 for any length, beyond its terms' own errors.
template <class V>
ATTNKERN_INLINE double exp_sum(const float* x, float* y, std::size_t n, float m) noexcept {
  using T = typename V::value_type;
  const V mv(static_cast<T>(m));
  kahan_lanes<V> acc;
  V group[3];
  for_each_vector<V>(x, y, n, [&](const V& v, auto slot, std::size_t) {
    const V e = exp_of_difference(v, mv);
    if constexpr (slot() < 0) {
      acc.add(e);
    } else if constexpr (slot() < 3) {
      group[slot()] = e;
    } else {
      acc.add((group[0] + group[1]) + (group[2] + e));
    }
    return e;
  });
  return simd::sum_lanes(acc.sum - acc.compensation);
}

// (Templated on V, like everything here, so that each ISA's translation unit has its own copy:
// std::fill<float*, float> would be one instantiation shared by all of them.)
template <class V>
void fill(float* y, std::size_t n, float value) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = value;
}

}  // namespace softmax_detail

// y = e^x for x <= 0, elementwise (the accuracy tool's view of the exp building block).
template <class Arch>
void exp_f32(const float* x, float* y, std::size_t n) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  softmax_detail::for_each_vector<V>(x, y, n, [](const V& v, auto, std::size_t) { return simd::exp_nonpositive<false>(v, v); });
}

// The output pass: y = e^(x - stats.max) / stats.sum (log: (x - max) - log sum), for stats that are
// neither NaN nor of an all -inf row (the driver fills those rows itself).
template <class Arch>
void softmax_output_f32(const float* x, float* y, std::size_t n, softmax_stats stats, bool log) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  using T = typename V::value_type;
  const V mv(static_cast<T>(stats.max));
  if (!log) {
    const V inv(static_cast<T>(static_cast<float>(1.0 / stats.sum)));
    softmax_detail::for_each_vector<V>(x, y, n, [&](const V& v, auto, std::size_t) {
      return softmax_detail::exp_of_difference(v, mv) * inv;
    });
  } else {
    const double l = std::log(stats.sum);
    const V l_hi(static_cast<T>(static_cast<float>(l)));
    const V l_lo(static_cast<T>(static_cast<float>(l - static_cast<float>(l))));
    const V minus_inf(-std::numeric_limits<T>::infinity());
    softmax_detail::for_each_vector<V>(x, y, n, [&](const V& v, auto, std::size_t) {
      const V d = v - mv;
      const V out = (d - l_hi) + (softmax_detail::difference_low_part(v, mv, d) - l_lo);
      return xsimd::select(d == minus_inf, minus_inf, out);
    });
  }
}

// The max and the sum of e^(x - max) of x[0, n), in blocks of stats_block.
template <class Arch>
softmax_stats softmax_stats_f32(const float* x, std::size_t n) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  softmax_stats total{-INFINITY, 0.0};
  for (std::size_t begin = 0; begin < n; begin += stats_block) {
    const std::size_t len = n - begin < stats_block ? n - begin : stats_block;
    bool has_nan = false;
    const float m = softmax_detail::row_max<V>(x + begin, len, has_nan);
    if (has_nan) return {std::numeric_limits<float>::quiet_NaN(), NAN};
    if (m == -INFINITY) continue;
    total = merge_stats(total, {m, softmax_detail::exp_sum<V>(x + begin, nullptr, len, m)});
  }
  return total;
}

// Rows that fit in cache, each in three passes: its max, its terms e^(x - m) (stored into y) and
// their sum, then y times 1/sum (log: the sum, then (x - m) - log sum). The third pass of a row
// and the first pass of the next share one loop. rows x cols, row-major; y may equal x.
template <class Arch>
void softmax_rows_f32(const float* x, float* y, std::size_t rows, std::size_t cols, bool log) noexcept {
  using V = xsimd::batch<simd::compute_t<Arch>, Arch>;
  if (rows == 0) return;
  bool has_nan = false;
  float m = softmax_detail::row_max<V>(x, cols, has_nan);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float* next = r + 1 < rows ? xr + cols : nullptr;
    bool next_nan = false;
    float next_max = -INFINITY;
    float constant = 0;
    if (constant_row(has_nan, m, log, constant)) {
      softmax_detail::fill<V>(yr, cols, constant);
      if (next) next_max = softmax_detail::row_max<V>(next, cols, next_nan);
    } else if (!log) {
      const double sum = softmax_detail::exp_sum<V>(xr, yr, cols, m);  // the terms go to y
      const float inv = static_cast<float>(1.0 / sum);
      if (next) {
        next_max = softmax_detail::scale_and_next_max<V>(yr, cols, inv, next, next_nan);
      } else {
        const V f(static_cast<typename V::value_type>(inv));
        softmax_detail::for_each_vector<V>(yr, yr, cols, [&](const V& e, auto, std::size_t) { return e * f; });
      }
    } else {
      const double sum = softmax_detail::exp_sum<V>(xr, nullptr, cols, m);
      softmax_output_f32<Arch>(xr, yr, cols, softmax_stats{m, sum}, true);
      if (next) next_max = softmax_detail::row_max<V>(next, cols, next_nan);
    }
    m = next_max;
    has_nan = next_nan;
  }
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
