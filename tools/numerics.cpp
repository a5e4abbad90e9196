// attnkern-numerics: a fingerprint of the library's numerics, and a comparison of two.
//
//   attnkern-numerics record [--out FILE.json]      (default: stdout)
//   attnkern-numerics compare A.json B.json
//
// record runs every kernel through the C API on a fixed, seeded set of inputs (a generator of its
// own, so that every compiler and standard library draws the same numbers) on every ISA path this
// CPU has, hard cases included, and writes per kernel and path: the max and mean error against the
// float64 reference (ULP for tanh; absolute for a log-sum-exp; for the rest relative: to |ref| for
// weights and probabilities, to max|x| of the values averaged for contexts and attention outputs),
// the worst error as a fraction of the documented bound (include/attnkern/bounds.hpp), and a 64-bit
// FNV-1a hash of the exact output bits; and the build (version, compiler, flags, the dispatched ISA).
// The kernels: tanh, softmax, log_softmax, attention_pool, additive_attention, sdpa (attnkern_sdpa_f32),
// then attnkern_attention, a row per element type, head grouping, mask, modifier, the lse, decoding
// and speculative decoding (attention_*, see attention_rows), and attnkern_attention_merge
// (attention_merge, attention_merge_lse).
//
// compare prints a table per kernel and path: identical (same bits), changed within the documented
// bound, or worse than the bound, with the error statistics as A -> B. Exit status: 0 when
// everything B has is identical, 1 when something changed within its bound, 2 when something is
// worse than its bound; 3 on bad input. A path only one file has (a CPU without AVX-512, say) is
// listed and does not count. The table's columns are as wide as their longest cell.
//
// A usage error names the argument at fault and exits 3; --help prints the usage on stdout, exit 0.
#include <attnkern/attnkern.h>
#include <attnkern/attnkern.hpp>
#include <attnkern/reference.hpp>

#include <attnkern/bounds.hpp>
#include "build_info.hpp"
#include "json.hpp"
#include "ulp.hpp"

#include <algorithm>
#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef ATTNKERN_TOOLS_BUILD
#define ATTNKERN_TOOLS_BUILD "unknown"
#endif

namespace {

using namespace attnkern::bounds;

// ---- inputs -------------------------------------------------------------------------------------

// SplitMix64: the same numbers everywhere.
class generator {
 public:
  explicit generator(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // uniform in [lo, hi), rounded to float once
  float uniform(double lo, double hi) { return static_cast<float>(lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1p-53); }
  std::vector<float> uniform(std::size_t n, double lo, double hi) {
    std::vector<float> v(n);
    for (float& x : v) x = uniform(lo, hi);
    return v;
  }

 private:
  uint64_t state_;
};

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// ---- statistics ---------------------------------------------------------------------------------

struct stats {
  double max_error = 0, sum_error = 0, worst_of_bound = 0;
  std::size_t values = 0;
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64 over the output bits

  void add(double error, double bound) {
    if (std::isnan(error)) error = INFINITY;  // a NaN where the reference has a number
    max_error = std::max(max_error, error);
    sum_error += std::isfinite(error) ? error : 0;
    worst_of_bound = std::max(worst_of_bound, error / bound);
    ++values;
  }
  void hash_bits(const float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, &y[i], sizeof u);
      for (int byte = 0; byte < 4; ++byte) {
        hash ^= (u >> (8 * byte)) & 0xff;
        hash *= 0x100000001b3ull;
      }
    }
  }
};

// |y - ref| over scale, 0 when both are the same non-finite value (a masked -inf, a NaN row).
double error_over(float y, double ref, double scale) {
  if (std::isnan(ref)) return std::isnan(y) ? 0.0 : INFINITY;
  if (std::isinf(ref)) return static_cast<double>(y) == ref ? 0.0 : INFINITY;
  return std::fabs(static_cast<double>(y) - ref) / scale;
}

// Probabilities and weights: relative to |ref|, with the documented absolute floor.
double relative_error(float y, double ref, double bound, double floor) { return error_over(y, ref, std::fabs(ref) + floor / bound); }

// ---- the kernels' cases ---------------------------------------------------------------------------

struct kernel_case {
  std::string kernel, unit;
  std::function<void(stats&)> run;  // on the selected path
};

void tanh_case(stats& st) {
  generator g(1);
  std::vector<float> x = g.uniform((std::size_t(1) << 16) + 37, -10, 10);
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-45f, FLT_MIN, FLT_MAX, -FLT_MAX,
                            0x1.205968p+3f, 0x1.205966p+3f, 1.0f, 0x1.fffffep-1f, 0x1.000002p+0f, 1e-8f, 0.5f, -3.0f};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  std::vector<float> y(x.size());
  attnkern_tanh_f32(x.data(), y.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) st.add(attnkern_tools::ulp_error(y[i], std::tanh(static_cast<double>(x[i]))), tanh_max_ulp);
  st.hash_bits(y.data(), y.size());
}

// softmax's rows: random, all in [90, 100], -inf masks (and a row of only -inf), one long row, rows
// of 1 and 3.
struct rows_case {
  std::size_t rows, cols;
  std::vector<float> x;
};
std::vector<rows_case> softmax_rows() {
  generator g(2);
  std::vector<rows_case> cases{{7, 1000, g.uniform(7000, -10, 10)},
                               {5, 257, g.uniform(5 * 257, 90, 100)},
                               {4, 61, g.uniform(4 * 61, -5, 5)},
                               {1, 1000003, g.uniform(1000003, -20, 20)},
                               {3, 1, g.uniform(3, -1, 1)},
                               {2, 3, g.uniform(6, -30, 30)}};
  for (std::size_t i = 0; i < 4 * 61; ++i)
    if (i % 3 == 0 || i / 61 == 3) cases[2].x[i] = -INFINITY;
  return cases;
}

void softmax_case(stats& st, bool log) {
  for (const rows_case& c : softmax_rows()) {
    std::vector<float> y(c.x.size());
    std::vector<double> ref(c.x.size());
    const std::vector<double> xd = widen(c.x);
    if (log) {
      attnkern_log_softmax_f32(c.x.data(), y.data(), c.rows, c.cols);
      attnkern::reference::log_softmax(xd.data(), ref.data(), c.rows, c.cols);
      for (std::size_t i = 0; i < y.size(); ++i)
        st.add(error_over(y[i], ref[i], std::max(1.0, std::fabs(ref[i]))), log_softmax_max_error);
    } else {
      attnkern_softmax_f32(c.x.data(), y.data(), c.rows, c.cols);
      attnkern::reference::softmax(xd.data(), ref.data(), c.rows, c.cols);
      for (std::size_t i = 0; i < y.size(); ++i)
        st.add(relative_error(y[i], ref[i], softmax_max_rel_error, softmax_abs_floor), softmax_max_rel_error);
    }
    st.hash_bits(y.data(), y.size());
  }
}

