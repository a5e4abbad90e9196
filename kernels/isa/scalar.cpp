// The "scalar" path: plain C++ written for clarity, as a kernel table. tanh, exp and the softmax of
// rows that fit in cache are the references of attnkern/reference.hpp (T = float: evaluated in
// double, rounded once). The chunk kernels of the long softmax rows, the fused attention kernels and
// attention follow the same contracts as the SIMD paths' (the executor merges their chunks the same
// way, kernels/runtime/executor.hpp), evaluated in double and rounded where the contract stores a float.
#include <attnkern/reference.hpp>

#include "isa/kernel_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace attnkern {
namespace kernels {
namespace {
namespace scalar {  // (the kernels of kernels/isa/kernels.def, by name)

constexpr double inf = std::numeric_limits<double>::infinity();

void tanh_f32(const float* x, float* y, std::size_t n) noexcept { reference::tanh(x, y, n); }

void exp_f32(const float* x, float* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(std::exp(static_cast<double>(x[i])));
}

void softmax_rows_f32(const float* x, float* y, std::size_t rows, std::size_t cols, bool log) noexcept {
  log ? reference::log_softmax(x, y, rows, cols) : reference::softmax(x, y, rows, cols);
}

// The (max, sum) of a piece of a long row (softmax_stats.hpp's contract).
softmax_stats softmax_stats_f32(const float* x, std::size_t n) noexcept {
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return {std::numeric_limits<float>::quiet_NaN(), std::nan("")};
    m = std::max(m, x[i]);
  }
  if (m == -std::numeric_limits<float>::infinity()) return {m, 0.0};
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - m);
  return {m, sum};
}

// A piece of a long row's output, given the row's (max, sum).
void softmax_output_f32(const float* x, float* y, std::size_t n, softmax_stats row, bool log) noexcept {
  const double log_sum = std::log(row.sum);
  for (std::size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - row.max;
    y[i] = static_cast<float>(log ? d - log_sum : std::exp(d) / row.sum);
  }
}

// One chunk of a fused attention kernel (pooling_partial.hpp's contract) given its scores s[t] for
// t < count, in blocks of attention_block steps: the running max m is updated per block, p[t] = e^(s[t]
// - m) and acc[f] += p[t] attention_p_scale x[t, f] in double.
template <class Scores>
attention_partial attend_chunk(Scores&& score, const float* x, std::size_t count, std::size_t features,
                               const attention_outputs& out) noexcept {
  const std::size_t padded = (features + attention_acc_padding - 1) / attention_acc_padding * attention_acc_padding;
  std::fill(out.acc, out.acc + padded, 0.0);
  attention_partial total{-std::numeric_limits<float>::infinity(), 0.0};
  double s[attention_block];
  for (std::size_t t0 = 0; t0 < count; t0 += attention_block) {
    const std::size_t n = std::min(attention_block, count - t0);
    double block_max = -inf;
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = score(t0 + i);
      if (s[i] > block_max) block_max = s[i];  // (a NaN score is passed over here; its p is NaN below)
    }
    const float m_block = static_cast<float>(block_max);
    if (m_block > total.max) {
      const double factor = std::exp(static_cast<double>(total.max) - m_block);
      total.sum *= factor;
      for (std::size_t f = 0; f < features; ++f) out.acc[f] *= factor;
      total.max = m_block;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const double p = std::exp(s[i] - total.max);
      total.sum += p;
      if (out.p) out.p[t0 + i] = static_cast<float>(p);
      const float* xt = x + (t0 + i) * features;
      for (std::size_t f = 0; f < features; ++f) out.acc[f] += p * attention_p_scale * static_cast<double>(xt[f]);
    }
    if (out.block_max) out.block_max[t0 / attention_block] = total.max;
  }
  return total;
}

attention_partial attention_pool_chunk_f32(const float* h, const double* w, const float* bias, std::size_t count,
                                              std::size_t features, const attention_outputs& out) noexcept {
  auto score = [&](std::size_t t) {
    double dot = bias ? static_cast<double>(bias[t]) : 0.0;
    for (std::size_t f = 0; f < features; ++f) dot += static_cast<double>(h[t * features + f]) * w[f];
    return std::tanh(dot);
  };
  return attend_chunk(score, h, count, features, out);
}

