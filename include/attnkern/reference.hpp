// attnkern's scalar references: plain code written for clarity, not speed, templated on the float
// type. With T = float, tanh and softmax are the library's "scalar" ISA path (attnkern_set_isa(
// "scalar"), whose other kernels are chunk kernels evaluated in double); with T = double they are the
// oracle the tests and tools measure every path's error against, within
// the documented bounds of attnkern/bounds.hpp (docs/numerics.md in the source repository).
// Header-only and independent of the library: include it on its own.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace attnkern {
namespace reference {

// tanh evaluated in double and rounded once to T: for T = float the result is the correctly rounded
// value except in double-rounding cases (max error 0.5 + 2^-29 ULP); for T = double it is glibc's
// tanh (under 1 double ULP).
template <class T>
T tanh(T x) {
  return static_cast<T>(std::tanh(static_cast<double>(x)));
}

template <class T>
void tanh(const T* x, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = reference::tanh(x[i]);
}

namespace detail {
// Sums in a wider type than T: double for float, long double for double (the oracle), so that rows
// of 10^7 and more lose nothing that matters to `softmax_max_rel_error` (1e-6, in
// attnkern/bounds.hpp).
template <class T>
using wider_t = typename std::conditional<(sizeof(T) < sizeof(double)), double, long double>::type;

template <class T>
void softmax_row(const T* x, T* y, std::size_t n, bool log) {
  using W = wider_t<T>;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) {  // a NaN anywhere makes the row NaN
      for (std::size_t j = 0; j < n; ++j) y[j] = nan;
      return;
    }
    if (x[i] > m) m = x[i];
  }
  if (m == std::numeric_limits<T>::infinity()) {  // so does +inf (inf - inf)
    for (std::size_t j = 0; j < n; ++j) y[j] = nan;
    return;
  }
  if (m == -std::numeric_limits<T>::infinity()) {  // only -inf: zeros (log: -inf), never NaN
    for (std::size_t j = 0; j < n; ++j) y[j] = log ? -std::numeric_limits<T>::infinity() : T(0);
    return;
  }
  W sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(static_cast<W>(x[i]) - static_cast<W>(m));
  const W log_sum = std::log(sum);
  for (std::size_t i = 0; i < n; ++i) {
    const W d = static_cast<W>(x[i]) - static_cast<W>(m);
    y[i] = static_cast<T>(log ? d - log_sum : std::exp(d) / sum);
  }
}
}  // namespace detail

// Row-wise softmax of a rows x cols row-major matrix: y = e^(x - max) / sum e^(x - max), computed
// in T with the sum in a wider type. -inf entries give 0; a row of only -inf gives zeros; a NaN or
// +inf in a row makes the row NaN. y may equal x.
template <class T>
void softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) detail::softmax_row(x + r * cols, y + r * cols, cols, false);
}

// Row-wise log-softmax: y = (x - max) - log sum e^(x - max); -inf where softmax gives 0.
template <class T>
void log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) detail::softmax_row(x + r * cols, y + r * cols, cols, true);
}

namespace detail {
// The softmax of scores s[0, len) and the weighted sum of the rows of `values` (len x features),
// in W, written to context[features] and weights[steps] (zeros from len on; weights may be null).
template <class T, class W>
void attend(const W* s, std::size_t len, std::size_t steps, const T* values, std::size_t features, T* context,
            T* weights) {
  for (std::size_t f = 0; f < features; ++f) context[f] = T(0);
  if (weights)
    for (std::size_t t = 0; t < steps; ++t) weights[t] = T(0);
  if (len == 0) return;
  W m = -std::numeric_limits<W>::infinity();
  bool has_nan = false;
  for (std::size_t t = 0; t < len; ++t) {
    if (std::isnan(s[t])) has_nan = true;
    if (s[t] > m) m = s[t];
  }
  W sum = 0;
  for (std::size_t t = 0; t < len; ++t) sum += std::exp(s[t] - m);
  if (has_nan) sum = std::numeric_limits<W>::quiet_NaN();  // a NaN score makes everything NaN
  for (std::size_t f = 0; f < features; ++f) {
    W acc = 0;
    for (std::size_t t = 0; t < len; ++t) acc += std::exp(s[t] - m) * static_cast<W>(values[t * features + f]);
    context[f] = static_cast<T>(acc / sum);
  }
  if (weights)
    for (std::size_t t = 0; t < len; ++t) weights[t] = static_cast<T>(std::exp(s[t] - m) / sum);
}

inline std::size_t length_of(const std::int32_t* lengths, std::size_t b, std::size_t steps) {
  return lengths ? static_cast<std::size_t>(lengths[b]) : steps;
}
}  // namespace detail