// A context row against its reference, relative to max|x| over the positions read.
void add_context(stats& st, const float* y, const double* ref, std::size_t n, double max_x, double bound) {
  for (std::size_t f = 0; f < n; ++f) st.add(error_over(y[f], ref[f], std::max(max_x, attention_abs_floor / bound)), bound);
}

double max_abs(const float* x, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(x[i])));
  return m;
}

struct sequence_case {
  std::size_t batch, steps, features, attn_dim;
  std::vector<int32_t> lengths;  // empty: all steps
  double lo, hi;                 // the sequence's values
  bool integers;                 // h rounded down to integers (every pooling score saturates)
};

void attention_case(stats& st, bool additive) {
  const std::vector<sequence_case> cases =
      additive ? std::vector<sequence_case>{{4, 33, 23, 19, {33, 0, 5, 17}, -1, 1, false}, {1, 5000, 8, 8, {}, -2, 2, false}}
               : std::vector<sequence_case>{{5, 61, 37, 0, {61, 0, 1, 30, 61}, -1, 1, false},
                                            {2, 40, 16, 0, {}, 0, 5, true},
                                            {1, 10000, 8, 0, {}, -3, 3, false}};
  generator g(additive ? 4 : 3);
  for (const sequence_case& c : cases) {
    const std::size_t a = c.attn_dim;
    std::vector<float> x = g.uniform(c.batch * c.steps * (additive ? a : c.features), c.lo, c.hi);
    if (c.integers)
      for (float& e : x) e = std::floor(e);
    const std::vector<float> values = additive ? g.uniform(c.batch * c.steps * c.features, -1, 1) : x;
    const std::vector<float> w = g.uniform(additive ? a : c.features, -0.3, 0.3);  // pool: w; additive: v
    const std::vector<float> small = g.uniform(std::max(c.steps, c.batch * a), -0.1, 0.1);  // bias, or the queries
    const int32_t* lengths = c.lengths.empty() ? nullptr : c.lengths.data();
    std::vector<float> context(c.batch * c.features), weights(c.batch * c.steps);
    std::vector<double> ref_context(context.size()), ref_weights(weights.size());
    const std::vector<double> xd = widen(x), vd = widen(values), wd = widen(w), sd = widen(small);
    double bound = attention_pool_max_error;
    if (additive) {
      attnkern_additive_attention_f32(x.data(), small.data(), w.data(), values.data(), lengths, c.batch, c.steps, a, c.features,
                                      context.data(), weights.data());
      attnkern::reference::additive_attention(xd.data(), sd.data(), wd.data(), vd.data(), lengths, c.batch, c.steps, a,
                                              c.features, ref_context.data(), ref_weights.data());
      double v_l1 = 0;
      for (float e : w) v_l1 += std::fabs(static_cast<double>(e));
      bound = additive_attention_max_error(v_l1);
    } else {
      attnkern_attention_pool_f32(x.data(), w.data(), small.data(), lengths, c.batch, c.steps, c.features, context.data(),
                                  weights.data());
      attnkern::reference::attention_pool(xd.data(), wd.data(), sd.data(), lengths, c.batch, c.steps, c.features,
                                          ref_context.data(), ref_weights.data());
    }
    for (std::size_t b = 0; b < c.batch; ++b) {
      const std::size_t len = lengths ? static_cast<std::size_t>(lengths[b]) : c.steps;
      const double max_x = max_abs(values.data() + b * c.steps * c.features, len * c.features);
      add_context(st, context.data() + b * c.features, ref_context.data() + b * c.features, c.features, max_x, bound);
      for (std::size_t t = 0; t < c.steps; ++t)
        st.add(relative_error(weights[b * c.steps + t], ref_weights[b * c.steps + t], bound, attention_abs_floor), bound);
    }
    st.hash_bits(context.data(), context.size());
    st.hash_bits(weights.data(), weights.size());
  }
}

void sdpa_case(stats& st) {
  struct shape {
    std::size_t batch, q_len, kv_len, d, dv;
    bool causal;
    std::vector<int32_t> lengths;
    double qk;  // q and k uniform in [-qk, qk]
  };
  const std::vector<shape> cases{{3, 17, 70, 13, 9, false, {70, 0, 33}, 1},
                                 {3, 17, 70, 13, 9, true, {70, 0, 33}, 1},
                                 {2, 5, 1100, 64, 64, false, {}, 1},
                                 {2, 40, 40, 64, 32, true, {}, 1},
                                 {1, 8, 40, 16, 16, false, {}, 8}};
  generator g(5);
  for (const shape& c : cases) {
    const std::vector<float> q = g.uniform(c.batch * c.q_len * c.d, -c.qk, c.qk), k = g.uniform(c.batch * c.kv_len * c.d, -c.qk, c.qk),
                             v = g.uniform(c.batch * c.kv_len * c.dv, -1, 1);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.d)));
    const int32_t* lengths = c.lengths.empty() ? nullptr : c.lengths.data();
    std::vector<float> out(c.batch * c.q_len * c.dv);
    std::vector<double> ref(out.size());
    attnkern_sdpa_f32(q.data(), k.data(), v.data(), lengths, c.batch, c.q_len, c.kv_len, c.d, c.dv, scale, c.causal ? 1 : 0,
                      out.data());
    const std::vector<double> qd = widen(q), kd = widen(k), vd = widen(v);
    attnkern::reference::sdpa(qd.data(), kd.data(), vd.data(), lengths, c.batch, c.q_len, c.kv_len, c.d, c.dv,
                              static_cast<double>(scale), c.causal, ref.data());
    for (std::size_t b = 0; b < c.batch; ++b)
      for (std::size_t i = 0; i < c.q_len; ++i) {
        const std::size_t len = lengths ? static_cast<std::size_t>(lengths[b]) : c.kv_len;
        const std::size_t n = attnkern::reference::detail::sdpa_visible(i, len, c.q_len, c.kv_len, c.causal);
        double sigma = 0;
        for (std::size_t j = 0; j < n; ++j) {
          double s = 0;
          for (std::size_t e = 0; e < c.d; ++e) s += std::fabs(qd[(b * c.q_len + i) * c.d + e] * kd[(b * c.kv_len + j) * c.d + e]);
          sigma = std::max(sigma, static_cast<double>(scale) * s);
        }
        const double max_v = max_abs(v.data() + b * c.kv_len * c.dv, n * c.dv);
        const double bound = sdpa_max_error(c.d, sigma, n);
        const std::size_t row = (b * c.q_len + i) * c.dv;
        add_context(st, out.data() + row, ref.data() + row, c.dv, max_v, bound);
      }
    st.hash_bits(out.data(), out.size());
  }
}