attention_partial additive_attention_chunk_f32(const float* keys, const float* query, const double* v,
                                                  const float* values, std::size_t count, std::size_t attn_dim,
                                                  std::size_t features, const attention_outputs& out) noexcept {
  auto score = [&](std::size_t t) {
    double s = 0;
    for (std::size_t a = 0; a < attn_dim; ++a)
      s += v[a] * std::tanh(static_cast<double>(keys[t * attn_dim + a]) + static_cast<double>(query[a]));
    return s;
  };
  return attend_chunk(score, values, count, features, out);
}

// One block of query rows against one chunk of keys (attention_chunk.hpp's contract): a row's scores, p_j
// = e^(s_j - m), their sum and the weighted sum of the values in double, the latter rounded to float
// at the end.
void sdpa_chunk_f32(const sdpa_chunk_args& a) noexcept {
  static_assert(sdpa_key_chunk * 2 + sdpa_key_chunk / 4 + 2 <= (sdpa_key_block + 1) * sdpa_max_query_rows,
                "p and the hidden flags fit in the scratch");
  const std::size_t stride = sdpa_acc_stride(a.value_dim);
  double* p = reinterpret_cast<double*>((reinterpret_cast<std::uintptr_t>(a.scratch) + 7) & ~std::uintptr_t(7));
  unsigned char* hidden = reinterpret_cast<unsigned char*>(p + sdpa_key_chunk);  // by the mask or a -inf bias
  for (std::size_t r = 0; r < a.rows; ++r) {
    const float* q = a.q[r];
    float* acc = a.acc + r * stride;
    std::fill(acc, acc + stride, 0.0f);
    const std::size_t first = a.first[r], keys = std::max(a.first[r], a.end[r]);  // the slots [first, keys)
    double m = -inf;
    bool nan = false;
    for (std::size_t j = first; j < keys; ++j) {
      hidden[j] = sdpa_hidden_by_modifiers(a, r, j);
      if (hidden[j]) {
        p[j] = -inf;  // e^-inf = 0; its V is never read
        continue;
      }
      double dot = 0;
      for (std::size_t c = 0; c < a.head_dim; ++c)
        dot += static_cast<double>(q[c]) * static_cast<double>(element(a.k[j / sdpa_key_block], a.k_type, j % sdpa_key_block * a.ldk + c));
      double x = static_cast<double>(a.scale) * dot;
      if (a.modified) {
        if (a.softcap > 0) x = a.softcap * std::tanh(x / a.softcap);
        if (a.bias[r]) x += static_cast<double>(a.bias[r][j]) * a.bias_scale[r];
        x += static_cast<double>(a.slope[r]) * static_cast<double>(static_cast<std::ptrdiff_t>(j) - a.diagonal[r]);
      }
      p[j] = x;
      nan = nan || std::isnan(x);
      m = std::max(m, x);
    }
    // m is stored as a float: rounded, it may lie a half ULP below the largest score, whose p is
    // then a little above 1 (harmless); scores beyond the float range make m infinite and the row
    // NaN, as on the SIMD paths.
    a.max[r] = nan ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(m);
    a.sum[r] = 0.0;
    if (m == -inf) continue;  // sees no key: l = 0, acc = 0
    for (std::size_t j = first; j < keys; ++j) {
      p[j] = std::exp(p[j] - static_cast<double>(a.max[r]));
      a.sum[r] += p[j];
    }
    for (std::size_t e = 0; e < a.value_dim; ++e) {
      double sum = 0;
      for (std::size_t j = first; j < keys; ++j)
        if (!hidden[j]) sum += p[j] * static_cast<double>(element(a.v[j / sdpa_key_block], a.v_type, j % sdpa_key_block * a.ldv + e));
      acc[e] = static_cast<float>(sum * sdpa_p_scale);
    }
  }
}

}  // namespace scalar
}  // namespace

kernel_table scalar_table() noexcept {
  kernel_table table{};
#define ATTNKERN_KERNEL(name, result, parameters) table.name = &scalar::name;
#include "isa/kernels.def"
#undef ATTNKERN_KERNEL
  table.sdpa_query_rows = 1;
  return table;
}

}  // namespace kernels
}  // namespace attnkern