// Feed-forward attention pooling, per batch item b:
//   e[t] = tanh(dot(h[b,t,:], w) + bias[t]),  alpha = softmax_t(e),  context[b,:] = sum_t alpha[t] h[b,t,:]
// over t < lengths[b] (all steps when lengths is null; positions past the length are never read,
// their weights are 0; a length of 0 gives zeros). h: batch x steps x features; w: features; bias:
// steps or null; context: batch x features; weights: batch x steps or null. Computed in a wider
// type than T (double for float). Lengths must lie in [0, steps]. scratch: room for `steps` values of
// the wider type, or null to allocate it (this and the two below).
template <class T>
void attention_pool(const T* h, const T* w, const T* bias, const std::int32_t* lengths, std::size_t batch,
                    std::size_t steps, std::size_t features, T* context, T* weights,
                    detail::wider_t<T>* scratch = nullptr) {
  using W = detail::wider_t<T>;
  std::vector<W> own(scratch ? 0 : steps);
  W* e = scratch ? scratch : own.data();
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t len = detail::length_of(lengths, b, steps);
    const T* hb = h + b * steps * features;
    for (std::size_t t = 0; t < len; ++t) {
      W dot = bias ? static_cast<W>(bias[t]) : W(0);
      for (std::size_t f = 0; f < features; ++f) dot += static_cast<W>(hb[t * features + f]) * static_cast<W>(w[f]);
      e[t] = std::tanh(dot);
    }
    detail::attend(e, len, steps, hb, features, context + b * features, weights ? weights + b * steps : nullptr);
  }
}

// Additive (Bahdanau) attention, per batch item b:
//   s[t] = dot(v, tanh(keys[b,t,:] + query[b,:])),  alpha = softmax_t(s),  context[b,:] = sum_t alpha[t] values[b,t,:]
// with keys = H W_e and query = s W_h already projected by the caller. keys: batch x steps x
// attn_dim; query: batch x attn_dim; v: attn_dim; values: batch x steps x features; lengths,
// context, weights as for attention_pool. Computed in a wider type than T.
template <class T>
void additive_attention(const T* keys, const T* query, const T* v, const T* values, const std::int32_t* lengths,
                        std::size_t batch, std::size_t steps, std::size_t attn_dim, std::size_t features, T* context,
                        T* weights, detail::wider_t<T>* scratch = nullptr) {
  using W = detail::wider_t<T>;
  std::vector<W> own(scratch ? 0 : steps);
  W* s = scratch ? scratch : own.data();
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t len = detail::length_of(lengths, b, steps);
    const T* kb = keys + b * steps * attn_dim;
    const T* qb = query + b * attn_dim;
    for (std::size_t t = 0; t < len; ++t) {
      W score = 0;
      for (std::size_t a = 0; a < attn_dim; ++a)
        score += static_cast<W>(v[a]) * std::tanh(static_cast<W>(kb[t * attn_dim + a]) + static_cast<W>(qb[a]));
      s[t] = score;
    }
    detail::attend(s, len, steps, values + b * steps * features, features, context + b * features,
                   weights ? weights + b * steps : nullptr);
  }
}

namespace detail {
// The keys query row i of an sdpa item sees: j < min(length, i + kv_len - q_len + 1) when causal.
inline std::size_t sdpa_visible(std::size_t i, std::size_t length, std::size_t q_len, std::size_t kv_len,
                                bool causal) {
  if (!causal) return length;
  const long long limit = static_cast<long long>(i) + static_cast<long long>(kv_len) - static_cast<long long>(q_len) + 1;
  if (limit <= 0) return 0;
  return static_cast<std::size_t>(limit) < length ? static_cast<std::size_t>(limit) : length;
}
}  // namespace detail