// ---- attnkern_attention and attnkern_attention_merge ----------------------------------------------

// f16 and bf16 bits of a float the type holds exactly (the half tensors' values are drawn on a grid
// that both hold: see on_grid), NaN and +-inf included, and the float a half's bits stand for.
uint16_t half_bits(float x, int32_t type) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if (type == ATTNKERN_BF16) return static_cast<uint16_t>(u >> 16);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  if (std::isnan(x)) return static_cast<uint16_t>(sign | 0x7e00);
  if (std::isinf(x)) return static_cast<uint16_t>(sign | 0x7c00);
  if (x == 0) return sign;
  const int exponent = static_cast<int>((u >> 23) & 0xff) - 127;  // (normal f16 values only)
  return static_cast<uint16_t>(sign | ((exponent + 15) << 10) | ((u & 0x7fffff) >> 13));
}
float half_value(uint16_t h, int32_t type) {
  uint32_t u;
  if (type == ATTNKERN_BF16) {
    u = static_cast<uint32_t>(h) << 16;
  } else {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    if (exponent == 0) {  // zero or subnormal: mantissa 2^-24, exact in float
      const float m = std::ldexp(static_cast<float>(mantissa), -24);
      return sign ? -m : m;
    }
    u = sign | (exponent == 0x1f ? 0x7f800000u | (mantissa << 13) : ((exponent - 15 + 127) << 23) | (mantissa << 13));
  }
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
// x rounded to a multiple of step: with |x| <= 256 step (at most 8 significant bits) and step >= 2^-14,
// exact in f16 and bf16 both.
float on_grid(float x, double step) { return static_cast<float>(std::round(static_cast<double>(x) / step) * step); }

// Where element (b, h, s, 0) of a tensor lies.
std::size_t element(attnkern_strides s, std::size_t b, std::size_t h, std::size_t seq) {
  return b * static_cast<std::size_t>(s.batch) + h * static_cast<std::size_t>(s.head) +
         seq * static_cast<std::size_t>(s.seq);
}

// One attnkern_attention row of the fingerprint: the call's shape and modifiers. Every feature is off
// unless set; q, k and v uniform in [-qk, qk], [-qk, qk] and [-1, 1], BHSD unless bshd.
struct attention_row {
  std::size_t batch = 2, q_heads = 4, kv_heads = 4, q_len = 64, kv_len = 256, d = 64, dv = 64;
  int32_t q_type = ATTNKERN_F32, kv_type = ATTNKERN_F32, out_type = ATTNKERN_F32;
  bool bshd = false;
  double qk = 1;
  float scale = 0;  // (0: 1 / sqrt(d))
  bool causal = false, bottom_right = false, window = false;
  int64_t left = 0, right = 0;
  std::vector<int32_t> starts, lengths;  // empty: none
  float softcap = 0;
  bool bias = false, bias_per_batch = true, bias_per_head = true, bias_head_scales = false;
  int32_t bias_type = ATTNKERN_F32;
  bool alibi = false, sinks = false, lse = false;
  int mask = 0;  // 1: random bytes, a fifth of them 0, shared by the heads; 2: a speculative-decoding tree's
  bool modified() const { return softcap > 0 || bias || alibi || sinks; }
  float used_scale() const { return scale != 0 ? scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))); }
  attnkern_strides q_strides() const { return strides(q_heads, q_len, d); }
  attnkern_strides k_strides() const { return strides(kv_heads, kv_len, d); }
  attnkern_strides v_strides() const { return strides(kv_heads, kv_len, dv); }
  attnkern_strides out_strides() const { return strides(q_heads, q_len, dv); }
  attnkern_strides bias_strides() const {
    const std::size_t row = kv_len, head = bias_per_head ? q_len * row : 0;
    const std::size_t batch_stride = bias_per_batch ? (bias_per_head ? q_heads : 1) * q_len * row : 0;
    return {static_cast<int64_t>(batch_stride), static_cast<int64_t>(head), static_cast<int64_t>(row)};
  }
  attnkern_strides mask_strides() const {
    return {static_cast<int64_t>(q_len * kv_len), 0, static_cast<int64_t>(kv_len)};
  }
  attnkern_strides strides(std::size_t heads, std::size_t seq, std::size_t dim) const {
    return bshd ? attnkern_strides_bshd(heads, seq, dim) : attnkern_strides_bhsd(heads, seq, dim);
  }
};

// What a row's bounds depend on (as tests/test_attention_api.cpp's stats_of): sigma, the largest
// |scale q.k| + |bias term| + |ALiBi term| over the n keys the row sees, and max|v| over them.
struct row_stats {
  double sigma = 0, max_v = 0;
  std::size_t n = 0;
};

// A row's inputs (keys outside [start, end) NaN: never read), as floats and in their types, and its
// float64 reference: out and lse in [batch, q_heads, q_len] row order, and each row's stats.
struct attention_data {
  std::vector<float> q, k, v, bias, bias_scales, slopes, sinks;
  std::vector<uint16_t> q_half, k_half, v_half, bias_half;
  std::vector<uint8_t> mask;
  std::vector<double> ref, ref_lse;
  std::vector<row_stats> rows;
};

// The reference over keys [starts[b], lengths[b]) (null: all), into out, lse and stats.
void attention_reference(const attention_row& r, const attention_data& in, const int32_t* starts,
                         const int32_t* lengths, std::vector<double>& out, std::vector<double>& lse,
                         std::vector<row_stats>& stats) {
  using problem = attnkern::reference::attention_problem<double>;
  const std::vector<double> qd = widen(in.q), kd = widen(in.k), vd = widen(in.v), bias = widen(in.bias),
                            scales = widen(in.bias_scales), slopes = widen(in.slopes), sinks = widen(in.sinks);
  auto tensor = [](const std::vector<double>& x, attnkern_strides s) {
    return problem::tensor{x.data(), static_cast<std::size_t>(s.batch), static_cast<std::size_t>(s.head),
                           static_cast<std::size_t>(s.seq)};
  };
  problem p{};
  p.q = tensor(qd, r.q_strides()), p.k = tensor(kd, r.k_strides()), p.v = tensor(vd, r.v_strides());
  p.batch = r.batch, p.q_heads = r.q_heads, p.kv_heads = r.kv_heads, p.q_len = r.q_len, p.kv_len = r.kv_len;
  p.head_dim = r.d, p.value_dim = r.dv, p.scale = static_cast<double>(r.used_scale());
  p.kv_starts = starts, p.kv_lengths = lengths;
  p.causal = r.causal, p.bottom_right = r.bottom_right, p.window = r.window;
  p.window_left = static_cast<std::size_t>(r.left), p.window_right = static_cast<std::size_t>(r.right);
  p.softcap = r.softcap;
  if (r.bias) {
    const attnkern_strides s = r.bias_strides();
    p.bias = bias.data(), p.bias_batch_stride = static_cast<std::size_t>(s.batch);
    p.bias_head_stride = static_cast<std::size_t>(s.head), p.bias_row_stride = static_cast<std::size_t>(s.seq);
  }
  if (r.bias_head_scales) p.bias_head_scales = scales.data();
  if (r.alibi) p.alibi_slopes = slopes.data();
  if (r.mask) {
    const attnkern_strides s = r.mask_strides();
    p.mask = in.mask.data(), p.mask_batch_stride = static_cast<std::size_t>(s.batch);
    p.mask_head_stride = static_cast<std::size_t>(s.head), p.mask_row_stride = static_cast<std::size_t>(s.seq);
  }
  if (r.sinks) p.sinks = sinks.data();
  out.assign(r.batch * r.q_heads * r.q_len * r.dv, 0.0);
  lse.assign(r.batch * r.q_heads * r.q_len, 0.0);
  attnkern::reference::attention(p, out.data(), lse.data());
  stats.assign(lse.size(), row_stats{});
  for (std::size_t b = 0; b < r.batch; ++b)
    for (std::size_t h = 0; h < r.q_heads; ++h)
      for (std::size_t i = 0; i < r.q_len; ++i) {
        row_stats& st = stats[(b * r.q_heads + h) * r.q_len + i];
        const std::size_t g = h / (r.q_heads / r.kv_heads);
        for (std::size_t j = 0; j < r.kv_len; ++j) {
          if (!p.sees(b, h, i, j)) continue;
          ++st.n;
          double dot = 0, extra = 0;  // (extra: the modifiers' terms)
          for (std::size_t c = 0; c < r.d; ++c) dot += std::fabs(p.q.row(b, h, i)[c] * p.k.row(b, g, j)[c]);
          if (p.bias) extra += std::fabs(p.bias_at(b, h, i, j) * (p.bias_head_scales ? p.bias_head_scales[h] : 1.0));
          if (p.alibi_slopes)
            extra += std::fabs(p.alibi_slopes[h] * static_cast<double>(static_cast<long long>(j) - p.diagonal(b, i)));
          st.sigma = std::max(st.sigma, p.scale * dot + extra);
          for (std::size_t c = 0; c < r.dv; ++c) st.max_v = std::max(st.max_v, std::fabs(p.v.row(b, g, j)[c]));
        }
      }
}

attention_data make_attention_data(const attention_row& r, uint64_t seed) {
  generator g(seed);
  attention_data in;
  const bool half_q = r.q_type != ATTNKERN_F32, half_kv = r.kv_type != ATTNKERN_F32;
  // every element drawn, then the keys outside [start, end) poisoned: the draws do not depend on the ranges
  auto draw = [&](std::size_t n, double lo, double hi, bool half, double step) {
    std::vector<float> x = g.uniform(n, lo, hi);
    if (half)
      for (float& e : x) e = on_grid(e, step);
    return x;
  };
  in.q = draw(r.batch * r.q_heads * r.q_len * r.d, -r.qk, r.qk, half_q, 0x1p-7 * r.qk);
  in.k = draw(r.batch * r.kv_heads * r.kv_len * r.d, -r.qk, r.qk, half_kv, 0x1p-7 * r.qk);
  in.v = draw(r.batch * r.kv_heads * r.kv_len * r.dv, -1, 1, half_kv, 0x1p-7);
  for (std::size_t b = 0; b < r.batch; ++b) {
    const std::size_t start = r.starts.empty() ? 0 : static_cast<std::size_t>(r.starts[b]);
    const std::size_t end = r.lengths.empty() ? r.kv_len : static_cast<std::size_t>(r.lengths[b]);
    for (std::size_t h = 0; h < r.kv_heads; ++h)
      for (std::size_t j = 0; j < r.kv_len; ++j) {
        if (j >= start && j < end) continue;
        float* k = in.k.data() + element(r.k_strides(), b, h, j);
        float* v = in.v.data() + element(r.v_strides(), b, h, j);
        std::fill(k, k + r.d, NAN);
        std::fill(v, v + r.dv, NAN);
      }
  }
  if (r.bias) {  // in [-2, 2], a tenth -inf
    const std::size_t n = (r.bias_per_batch ? r.batch : 1) * (r.bias_per_head ? r.q_heads : 1) * r.q_len * r.kv_len;
    in.bias = draw(n, -2, 2, r.bias_type != ATTNKERN_F32, 0x1p-6);
    for (float& e : in.bias)
      if (g.next() % 10 == 0) e = -INFINITY;
    if (r.bias_head_scales) in.bias_scales = g.uniform(r.q_heads, 0, 1);
  }
  if (r.alibi)  // (the usual slopes, 2^(-8 (h + 1) / heads))
    for (std::size_t h = 0; h < r.q_heads; ++h)
      in.slopes.push_back(std::pow(2.0f, -8.0f * static_cast<float>(h + 1) / static_cast<float>(r.q_heads)));
  if (r.mask == 1) {
    in.mask.resize(r.batch * r.q_len * r.kv_len);
    for (uint8_t& e : in.mask) {
      const uint64_t u = g.next();
      e = static_cast<uint8_t>(u % 5 == 0 ? 0 : 1 + (u >> 8) % 255);
    }
  } else if (r.mask == 2) {  // speculative decoding: the last q_len keys are a tree's, each row sees its ancestors
    const std::size_t parent[] = {0, 0, 0, 1, 2, 3, 4};  // (0 the root; parent[i] < i)
    in.mask.assign(r.batch * r.q_len * r.kv_len, 1);
    for (std::size_t b = 0; b < r.batch; ++b) {
      const std::size_t end = r.lengths.empty() ? r.kv_len : static_cast<std::size_t>(r.lengths[b]);
      const std::size_t first = end - r.q_len;
      for (std::size_t i = 0; i < r.q_len; ++i)
        for (std::size_t t = 0; t < r.q_len; ++t) {
          std::size_t a = i;
          while (a != t && a != 0) a = parent[a];
          in.mask[(b * r.q_len + i) * r.kv_len + first + t] = a == t ? 1 : 0;
        }
    }
  }
  if (r.sinks) in.sinks = g.uniform(r.q_heads, -2, 2);
  auto halves = [](const std::vector<float>& x, int32_t type) {
    std::vector<uint16_t> h;
    if (type != ATTNKERN_F32)
      for (float e : x) h.push_back(half_bits(e, type));
    return h;
  };
  in.q_half = halves(in.q, r.q_type), in.k_half = halves(in.k, r.kv_type), in.v_half = halves(in.v, r.kv_type);
  in.bias_half = halves(in.bias, r.bias_type);
  attention_reference(r, in, r.starts.empty() ? nullptr : r.starts.data(),
                      r.lengths.empty() ? nullptr : r.lengths.data(), in.ref, in.ref_lse, in.rows);
  return in;
}