// Scaled dot-product attention, per batch item b and query row i:
//   s[j] = scale * dot(q[b,i,:], k[b,j,:]),  out[b,i,:] = sum_j softmax_j(s) v[b,j,:]
// over the keys j < kv_lengths[b] (all kv_len when kv_lengths is null) and, when causal, j <= i +
// kv_len - q_len (the mask aligned to the bottom right, as when decoding with a key cache). Keys at
// or past the length are never read; a row that sees no key (or whose scores are all -inf) gives
// zeros; a NaN or +inf score makes the row NaN. q: batch x q_len x head_dim; k: batch x kv_len x
// head_dim; v: batch x kv_len x value_dim; out: batch x q_len x value_dim. Computed in a wider type
// than T. scratch: room for `kv_len` values of the wider type, or null to allocate it.
template <class T>
void sdpa(const T* q, const T* k, const T* v, const std::int32_t* kv_lengths, std::size_t batch, std::size_t q_len,
          std::size_t kv_len, std::size_t head_dim, std::size_t value_dim, T scale, bool causal, T* out,
          detail::wider_t<T>* scratch = nullptr) {
  using W = detail::wider_t<T>;
  std::vector<W> own(scratch ? 0 : kv_len);
  W* s = scratch ? scratch : own.data();
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t len = detail::length_of(kv_lengths, b, kv_len);
    const T* kb = k + b * kv_len * head_dim;
    const T* vb = v + b * kv_len * value_dim;
    for (std::size_t i = 0; i < q_len; ++i) {
      const T* qi = q + (b * q_len + i) * head_dim;
      T* oi = out + (b * q_len + i) * value_dim;
      std::size_t n = detail::sdpa_visible(i, len, q_len, kv_len, causal);
      bool all_masked = true;
      for (std::size_t j = 0; j < n; ++j) {
        W dot = 0;
        for (std::size_t c = 0; c < head_dim; ++c) dot += static_cast<W>(qi[c]) * static_cast<W>(kb[j * head_dim + c]);
        s[j] = static_cast<W>(scale) * dot;
        if (!(s[j] == -std::numeric_limits<W>::infinity())) all_masked = false;
      }
      if (all_masked) n = 0;
      detail::attend(s, n, 0, vb, value_dim, oi, static_cast<T*>(nullptr));
    }
  }
}

// Attention on strided tensors with grouped-query heads, masks and the log-sum-exp: attnkern_attention's
// maths (attnkern.h), written for clarity. Element (b, h, s, c) of a tensor lies at
// data + b * batch_stride + h * head_stride + s * seq_stride + c.
template <class T>
struct attention_problem {
  struct tensor {
    const T* data;
    std::size_t batch_stride, head_stride, seq_stride;
    const T* row(std::size_t b, std::size_t h, std::size_t s) const {
      return data + b * batch_stride + h * head_stride + s * seq_stride;
    }
  };
  tensor q, k, v;  // [batch, q_heads, q_len, head_dim], [batch, kv_heads, kv_len, head_dim], [.., value_dim]
  std::size_t batch, q_heads, kv_heads, q_len, kv_len, head_dim, value_dim;
  T scale;
  const std::int32_t* kv_starts = nullptr;   // [batch] or null: keys from kv_starts[b]
  const std::int32_t* kv_lengths = nullptr;  // [batch] or null: keys before kv_lengths[b]
  bool causal = false;
  bool bottom_right = false;  // the diagonal: end_b - q_len + i (else start_b + i)
  bool window = false;
  std::size_t window_left = 0, window_right = 0;
  // Score modifiers, in attnkern_attention's order (attnkern.h): softcap (> 0), then the bias times
  // its head's scale and ALiBi's slope times (j - d); a bias of -inf or a mask byte of 0 hides the
  // key; a sink joins the denominator. Bias and mask elements (b, h, i, j) lie at
  // b * batch_stride + h * head_stride + i * row_stride + j.
  T softcap = 0;
  const T* bias = nullptr;
  std::size_t bias_batch_stride = 0, bias_head_stride = 0, bias_row_stride = 0;
  const T* bias_head_scales = nullptr;
  const T* alibi_slopes = nullptr;
  const unsigned char* mask = nullptr;
  std::size_t mask_batch_stride = 0, mask_head_stride = 0, mask_row_stride = 0;
  const T* sinks = nullptr;

  long long diagonal(std::size_t b, std::size_t i) const {
    const long long start = kv_starts ? kv_starts[b] : 0;
    const long long end = kv_lengths ? kv_lengths[b] : static_cast<long long>(kv_len);
    return bottom_right ? end - static_cast<long long>(q_len) + static_cast<long long>(i) : start + static_cast<long long>(i);
  }
  T bias_at(std::size_t b, std::size_t h, std::size_t i, std::size_t j) const {
    return bias[b * bias_batch_stride + h * bias_head_stride + i * bias_row_stride + j];
  }
  // Whether row i of head h of item b sees key j, by its mask and bias too.
  bool sees(std::size_t b, std::size_t h, std::size_t i, std::size_t j) const {
    if (!sees(b, i, j)) return false;
    if (mask && mask[b * mask_batch_stride + h * mask_head_stride + i * mask_row_stride + j] == 0) return false;
    if (bias && bias_at(b, h, i, j) == -std::numeric_limits<T>::infinity()) return false;
    return true;
  }