// The inputs and reference of a fingerprint row: made once, on its first path (the reference is the
// slow part, and the same on every path).
template <class T>
const T& made_once(const std::string& name, const std::function<T()>& make) {
  static std::map<std::string, T> made;
  auto it = made.find(name);
  if (it == made.end()) it = made.emplace(name, make()).first;
  return it->second;
}

// The call on the active path: out (in out_type; f16/bf16 bits in out_half) and lse, both
// [batch, q_heads, q_len] row order for out, as the row's strides lay them.
struct attention_result {
  std::vector<float> out, lse;
  std::vector<uint16_t> out_half;
  float at(const attention_row& r, int32_t type, std::size_t b, std::size_t h, std::size_t i, std::size_t c) const {
    const std::size_t e = element(r.out_strides(), b, h, i) + c;
    return type == ATTNKERN_F32 ? out[e] : half_value(out_half[e], type);
  }
};

attention_result run_attention(const std::string& name, const attention_row& r, const attention_data& in,
                               const int32_t* starts, const int32_t* lengths, bool lse) {
  attention_result res;
  const std::size_t out_n = r.batch * r.q_heads * r.q_len * r.dv;  // (BHSD and BSHD alike: dense)
  if (r.out_type == ATTNKERN_F32)
    res.out.assign(out_n, NAN);  // (a call that fails leaves NaN: worse than any bound)
  else
    res.out_half.assign(out_n, 0x7e00);
  if (lse) res.lse.assign(r.batch * r.q_heads * r.q_len, NAN);
  attnkern_attention_args a;
  attnkern_attention_args_init(&a);
  a.batch = r.batch, a.q_heads = r.q_heads, a.kv_heads = r.kv_heads, a.q_len = r.q_len, a.kv_len = r.kv_len;
  a.head_dim = r.d, a.value_dim = r.dv;
  auto typed = [](const std::vector<float>& f, const std::vector<uint16_t>& h) -> const void* {
    return h.empty() ? static_cast<const void*>(f.data()) : h.data();
  };
  a.q = typed(in.q, in.q_half), a.q_strides = r.q_strides(), a.q_dtype = r.q_type;
  a.k = typed(in.k, in.k_half), a.k_strides = r.k_strides(), a.k_dtype = r.kv_type;
  a.v = typed(in.v, in.v_half), a.v_strides = r.v_strides(), a.v_dtype = r.kv_type;
  a.out = res.out_half.empty() ? static_cast<void*>(res.out.data()) : res.out_half.data();
  a.out_strides = r.out_strides(), a.out_dtype = r.out_type;
  a.scale = r.scale;
  a.causal = r.causal;
  a.align = r.bottom_right ? ATTNKERN_ALIGN_BOTTOM_RIGHT : ATTNKERN_ALIGN_TOP_LEFT;
  a.window = r.window, a.window_left = r.left, a.window_right = r.right;
  a.kv_starts = starts, a.kv_lengths = lengths;
  if (lse) a.lse = res.lse.data(), a.lse_strides = attnkern_strides_bhsd(r.q_heads, r.q_len, 1);
  a.softcap = r.softcap;
  if (r.bias) a.bias = typed(in.bias, in.bias_half), a.bias_strides = r.bias_strides(), a.bias_dtype = r.bias_type;
  if (r.bias_head_scales) a.bias_head_scales = in.bias_scales.data();
  if (r.alibi) a.alibi_slopes = in.slopes.data();
  if (r.mask) a.mask = in.mask.data(), a.mask_strides = r.mask_strides();
  if (r.sinks) a.sinks = in.sinks.data();
  if (attnkern_attention(&a) != ATTNKERN_OK)
    std::fprintf(stderr, "attnkern-numerics: %s: %s\n", name.c_str(), attnkern_last_error_message());
  return res;
}

void hash_halves(stats& st, const std::vector<uint16_t>& h) {
  for (uint16_t u : h)
    for (int byte = 0; byte < 2; ++byte) {
      st.hash ^= (u >> (8 * byte)) & 0xff;
      st.hash *= 0x100000001b3ull;
    }
}

// A row of attnkern_attention: every output against the reference, relative to max|v| over the keys
// the row sees, within the bound tests/test_attention_api.cpp holds it to: sdpa_max_error, or
// attention_max_error with a modifier (a sink counts as one), plus half_out_error (and f16_out_floor)
// for an f16 or bf16 out; with r.lse, the log-sum-exp instead, absolute, within lse_max_error (head_dim
// + 7 with a modifier). The hash covers out, and lse when asked for.
void attention_row_case(stats& st, const std::string& name, const attention_row& r) {
  const attention_data& in = made_once<attention_data>(name, [&] {
    uint64_t seed = 0xcbf29ce484222325ull;  // (FNV-1a of the name: a row's inputs do not depend on the others)
    for (char c : name) seed = (seed ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return make_attention_data(r, seed);
  });
  const attention_result res = run_attention(name, r, in, r.starts.empty() ? nullptr : r.starts.data(),
                                             r.lengths.empty() ? nullptr : r.lengths.data(), r.lse);
  std::vector<float> y(r.dv);
  for (std::size_t b = 0; b < r.batch; ++b)
    for (std::size_t h = 0; h < r.q_heads; ++h)
      for (std::size_t i = 0; i < r.q_len; ++i) {
        const std::size_t row = (b * r.q_heads + h) * r.q_len + i;
        const row_stats& rs = in.rows[row];
        if (r.lse) {
          const double bound = lse_max_error(r.modified() ? r.d + 7 : r.d, rs.sigma, rs.n + (r.sinks ? 1 : 0));
          st.add(error_over(res.lse[row], in.ref_lse[row], 1.0), bound);
          continue;
        }
        double bound = r.modified() ? attention_max_error(r.d, rs.sigma, rs.n) : sdpa_max_error(r.d, rs.sigma, rs.n);
        if (r.out_type != ATTNKERN_F32)
          bound += half_out_error(r.out_type == ATTNKERN_BF16) +
                   (r.out_type == ATTNKERN_F16 && rs.max_v > 0 ? f16_out_floor / rs.max_v : 0);
        for (std::size_t c = 0; c < r.dv; ++c) y[c] = res.at(r, r.out_type, b, h, i, c);
        add_context(st, y.data(), in.ref.data() + row * r.dv, r.dv, rs.max_v, bound);
      }
  if (r.out_type == ATTNKERN_F32)
    st.hash_bits(res.out.data(), res.out.size());
  else
    hash_halves(st, res.out_half);
  if (r.lse) st.hash_bits(res.lse.data(), res.lse.size());
}

// The merge: GQA 8/2 heads' keys cut in two per item (item 1's second part empty), each part by
// attnkern_attention with its lse on the active path, merged by attnkern_attention_merge, against the
// reference over all the keys: out within merge_out_max_error of the parts' own bounds (sdpa_max_error,
// lse_max_error), relative to max|v|; with lse_row, the merged lse instead, absolute, within
// merge_lse_max_error. The hash covers the merged out (lse_row: the merged lse).
void merge_case(stats& st, bool lse_row) {
  struct merge_data {
    attention_row r;
    std::vector<int32_t> zero, cut, whole;
    attention_data in;
    std::vector<row_stats> a, b;
  };
  const merge_data& m = made_once<merge_data>("merge", [] {
    merge_data made;
    made.r.q_heads = 8, made.r.kv_heads = 2;
    made.zero = {0, 0}, made.cut = {100, 256}, made.whole = {256, 256};
    made.in = make_attention_data(made.r, 6);
    std::vector<double> out, lse;
    attention_reference(made.r, made.in, made.zero.data(), made.cut.data(), out, lse, made.a);
    attention_reference(made.r, made.in, made.cut.data(), made.whole.data(), out, lse, made.b);
    return made;
  });
  const attention_row& r = m.r;
  const attention_result a = run_attention("attention_merge", r, m.in, m.zero.data(), m.cut.data(), true);
  const attention_result b = run_attention("attention_merge", r, m.in, m.cut.data(), m.whole.data(), true);
  std::vector<float> out(r.batch * r.q_heads * r.q_len * r.dv, NAN), lse(r.batch * r.q_heads * r.q_len, NAN);
  attnkern_merge_args args{};
  args.struct_size = sizeof args;
  args.batch = r.batch, args.heads = r.q_heads, args.rows = r.q_len, args.value_dim = r.dv;
  const attnkern_strides out_strides = r.out_strides(), lse_strides = attnkern_strides_bhsd(r.q_heads, r.q_len, 1);
  args.out_a = a.out.data(), args.out_a_strides = out_strides;
  args.lse_a = a.lse.data(), args.lse_a_strides = lse_strides;
  args.out_b = b.out.data(), args.out_b_strides = out_strides;
  args.lse_b = b.lse.data(), args.lse_b_strides = lse_strides;
  args.out = out.data(), args.out_strides = out_strides, args.lse = lse.data(), args.lse_strides = lse_strides;
  if (attnkern_attention_merge(&args) != ATTNKERN_OK)
    std::fprintf(stderr, "attnkern-numerics: attention_merge: %s\n", attnkern_last_error_message());
  auto part_error = [&](const row_stats& s) {
    return s.n == 0 ? 0.0 : sdpa_max_error(r.d, s.sigma, s.n) * s.max_v + attention_abs_floor;
  };
  auto part_lse_error = [&](const row_stats& s) { return s.n == 0 ? 0.0 : lse_max_error(r.d, s.sigma, s.n); };
  for (std::size_t row = 0; row < lse.size(); ++row) {
    const row_stats &sa = m.a[row], &sb = m.b[row], &whole = m.in.rows[row];
    if (lse_row) {
      st.add(error_over(lse[row], m.in.ref_lse[row], 1.0),
             merge_lse_max_error(part_lse_error(sa), part_lse_error(sb), m.in.ref_lse[row]));
      continue;
    }
    const float* oa = a.out.data() + row * r.dv;
    const float* ob = b.out.data() + row * r.dv;
    const double max_out = std::max(max_abs(oa, r.dv), max_abs(ob, r.dv));
    const double allowed =
        merge_out_max_error(part_error(sa), part_error(sb), part_lse_error(sa), part_lse_error(sb), max_out);
    const double scale = whole.max_v > 0 ? whole.max_v : 1.0;  // (relative to max|v|, as the other rows)
    for (std::size_t c = 0; c < r.dv; ++c)
      st.add(error_over(out[row * r.dv + c], m.in.ref[row * r.dv + c], scale), allowed / scale);
  }
  if (lse_row)
    st.hash_bits(lse.data(), lse.size());
  else
    st.hash_bits(out.data(), out.size());
}

// attnkern_attention's rows: 2 items x 4 heads x 64 queries x 256 keys x 64 dims unless a row says
// otherwise, one modifier or element type per row; then decoding (1 query row against 1024 keys) and
// speculative decoding (4 to 7 rows), GQA 8/2 with ragged lengths; then one row with everything.
std::vector<std::pair<std::string, attention_row>> attention_rows() {
  std::vector<std::pair<std::string, attention_row>> rows;
  auto add = [&](const char* name, const std::function<void(attention_row&)>& set) {
    attention_row r;
    set(r);
    rows.emplace_back(name, r);
  };
  add("attention", [](attention_row&) {});
  add("attention_bshd", [](attention_row& r) { r.bshd = true; });
  add("attention_f16", [](attention_row& r) { r.q_type = r.kv_type = ATTNKERN_F16; });
  add("attention_bf16", [](attention_row& r) { r.q_type = r.kv_type = ATTNKERN_BF16; });
  add("attention_out_f16", [](attention_row& r) { r.out_type = ATTNKERN_F16; });
  add("attention_out_bf16", [](attention_row& r) { r.out_type = ATTNKERN_BF16; });
  add("attention_gqa", [](attention_row& r) { r.q_heads = 8, r.kv_heads = 2; });
  add("attention_mqa", [](attention_row& r) { r.q_heads = 8, r.kv_heads = 1; });
  add("attention_causal", [](attention_row& r) { r.causal = true; });
  add("attention_causal_bottom_right", [](attention_row& r) { r.causal = r.bottom_right = true; });
  add("attention_window", [](attention_row& r) { r.causal = r.bottom_right = r.window = true, r.left = 40; });
  add("attention_window_two_sided", [](attention_row& r) { r.window = true, r.left = 24, r.right = 8; });
  add("attention_key_ranges", [](attention_row& r) {  // (item 2 sees no key: zeros)
    r.batch = 3, r.starts = {0, 37, 90}, r.lengths = {256, 201, 90};
  });
  add("attention_softcap", [](attention_row& r) { r.qk = 2, r.softcap = 2; });
  add("attention_bias", [](attention_row& r) { r.bias = true; });
  add("attention_bias_f16", [](attention_row& r) {  // (shared by the items)
    r.bias = true, r.bias_type = ATTNKERN_F16, r.bias_per_batch = false;
  });
  add("attention_bias_bf16", [](attention_row& r) {  // (shared by the heads)
    r.bias = true, r.bias_type = ATTNKERN_BF16, r.bias_per_head = false;
  });
  add("attention_bias_head_scales", [](attention_row& r) {
    r.bias = r.bias_head_scales = true, r.bias_per_head = false;
  });
  add("attention_alibi", [](attention_row& r) { r.causal = r.bottom_right = r.alibi = true; });
  add("attention_mask", [](attention_row& r) { r.mask = 1; });
  add("attention_sinks", [](attention_row& r) { r.sinks = true; });
  add("attention_lse", [](attention_row& r) { r.lse = true; });
  auto decode = [](attention_row& r, std::size_t q_len) {
    r.q_heads = 8, r.kv_heads = 2, r.q_len = q_len, r.kv_len = 1024, r.lengths = {1024, 777};
    r.causal = r.bottom_right = true;
  };
  add("attention_decode", [&](attention_row& r) { decode(r, 1); });
  add("attention_decode_f16", [&](attention_row& r) { decode(r, 1), r.kv_type = ATTNKERN_F16; });
  add("attention_decode_bf16", [&](attention_row& r) { decode(r, 1), r.kv_type = ATTNKERN_BF16; });
  add("attention_decode_lse", [&](attention_row& r) { decode(r, 1), r.lse = true; });
  add("attention_speculative", [&](attention_row& r) { decode(r, 4); });
  add("attention_speculative_f16", [&](attention_row& r) { decode(r, 7), r.kv_type = ATTNKERN_F16; });
  add("attention_speculative_tree", [&](attention_row& r) { decode(r, 5), r.mask = 2; });
  add("attention_all", [](attention_row& r) {
    r.q_heads = 8, r.kv_heads = 2, r.kv_type = ATTNKERN_F16, r.starts = {5, 0}, r.lengths = {256, 190};
    r.causal = r.bottom_right = r.window = true, r.left = 100, r.softcap = 20;
    r.bias = true, r.bias_type = ATTNKERN_F16, r.bias_per_batch = false, r.alibi = r.sinks = true, r.mask = 1;
  });
  return rows;
}

const std::vector<kernel_case>& kernel_cases() {
  static const std::vector<kernel_case> cases = [] {
    std::vector<kernel_case> all{
        {"tanh", "ulp", tanh_case},
        {"softmax", "relative", [](stats& st) { softmax_case(st, false); }},
        {"log_softmax", "relative", [](stats& st) { softmax_case(st, true); }},
        {"attention_pool", "relative", [](stats& st) { attention_case(st, false); }},
        {"additive_attention", "relative", [](stats& st) { attention_case(st, true); }},
        {"sdpa", "relative", sdpa_case},
    };
    for (const auto& row : attention_rows())
      all.push_back({row.first, row.second.lse ? "absolute" : "relative",
                     [row](stats& st) { attention_row_case(st, row.first, row.second); }});
    all.push_back({"attention_merge", "relative", [](stats& st) { merge_case(st, false); }});
    all.push_back({"attention_merge_lse", "absolute", [](stats& st) { merge_case(st, true); }});
    return all;
  }();
  return cases;
}

std::string number(double v) {
  if (std::isinf(v)) return "1e999";  // (read back as infinity by strtod)
  char text[40];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

int record(const std::string& out_path) {
  // (every path is recorded whatever the active one is; the note is for the "dispatched_isa" field)
  if (attnkern_isa_env_status() != ATTNKERN_OK)
    std::fprintf(stderr, "attnkern-numerics: note: %s\n", attnkern_last_error_message());
  std::ostringstream out;
  using attnkern_tools::json::quote;
  out << "{\n  \"format\": \"attnkern-numerics 1\",\n  \"build\": {\"version\": " << quote(attnkern_version())
      << ", \"compiler\": " << quote(attnkern_tools::compiler_description()) << ", \"flags\": " << quote(ATTNKERN_TOOLS_BUILD)
      << ", \"dispatched_isa\": " << quote(attnkern_isa()) << "},\n  \"results\": [";
  bool first = true;
  const std::string started = attnkern_isa();
  for (const std::string& name : attnkern::isa_list()) {
    const char* isa = name.c_str();
    attnkern_set_isa(isa);
    for (const kernel_case& k : kernel_cases()) {
      std::fprintf(stderr, "attnkern-numerics: %s on %s ...\n", k.kernel.c_str(), isa);
      stats st;
      k.run(st);
      char hash[20];
      std::snprintf(hash, sizeof hash, "%016" PRIx64, st.hash);
      out << (first ? "\n" : ",\n") << "    {\"kernel\": " << quote(k.kernel) << ", \"path\": " << quote(isa)
          << ", \"unit\": " << quote(k.unit) << ", \"max_error\": " << number(st.max_error)
          << ", \"mean_error\": " << number(st.values ? st.sum_error / static_cast<double>(st.values) : 0)
          << ", \"worst_of_bound\": " << number(st.worst_of_bound) << ", \"values\": " << st.values << ", \"hash\": \""
          << hash << "\"}";
      first = false;
    }
  }
  attnkern_set_isa(started.c_str());
  out << "\n  ]\n}\n";
  if (out_path.empty()) {
    std::fputs(out.str().c_str(), stdout);
    return 0;
  }
  const std::string tmp = out_path + ".tmp";  // nothing left behind on failure
  std::ofstream file(tmp);
  file << out.str();
  file.close();
  if (!file || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    std::fprintf(stderr, "attnkern-numerics: cannot write %s\n", out_path.c_str());
    return 3;
  }
  std::fprintf(stderr, "attnkern-numerics: wrote %s\n", out_path.c_str());
  return 0;
}

// ---- compare ------------------------------------------------------------------------------------

bool load(const std::string& path, attnkern_tools::json::value& v) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "attnkern-numerics: cannot read %s\n", path.c_str());
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    v = attnkern_tools::json::parser(text.str()).parse();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attnkern-numerics: %s is not JSON: %s\n", path.c_str(), e.what());
    return false;
  }
  if (v["format"].str() != "attnkern-numerics 1" || v["results"].kind != attnkern_tools::json::value::array_kind) {
    std::fprintf(stderr, "attnkern-numerics: %s is not an attnkern-numerics fingerprint\n", path.c_str());
    return false;
  }
  for (const auto& r : v["results"].array)
    if (r["kernel"].str().empty() || r["path"].str().empty() || r["hash"].str().empty() ||
        r["worst_of_bound"].kind != attnkern_tools::json::value::number_kind) {
      std::fprintf(stderr, "attnkern-numerics: %s has a result without kernel, path, hash or worst_of_bound\n", path.c_str());
      return false;
    }
  return true;
}