  // Whether row i of item b sees key j by its key range, the causal mask and the window.
  bool sees(std::size_t b, std::size_t i, std::size_t j) const {
    const long long start = kv_starts ? kv_starts[b] : 0;
    const long long end = kv_lengths ? kv_lengths[b] : static_cast<long long>(kv_len);
    const long long jj = static_cast<long long>(j), ii = static_cast<long long>(i);
    const long long d = bottom_right ? end - static_cast<long long>(q_len) + ii : start + ii;
    if (jj < start || jj >= end) return false;
    if (causal && jj > d) return false;
    // (by distances from the diagonal: d +- a window of up to INT64_MAX would overflow)
    if (window && ((jj < d && static_cast<unsigned long long>(d - jj) > window_left) ||
                   (jj > d && static_cast<unsigned long long>(jj - d) > window_right)))
      return false;
    return true;
  }
};

// out[b, h, i, :] (value_dim contiguous, rows `out_row` elements apart in [batch, q_heads, q_len]
// order) and lse[(b * q_heads + h) * q_len + i] (or null), in the wider type: a row that sees no key
// gets zeros and lse = -inf; a NaN or +inf score makes the row NaN.
template <class T>
void attention(const attention_problem<T>& p, T* out, T* lse) {
  using W = detail::wider_t<T>;
  const std::size_t group = p.q_heads / p.kv_heads;
  std::vector<W> s(p.kv_len);
  std::vector<std::size_t> seen(p.kv_len);
  for (std::size_t b = 0; b < p.batch; ++b)
    for (std::size_t h = 0; h < p.q_heads; ++h)
      for (std::size_t i = 0; i < p.q_len; ++i) {
        const std::size_t g = h / group, row = (b * p.q_heads + h) * p.q_len + i;
        const T* q = p.q.row(b, h, i);
        std::size_t n = 0;
        for (std::size_t j = 0; j < p.kv_len; ++j) {
          if (!p.sees(b, h, i, j)) continue;
          const T* k = p.k.row(b, g, j);
          W dot = 0;
          for (std::size_t c = 0; c < p.head_dim; ++c) dot += static_cast<W>(q[c]) * static_cast<W>(k[c]);
          W x = static_cast<W>(p.scale) * dot;
          if (p.softcap > 0) x = static_cast<W>(p.softcap) * std::tanh(x / static_cast<W>(p.softcap));
          if (p.bias)
            x += static_cast<W>(p.bias_at(b, h, i, j)) * (p.bias_head_scales ? static_cast<W>(p.bias_head_scales[h]) : W(1));
          if (p.alibi_slopes)
            x += static_cast<W>(p.alibi_slopes[h]) * static_cast<W>(static_cast<long long>(j) - p.diagonal(b, i));
          s[n] = x;
          seen[n++] = j;
        }
        const W sink = p.sinks ? static_cast<W>(p.sinks[h]) : -std::numeric_limits<W>::infinity();
        T* o = out + row * p.value_dim;
        for (std::size_t e = 0; e < p.value_dim; ++e) o[e] = T(0);
        W m = -std::numeric_limits<W>::infinity();
        bool nan = false;
        for (std::size_t t = 0; t < n; ++t) {
          nan = nan || std::isnan(s[t]);
          if (s[t] > m) m = s[t];
        }
        if (nan || m == std::numeric_limits<W>::infinity() || std::isnan(sink)) {
          for (std::size_t e = 0; e < p.value_dim; ++e) o[e] = std::numeric_limits<T>::quiet_NaN();
          if (lse) lse[row] = std::numeric_limits<T>::quiet_NaN();
          continue;
        }
        if (m == -std::numeric_limits<W>::infinity()) {  // sees no key (or only -inf scores)
          if (lse) lse[row] = static_cast<T>(sink);
          continue;
        }
        if (sink > m) m = sink;
        W sum = p.sinks ? std::exp(sink - m) : W(0);
        for (std::size_t t = 0; t < n; ++t) {
          s[t] = std::exp(s[t] - m);
          sum += s[t];
        }
        for (std::size_t e = 0; e < p.value_dim; ++e) {
          W acc = 0;
          for (std::size_t t = 0; t < n; ++t) acc += s[t] * static_cast<W>(p.v.row(b, g, seen[t])[e]);
          o[e] = static_cast<T>(acc / sum);
        }
        if (lse) lse[row] = static_cast<T>(m + std::log(sum));
      }
}

}  // namespace reference
}  // namespace attnkern