std::string arrow(double a, double b) {
  const std::string l = number(a), r = number(b);
  return l == r ? l : l + " -> " + r;
}

int compare(const std::string& path_a, const std::string& path_b) {
  attnkern_tools::json::value a, b;
  if (!load(path_a, a) || !load(path_b, b)) return 3;
  for (const auto* file : {&a, &b}) {
    const auto& build = (*file)["build"];
    std::printf("%s: attnkern %s, %s, %s, dispatched %s\n", file == &a ? "A" : "B", build["version"].str("?").c_str(),
                build["compiler"].str("?").c_str(), build["flags"].str("?").c_str(), build["dispatched_isa"].str("?").c_str());
  }
  std::map<std::pair<std::string, std::string>, const attnkern_tools::json::value*> in_a, in_b;
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& r : a["results"].array) {
    in_a[{r["kernel"].str(), r["path"].str()}] = &r;
    order.push_back({r["kernel"].str(), r["path"].str()});
  }
  for (const auto& r : b["results"].array) {
    if (!in_a.count({r["kernel"].str(), r["path"].str()})) order.push_back({r["kernel"].str(), r["path"].str()});
    in_b[{r["kernel"].str(), r["path"].str()}] = &r;
  }
  // the table's cells, then each column as wide as its longest cell, two spaces apart
  std::vector<std::vector<std::string>> table{
      {"kernel", "path", "status", "max error A -> B", "mean error A -> B", "of bound A -> B"}};
  int identical = 0, changed = 0, worse = 0, one_sided = 0;
  for (const auto& key : order) {
    const auto ia = in_a.find(key), ib = in_b.find(key);
    std::string status, max_e, mean_e, of_bound;
    if (ia == in_a.end() || ib == in_b.end()) {
      status = ia == in_a.end() ? "only in B" : "only in A (not run)";
      ++one_sided;
    } else {
      const auto &ra = *ia->second, &rb = *ib->second;
      const std::string unit = rb["unit"].str("");
      max_e = arrow(ra["max_error"].num(), rb["max_error"].num()) + " " + unit;
      mean_e = arrow(ra["mean_error"].num(), rb["mean_error"].num());
      of_bound = arrow(ra["worst_of_bound"].num(), rb["worst_of_bound"].num());
      if (!(rb["worst_of_bound"].num() <= 1.0)) {
        status = "WORSE than the bound";
        ++worse;
      } else if (ra["hash"].str() == rb["hash"].str()) {
        status = "identical";
        ++identical;
      } else {
        status = "changed, within bound";
        ++changed;
      }
    }
    table.push_back({key.first, key.second, status, max_e, mean_e, of_bound});
  }
  std::vector<std::size_t> width(table.front().size(), 0);
  for (const auto& row : table)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::printf("\n");
  for (const auto& row : table) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);  // (a row with empty cells at the end)
    std::printf("%s\n", line.c_str());
  }
  std::printf("\n%d identical, %d changed within the documented bound, %d worse than it; %d in one file only\n", identical,
              changed, worse, one_sided);
  return worse ? 2 : changed ? 1 : 0;
}

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: attnkern-numerics record [--out FILE.json]   (default: stdout)\n"
               "       attnkern-numerics compare A.json B.json\n"
               "       attnkern-numerics --help\n"
               "exit status of compare: 0 identical, 1 changed within the documented bounds, 2 worse than a bound, "
               "3 bad input (and any usage error)\n");
}

// A usage error: what is wrong, naming the argument, then the usage, on stderr; exit status 3.
int usage_error(const std::string& message) {
  std::fprintf(stderr, "attnkern-numerics: %s\n", message.c_str());
  usage(stderr);
  return 3;
}

bool is_help(const std::string& arg) { return arg == "--help" || arg == "-h"; }

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (std::find_if(args.begin(), args.end(), is_help) != args.end()) {
    usage(stdout);
    return 0;
  }
  if (args.empty()) return usage_error("missing command: record or compare");
  const std::string& command = args[0];
  if (command == "record") {
    std::string out;
    bool have_out = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& arg = args[i];
      std::string value;
      if (arg == "--out") {
        if (i + 1 >= args.size()) return usage_error("record: --out needs a file name");
        value = args[++i];
      } else if (arg.rfind("--out=", 0) == 0) {
        value = arg.substr(6);
      } else if (arg.rfind("-", 0) == 0) {
        return usage_error("record: unknown option '" + arg + "'");
      } else {
        return usage_error("record: unexpected argument '" + arg + "' (the file goes after --out)");
      }
      if (value.empty()) return usage_error("record: --out needs a file name, not an empty one");
      if (have_out) return usage_error("record: --out given twice ('" + out + "', then '" + value + "')");
      out = value;
      have_out = true;
    }
    return record(out);
  }
  if (command == "compare") {
    std::vector<std::string> files;
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg.size() > 1 && arg[0] == '-') return usage_error("compare: unknown option '" + arg + "'");
      if (files.size() == 2) return usage_error("compare: unexpected argument '" + arg + "' (it takes two files)");
      files.push_back(arg);
    }
    if (files.size() < 2)
      return usage_error(std::string("compare: needs two files, A.json B.json; got ") + (files.empty() ? "none" : "only '" + files[0] + "'"));
    return compare(files[0], files[1]);
  }
  return usage_error("unknown command '" + command + "' (record or compare)");
}
