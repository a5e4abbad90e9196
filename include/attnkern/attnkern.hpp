// attnkern's C++17 API: header-only inline wrappers over the C API (attnkern.h), which has the contracts.
// Link attnkern::attnkern as for the C API.
//
// Two forms of every call that can fail:
//  - attnkern::f(...) throws attnkern::error (its status() and its message in what()) on failure;
//  - attnkern::nothrow::f(...) is noexcept and returns the attnkern_status; the failure's message is
//    then attnkern::last_error_message().
// Both take the same arguments and give the C function's bits. The throwing forms exist only where
// exceptions do (not under -fno-exceptions; define ATTNKERN_HPP_EXCEPTIONS=0 to drop them anyway).
// Calls that cannot fail (version, isa, num_threads, ...) have one form, in attnkern.
//
// Arrays are raw pointers, as in C, or attnkern::span<T> views (a pointer and an element count, made
// from a std::vector, std::array, C array or pointer and size). A view must hold at least the elements
// the sizes imply (rows x cols for softmax, say; more are left alone); a smaller one is
// ATTNKERN_ERROR_INVALID_ARGUMENT, found before the C function runs, so nothing is written. An empty
// view of an optional array (a bias, lengths, weights: NULL in C) means none.
//
// attnkern::attention_desc builds an attnkern_attention_args, field by field, for attnkern_attention:
// attention_desc().shape(...).q(...).k(...).v(...).out(...).causal().run(). It allocates nothing.
#pragma once

#include <attnkern/attnkern.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <vector>

#if !defined(ATTNKERN_HPP_EXCEPTIONS)
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define ATTNKERN_HPP_EXCEPTIONS 1
#else
#define ATTNKERN_HPP_EXCEPTIONS 0
#endif
#endif

#if ATTNKERN_HPP_EXCEPTIONS
#include <stdexcept>
#endif

namespace attnkern {

// A view of `size()` contiguous elements of type T (C++17 has no std::span). span<const T> is made
// from a span<T> too. Like std::span, a view of non-const elements is not made from a temporary.
template <class T>
class span {
  template <class C>
  using data_of = std::remove_pointer_t<decltype(std::declval<C&>().data())>;
  // C's elements are T's, give or take a const (as std::span: no derived-to-base pointer conversions).
  template <class C>
  using if_viewable = std::enable_if_t<std::is_convertible<data_of<C> (*)[], T (*)[]>::value &&
                                       std::is_convertible<decltype(std::declval<C&>().size()), std::size_t>::value>;

 public:
  using element_type = T;
  constexpr span() noexcept = default;
  constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  template <std::size_t N>
  constexpr span(T (&array)[N]) noexcept : data_(array), size_(N) {}
  template <class C, class = if_viewable<C>>
  constexpr span(C& container) noexcept : data_(container.data()), size_(container.size()) {}
  template <class C, class = if_viewable<const C>>
  constexpr span(const C& container) noexcept : data_(container.data()), size_(container.size()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr T& operator[](std::size_t i) const noexcept { return data_[i]; }
  constexpr T* begin() const noexcept { return data_; }
  constexpr T* end() const noexcept { return data_ + size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

namespace detail {

// The failures this header finds itself (a view too small) have their message here, per thread, as
// the C library's have theirs; `own` says which of the two is the calling thread's last.
struct error_slot {
  bool own = false;
  char text[320] = "";
};
inline error_slot& slot() noexcept {
  static thread_local error_slot s;
  return s;
}

// A C function's status, passed on: a failure makes its message the last one.
inline attnkern_status from_c(attnkern_status status) noexcept {
  if (status != ATTNKERN_OK) slot().own = false;
  return status;
}

// ATTNKERN_OK when `have` elements hold the product of `dims` (named `names`, "rows x cols"), else
// ATTNKERN_ERROR_INVALID_ARGUMENT with the message. A product that overflows size_t is left to the C
// function, which reports ATTNKERN_ERROR_INVALID_SIZE.
inline attnkern_status fits(const char* function, const char* view, std::size_t have, const char* names,
                            std::initializer_list<std::size_t> dims) noexcept {
  std::size_t need = 1;
  for (std::size_t d : dims) {
    if (d != 0 && need > SIZE_MAX / d) return ATTNKERN_OK;
    need *= d;
  }
  if (have >= need) return ATTNKERN_OK;
  error_slot& s = slot();
  int at = std::snprintf(s.text, sizeof s.text, "%s: %s holds %zu elements, fewer than %s = ", function, view, have,
                         names);
  const char* sep = "";
  for (std::size_t d : dims) {
    if (at < 0 || static_cast<std::size_t>(at) >= sizeof s.text) break;
    at += std::snprintf(s.text + at, sizeof s.text - static_cast<std::size_t>(at), "%s%zu", sep, d);
    sep = " x ";
  }
  if (dims.size() > 1 && at >= 0 && static_cast<std::size_t>(at) < sizeof s.text)
    std::snprintf(s.text + at, sizeof s.text - static_cast<std::size_t>(at), " = %zu", need);
  s.own = true;
  return ATTNKERN_ERROR_INVALID_ARGUMENT;
}

// An optional array's pointer: NULL for an empty view.
template <class T>
T* optional(span<T> view) noexcept {
  return view.empty() ? nullptr : view.data();
}

}  // namespace detail

// The calling thread's last failure in full, among the calls made through this header: a view
// check's message, or the C function's (attnkern_last_error_message()). A C function called directly
// after a failed view check is not seen here: read attnkern_last_error_message() for those. Never NULL.
inline const char* last_error_message() noexcept {
  const detail::error_slot& s = detail::slot();
  return s.own ? s.text : attnkern_last_error_message();
}
// A one-sentence description of a status (attnkern_status_message).
inline const char* status_message(attnkern_status status) noexcept { return attnkern_status_message(status); }

inline std::string version() { return attnkern_version(); }
inline std::string isa() { return attnkern_isa(); }
// The paths this build can run on this CPU, best first (attnkern_isa_list, split at its spaces).
inline std::vector<std::string> isa_list() {
  std::vector<std::string> names;
  const std::string list = attnkern_isa_list();
  for (std::size_t at = 0; at < list.size();) {
    const std::size_t end = list.find(' ', at) == std::string::npos ? list.size() : list.find(' ', at);
    names.push_back(list.substr(at, end - at));
    at = end + 1;
  }
  return names;
}
inline void set_num_threads(int n) noexcept { attnkern_set_num_threads(n); }
inline int num_threads() noexcept { return attnkern_num_threads(); }
inline std::string threading_mode() { return attnkern_threading_mode(); }
// Whether ATTNKERN_ISA and ATTNKERN_THREADING were used or ignored: answers, not failures, so they
// never throw (an ignored value's reason is in last_error_message()).
inline attnkern_status isa_env_status() noexcept { return detail::from_c(attnkern_isa_env_status()); }
inline attnkern_status threading_env_status() noexcept { return detail::from_c(attnkern_threading_env_status()); }

// Strides of contiguous [batch, heads, seq, dim] and [batch, seq, heads, dim] tensors.
inline attnkern_strides strides_bhsd(std::size_t heads, std::size_t seq, std::size_t dim) noexcept {
  return attnkern_strides_bhsd(heads, seq, dim);
}
inline attnkern_strides strides_bshd(std::size_t heads, std::size_t seq, std::size_t dim) noexcept {
  return attnkern_strides_bshd(heads, seq, dim);
}

// The status-returning forms.
namespace nothrow {

inline attnkern_status set_isa(const char* name) noexcept { return detail::from_c(attnkern_set_isa(name)); }
// "pool", "openmp", or "auto" (or NULL); threading_mode() also answers "external" while a pool of the
// caller's (set_thread_pool) is set.
inline attnkern_status set_threading(const char* mode) noexcept {
  return detail::from_c(attnkern_set_threading(mode));
}
// The caller's parallel-for; a null parallel_for returns to the mode set before.
inline attnkern_status set_thread_pool(attnkern_parallel_for_fn parallel_for, void* pool, int threads) noexcept {
  return detail::from_c(attnkern_set_thread_pool(parallel_for, pool, threads));
}

// y[i] = tanh(x[i]); y may equal x. With views: n = x.size().
inline attnkern_status tanh(const float* x, float* y, std::size_t n) noexcept {
  return detail::from_c(attnkern_tanh_f32(x, y, n));
}
inline attnkern_status tanh(span<const float> x, span<float> y) noexcept {
  if (attnkern_status s = detail::fits("attnkern::tanh", "y", y.size(), "x's size", {x.size()})) return s;
  return tanh(x.data(), y.data(), x.size());
}

// Row-wise softmax and log-softmax of a rows x cols row-major matrix; y may equal x.
inline attnkern_status softmax(const float* x, float* y, std::size_t rows, std::size_t cols) noexcept {
  return detail::from_c(attnkern_softmax_f32(x, y, rows, cols));
}
inline attnkern_status softmax(span<const float> x, span<float> y, std::size_t rows, std::size_t cols) noexcept {
  attnkern_status s = ATTNKERN_OK;
  if ((s = detail::fits("attnkern::softmax", "x", x.size(), "rows x cols", {rows, cols})) ||
      (s = detail::fits("attnkern::softmax", "y", y.size(), "rows x cols", {rows, cols})))
    return s;
  return softmax(x.data(), y.data(), rows, cols);
}
inline attnkern_status log_softmax(const float* x, float* y, std::size_t rows, std::size_t cols) noexcept {
  return detail::from_c(attnkern_log_softmax_f32(x, y, rows, cols));
}
inline attnkern_status log_softmax(span<const float> x, span<float> y, std::size_t rows, std::size_t cols) noexcept {
  attnkern_status s = ATTNKERN_OK;
  if ((s = detail::fits("attnkern::log_softmax", "x", x.size(), "rows x cols", {rows, cols})) ||
      (s = detail::fits("attnkern::log_softmax", "y", y.size(), "rows x cols", {rows, cols})))
    return s;
  return log_softmax(x.data(), y.data(), rows, cols);
}

// attnkern_attention_pool_f32: bias, lengths and weights are optional (NULL, or an empty view).
inline attnkern_status attention_pool(const float* h, const float* w, const float* bias, const std::int32_t* lengths,
                                      std::size_t batch, std::size_t steps, std::size_t features, float* context,
                                      float* weights) noexcept {
  return detail::from_c(attnkern_attention_pool_f32(h, w, bias, lengths, batch, steps, features, context, weights));
}
inline attnkern_status attention_pool(span<const float> h, span<const float> w, span<const float> bias,
                                      span<const std::int32_t> lengths, std::size_t batch, std::size_t steps,
                                      std::size_t features, span<float> context, span<float> weights) noexcept {
  const char* fn = "attnkern::attention_pool";
  attnkern_status s = ATTNKERN_OK;
  if ((s = detail::fits(fn, "h", h.size(), "batch x steps x features", {batch, steps, features})) ||
      (s = detail::fits(fn, "w", w.size(), "features", {features})) ||
      (!bias.empty() && (s = detail::fits(fn, "bias", bias.size(), "steps", {steps}))) ||
      (!lengths.empty() && (s = detail::fits(fn, "lengths", lengths.size(), "batch", {batch}))) ||
      (s = detail::fits(fn, "context", context.size(), "batch x features", {batch, features})) ||
      (!weights.empty() && (s = detail::fits(fn, "weights", weights.size(), "batch x steps", {batch, steps}))))
    return s;
  return attention_pool(h.data(), w.data(), detail::optional(bias), detail::optional(lengths), batch, steps, features,
                        context.data(), detail::optional(weights));
}

// attnkern_additive_attention_f32: lengths and weights are optional.
inline attnkern_status additive_attention(const float* keys, const float* query, const float* v, const float* values,
                                          const std::int32_t* lengths, std::size_t batch, std::size_t steps,
                                          std::size_t attn_dim, std::size_t features, float* context,
                                          float* weights) noexcept {
  return detail::from_c(attnkern_additive_attention_f32(keys, query, v, values, lengths, batch, steps, attn_dim,
                                                        features, context, weights));
}
inline attnkern_status additive_attention(span<const float> keys, span<const float> query, span<const float> v,
                                          span<const float> values, span<const std::int32_t> lengths,
                                          std::size_t batch, std::size_t steps, std::size_t attn_dim,
                                          std::size_t features, span<float> context, span<float> weights) noexcept {
  const char* fn = "attnkern::additive_attention";
  attnkern_status s = ATTNKERN_OK;
  if ((s = detail::fits(fn, "keys", keys.size(), "batch x steps x attn_dim", {batch, steps, attn_dim})) ||
      (s = detail::fits(fn, "query", query.size(), "batch x attn_dim", {batch, attn_dim})) ||
      (s = detail::fits(fn, "v", v.size(), "attn_dim", {attn_dim})) ||
      (s = detail::fits(fn, "values", values.size(), "batch x steps x features", {batch, steps, features})) ||
      (!lengths.empty() && (s = detail::fits(fn, "lengths", lengths.size(), "batch", {batch}))) ||
      (s = detail::fits(fn, "context", context.size(), "batch x features", {batch, features})) ||
      (!weights.empty() && (s = detail::fits(fn, "weights", weights.size(), "batch x steps", {batch, steps}))))
    return s;
  return additive_attention(keys.data(), query.data(), v.data(), values.data(), detail::optional(lengths), batch, steps,
                            attn_dim, features, context.data(), detail::optional(weights));
}

// attnkern_sdpa_f32 (causal: the bottom-right mask); kv_lengths is optional.
inline attnkern_status sdpa(const float* q, const float* k, const float* v, const std::int32_t* kv_lengths,
                            std::size_t batch, std::size_t q_len, std::size_t kv_len, std::size_t head_dim,
                            std::size_t value_dim, float scale, bool causal, float* out) noexcept {
  return detail::from_c(
      attnkern_sdpa_f32(q, k, v, kv_lengths, batch, q_len, kv_len, head_dim, value_dim, scale, causal ? 1 : 0, out));
}
inline attnkern_status sdpa(span<const float> q, span<const float> k, span<const float> v,
                            span<const std::int32_t> kv_lengths, std::size_t batch, std::size_t q_len,
                            std::size_t kv_len, std::size_t head_dim, std::size_t value_dim, float scale, bool causal,
                            span<float> out) noexcept {
  const char* fn = "attnkern::sdpa";
  attnkern_status s = ATTNKERN_OK;
  if ((s = detail::fits(fn, "q", q.size(), "batch x q_len x head_dim", {batch, q_len, head_dim})) ||
      (s = detail::fits(fn, "k", k.size(), "batch x kv_len x head_dim", {batch, kv_len, head_dim})) ||
      (s = detail::fits(fn, "v", v.size(), "batch x kv_len x value_dim", {batch, kv_len, value_dim})) ||
      (!kv_lengths.empty() && (s = detail::fits(fn, "kv_lengths", kv_lengths.size(), "batch", {batch}))) ||
      (s = detail::fits(fn, "out", out.size(), "batch x q_len x value_dim", {batch, q_len, value_dim})))
    return s;
  return sdpa(q.data(), k.data(), v.data(), detail::optional(kv_lengths), batch, q_len, kv_len, head_dim, value_dim,
              scale, causal, out.data());
}

// Attention on strided tensors (attnkern_attention_args; attention_desc below builds one), and the
// merge of two partial results.
inline attnkern_status attention(const attnkern_attention_args& args) noexcept {
  return detail::from_c(attnkern_attention(&args));
}
inline attnkern_status attention_merge(const attnkern_merge_args& args) noexcept {
  return detail::from_c(attnkern_attention_merge(&args));
}
// The paged K/V cache (attnkern.h): a step's positions into their slots, and a mixed batch's attention.
inline attnkern_status kv_append(const attnkern_kv_append_args& args) noexcept { return detail::from_c(attnkern_kv_append(&args)); }
inline attnkern_status paged_attention(const attnkern_paged_attention_args& args) noexcept {
  return detail::from_c(attnkern_paged_attention(&args));
}

}  // namespace nothrow

#if ATTNKERN_HPP_EXCEPTIONS

// Thrown by every throwing form on failure. what() is the failure in full (last_error_message(): the
// function, the argument and its value).
class error : public std::runtime_error {
 public:
  explicit error(attnkern_status status) : error(status, attnkern_status_message(status)) {}
  error(attnkern_status status, const char* message) : std::runtime_error(message), status_(status) {}
  attnkern_status status() const noexcept { return status_; }

 private:
  attnkern_status status_;
};

// Throws attnkern::error for a status other than ATTNKERN_OK returned by a C function; call it right
// after the failing C call (on the same thread), so that the message is that call's.
inline void check(attnkern_status status) {
  if (status == ATTNKERN_OK) return;
  const char* message = attnkern_last_error_message();
  throw error(status, *message ? message : attnkern_status_message(status));
}

namespace detail {
// The throwing forms: a nothrow form's failure, with its message.
inline void raise_if(attnkern_status status) {
  if (status == ATTNKERN_OK) return;
  const char* message = last_error_message();
  throw error(status, *message ? message : attnkern_status_message(status));
}
}  // namespace detail

inline void set_isa(const char* name) { detail::raise_if(nothrow::set_isa(name)); }
inline void set_threading(const char* mode) { detail::raise_if(nothrow::set_threading(mode)); }
inline void set_thread_pool(attnkern_parallel_for_fn parallel_for, void* pool, int threads) {
  detail::raise_if(nothrow::set_thread_pool(parallel_for, pool, threads));
}

inline void tanh(const float* x, float* y, std::size_t n) { detail::raise_if(nothrow::tanh(x, y, n)); }
inline void tanh(span<const float> x, span<float> y) { detail::raise_if(nothrow::tanh(x, y)); }
inline void softmax(const float* x, float* y, std::size_t rows, std::size_t cols) {
  detail::raise_if(nothrow::softmax(x, y, rows, cols));
}
inline void softmax(span<const float> x, span<float> y, std::size_t rows, std::size_t cols) {
  detail::raise_if(nothrow::softmax(x, y, rows, cols));
}
inline void log_softmax(const float* x, float* y, std::size_t rows, std::size_t cols) {
  detail::raise_if(nothrow::log_softmax(x, y, rows, cols));
}
inline void log_softmax(span<const float> x, span<float> y, std::size_t rows, std::size_t cols) {
  detail::raise_if(nothrow::log_softmax(x, y, rows, cols));
}
inline void attention_pool(const float* h, const float* w, const float* bias, const std::int32_t* lengths,
                           std::size_t batch, std::size_t steps, std::size_t features, float* context, float* weights) {
  detail::raise_if(nothrow::attention_pool(h, w, bias, lengths, batch, steps, features, context, weights));
}
inline void attention_pool(span<const float> h, span<const float> w, span<const float> bias,
                           span<const std::int32_t> lengths, std::size_t batch, std::size_t steps,
                           std::size_t features, span<float> context, span<float> weights) {
  detail::raise_if(nothrow::attention_pool(h, w, bias, lengths, batch, steps, features, context, weights));
}
inline void additive_attention(const float* keys, const float* query, const float* v, const float* values,
                               const std::int32_t* lengths, std::size_t batch, std::size_t steps, std::size_t attn_dim,
                               std::size_t features, float* context, float* weights) {
  detail::raise_if(
      nothrow::additive_attention(keys, query, v, values, lengths, batch, steps, attn_dim, features, context, weights));
}
inline void additive_attention(span<const float> keys, span<const float> query, span<const float> v,
                               span<const float> values, span<const std::int32_t> lengths, std::size_t batch,
                               std::size_t steps, std::size_t attn_dim, std::size_t features, span<float> context,
                               span<float> weights) {
  detail::raise_if(
      nothrow::additive_attention(keys, query, v, values, lengths, batch, steps, attn_dim, features, context, weights));
}
inline void sdpa(const float* q, const float* k, const float* v, const std::int32_t* kv_lengths, std::size_t batch,
                 std::size_t q_len, std::size_t kv_len, std::size_t head_dim, std::size_t value_dim, float scale,
                 bool causal, float* out) {
  detail::raise_if(
      nothrow::sdpa(q, k, v, kv_lengths, batch, q_len, kv_len, head_dim, value_dim, scale, causal, out));
}
inline void sdpa(span<const float> q, span<const float> k, span<const float> v, span<const std::int32_t> kv_lengths,
                 std::size_t batch, std::size_t q_len, std::size_t kv_len, std::size_t head_dim, std::size_t value_dim,
                 float scale, bool causal, span<float> out) {
  detail::raise_if(
      nothrow::sdpa(q, k, v, kv_lengths, batch, q_len, kv_len, head_dim, value_dim, scale, causal, out));
}
inline void attention(const attnkern_attention_args& args) { detail::raise_if(nothrow::attention(args)); }
inline void attention_merge(const attnkern_merge_args& args) { detail::raise_if(nothrow::attention_merge(args)); }
inline void kv_append(const attnkern_kv_append_args& args) { detail::raise_if(nothrow::kv_append(args)); }
inline void paged_attention(const attnkern_paged_attention_args& args) { detail::raise_if(nothrow::paged_attention(args)); }

#endif  // ATTNKERN_HPP_EXCEPTIONS

// A builder of attnkern_attention_args: attnkern_attention_args_init, then a method per field or
// group of fields (every feature is off until set), in any order. A tensor is a pointer, an element
// type and strides; given as a view (of float, or of uint16_t for f16 and bf16 bits), try_run also
// checks that it holds every element its shape and strides reach, and an empty view of an optional
// one (lse, bias, mask, the per-item and per-head arrays) means none.
class attention_desc {
 public:
  attention_desc() noexcept { attnkern_attention_args_init(&a_); }
  // Starts from a filled struct (its struct_size included).
  explicit attention_desc(const attnkern_attention_args& args) noexcept : a_(args) {}

  attention_desc& batch(std::size_t n) noexcept {
    a_.batch = n;
    return *this;
  }
  // Query and key-value heads (q_heads a multiple of kv_heads); heads(n): both n.
  attention_desc& heads(std::size_t q_heads, std::size_t kv_heads) noexcept {
    a_.q_heads = q_heads;
    a_.kv_heads = kv_heads;
    return *this;
  }
  attention_desc& heads(std::size_t n) noexcept { return heads(n, n); }
  attention_desc& q_len(std::size_t n) noexcept {
    a_.q_len = n;
    return *this;
  }
  attention_desc& kv_len(std::size_t n) noexcept {
    a_.kv_len = n;
    return *this;
  }
  attention_desc& head_dim(std::size_t n) noexcept {
    a_.head_dim = n;
    return *this;
  }
  attention_desc& value_dim(std::size_t n) noexcept {
    a_.value_dim = n;
    return *this;
  }
  // Every size at once, in the struct's order.
  attention_desc& shape(std::size_t batch, std::size_t q_heads, std::size_t kv_heads, std::size_t q_len,
                        std::size_t kv_len, std::size_t head_dim, std::size_t value_dim) noexcept {
    return this->batch(batch).heads(q_heads, kv_heads).q_len(q_len).kv_len(kv_len).head_dim(head_dim).value_dim(
        value_dim);
  }

  // q [batch, q_heads, q_len, head_dim], k [batch, kv_heads, kv_len, head_dim],
  // v [batch, kv_heads, kv_len, value_dim], out [batch, q_heads, q_len, value_dim].
  attention_desc& q(const void* data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    a_.q = data;
    a_.q_dtype = dtype;
    a_.q_strides = strides;
    return sized(q_view, unchecked);
  }
  attention_desc& q(const float* data, attnkern_strides strides) noexcept { return q(data, ATTNKERN_F32, strides); }
  attention_desc& q(span<const float> data, attnkern_strides strides) noexcept {
    return q(data.data(), ATTNKERN_F32, strides).sized(q_view, data.size());
  }
  attention_desc& q(span<const std::uint16_t> data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    return q(data.data(), dtype, strides).sized(q_view, data.size());
  }
  attention_desc& k(const void* data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    a_.k = data;
    a_.k_dtype = dtype;
    a_.k_strides = strides;
    return sized(k_view, unchecked);
  }
  attention_desc& k(const float* data, attnkern_strides strides) noexcept { return k(data, ATTNKERN_F32, strides); }
  attention_desc& k(span<const float> data, attnkern_strides strides) noexcept {
    return k(data.data(), ATTNKERN_F32, strides).sized(k_view, data.size());
  }
  attention_desc& k(span<const std::uint16_t> data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    return k(data.data(), dtype, strides).sized(k_view, data.size());
  }
  attention_desc& v(const void* data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    a_.v = data;
    a_.v_dtype = dtype;
    a_.v_strides = strides;
    return sized(v_view, unchecked);
  }
  attention_desc& v(const float* data, attnkern_strides strides) noexcept { return v(data, ATTNKERN_F32, strides); }
  attention_desc& v(span<const float> data, attnkern_strides strides) noexcept {
    return v(data.data(), ATTNKERN_F32, strides).sized(v_view, data.size());
  }
  attention_desc& v(span<const std::uint16_t> data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    return v(data.data(), dtype, strides).sized(v_view, data.size());
  }
  attention_desc& out(void* data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    a_.out = data;
    a_.out_dtype = dtype;
    a_.out_strides = strides;
    return sized(out_view, unchecked);
  }
  attention_desc& out(float* data, attnkern_strides strides) noexcept { return out(data, ATTNKERN_F32, strides); }
  attention_desc& out(span<float> data, attnkern_strides strides) noexcept {
    return out(data.data(), ATTNKERN_F32, strides).sized(out_view, data.size());
  }
  attention_desc& out(span<std::uint16_t> data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    return out(data.data(), dtype, strides).sized(out_view, data.size());
  }
  // The log-sum-exp of each row, [batch, q_heads, q_len] (strides.seq is the row stride).
  attention_desc& lse(float* data, attnkern_strides strides) noexcept {
    a_.lse = data;
    a_.lse_strides = strides;
    return sized(lse_view, unchecked);
  }
  attention_desc& lse(span<float> data, attnkern_strides strides) noexcept {
    return lse(detail::optional(data), strides).sized(lse_view, data);
  }

  // 0 (the default): 1 / sqrt(head_dim).
  attention_desc& scale(float s) noexcept {
    a_.scale = s;
    return *this;
  }
  // Row i sees the keys j <= its diagonal key d; causal(align) sets where d lies too.
  attention_desc& causal(bool on = true) noexcept {
    a_.causal = on ? 1 : 0;
    return *this;
  }
  attention_desc& causal(attnkern_align where) noexcept { return causal(true).align(where); }
  // Where a row's diagonal key lies, for the causal mask, the window and ALiBi.
  attention_desc& align(attnkern_align where) noexcept {
    a_.align = where;
    return *this;
  }
  // A sliding window, d - left <= j <= d + right; window_off() removes it.
  attention_desc& window(std::int64_t left, std::int64_t right) noexcept {
    a_.window = 1;
    a_.window_left = left;
    a_.window_right = right;
    return *this;
  }
  attention_desc& window_off() noexcept {
    a_.window = 0;
    a_.window_left = a_.window_right = 0;
    return *this;
  }
  // [batch]: item b's keys from kv_starts[b] (left padding) and before kv_lengths[b] (right padding).
  attention_desc& kv_starts(const std::int32_t* starts) noexcept {
    a_.kv_starts = starts;
    return sized(kv_starts_view, unchecked);
  }
  attention_desc& kv_starts(span<const std::int32_t> starts) noexcept {
    return kv_starts(detail::optional(starts)).sized(kv_starts_view, starts);
  }
  attention_desc& kv_lengths(const std::int32_t* lengths) noexcept {
    a_.kv_lengths = lengths;
    return sized(kv_lengths_view, unchecked);
  }
  attention_desc& kv_lengths(span<const std::int32_t> lengths) noexcept {
    return kv_lengths(detail::optional(lengths)).sized(kv_lengths_view, lengths);
  }

  // The score modifiers, applied in attnkern.h's order of operations. softcap > 0: s = cap tanh(s / cap).
  attention_desc& softcap(float cap) noexcept {
    a_.softcap = cap;
    return *this;
  }
  // [batch, q_heads, q_len, kv_len], keys contiguous, added to the scores; -inf hides a key.
  attention_desc& bias(const void* data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    a_.bias = data;
    a_.bias_dtype = dtype;
    a_.bias_strides = strides;
    return sized(bias_view, unchecked);
  }
  attention_desc& bias(const float* data, attnkern_strides strides) noexcept {
    return bias(data, ATTNKERN_F32, strides);
  }
  attention_desc& bias(span<const float> data, attnkern_strides strides) noexcept {
    return bias(detail::optional(data), ATTNKERN_F32, strides).sized(bias_view, data);
  }
  attention_desc& bias(span<const std::uint16_t> data, attnkern_dtype dtype, attnkern_strides strides) noexcept {
    return bias(detail::optional(data), dtype, strides).sized(bias_view, data);
  }
  // [q_heads]: the bias times bias_head_scales[h] instead (ggml's ALiBi).
  attention_desc& bias_head_scales(const float* scales) noexcept {
    a_.bias_head_scales = scales;
    return sized(head_scales_view, unchecked);
  }
  attention_desc& bias_head_scales(span<const float> scales) noexcept {
    return bias_head_scales(detail::optional(scales)).sized(head_scales_view, scales);
  }
  // [q_heads]: s += alibi_slopes[h] * (j - d).
  attention_desc& alibi_slopes(const float* slopes) noexcept {
    a_.alibi_slopes = slopes;
    return sized(slopes_view, unchecked);
  }
  attention_desc& alibi_slopes(span<const float> slopes) noexcept {
    return alibi_slopes(detail::optional(slopes)).sized(slopes_view, slopes);
  }
  // [batch, q_heads, q_len, kv_len] bytes, keys contiguous; 0 hides a key.
  attention_desc& mask(const std::uint8_t* data, attnkern_strides strides) noexcept {
    a_.mask = data;
    a_.mask_strides = strides;
    return sized(mask_view, unchecked);
  }
  attention_desc& mask(span<const std::uint8_t> data, attnkern_strides strides) noexcept {
    return mask(detail::optional(data), strides).sized(mask_view, data);
  }
  // [q_heads]: a logit per head, in the softmax's denominator only.
  attention_desc& sinks(const float* logits) noexcept {
    a_.sinks = logits;
    return sized(sinks_view, unchecked);
  }
  attention_desc& sinks(span<const float> logits) noexcept {
    return sinks(detail::optional(logits)).sized(sinks_view, logits);
  }

  const attnkern_attention_args& args() const noexcept { return a_; }

  // The views' sizes (ATTNKERN_ERROR_INVALID_ARGUMENT and last_error_message() for one too small),
  // then attnkern_attention.
  attnkern_status try_run() const noexcept {
    const std::size_t b = a_.batch, hq = a_.q_heads, hk = a_.kv_heads, n = a_.q_len, m = a_.kv_len;
    const tensor tensors[] = {{"q", {b, hq, n, a_.head_dim}, a_.q_strides},
                              {"k", {b, hk, m, a_.head_dim}, a_.k_strides},
                              {"v", {b, hk, m, a_.value_dim}, a_.v_strides},
                              {"out", {b, hq, n, a_.value_dim}, a_.out_strides},
                              {"lse", {b, hq, n, 1}, a_.lse_strides},
                              {"bias", {b, hq, n, m}, a_.bias_strides},
                              {"mask", {b, hq, n, m}, a_.mask_strides}};
    static_assert(sizeof tensors / sizeof *tensors == kv_starts_view, "a tensor per view before kv_starts_view");
    for (std::size_t t = 0; t < kv_starts_view; ++t)
      if (attnkern_status s = reaches(tensors[t], size_[t])) return s;
    const char* fn = "attnkern::attention_desc";
    attnkern_status s = ATTNKERN_OK;
    if ((s = detail::fits(fn, "kv_starts", size_[kv_starts_view], "batch", {b})) ||
        (s = detail::fits(fn, "kv_lengths", size_[kv_lengths_view], "batch", {b})) ||
        (s = detail::fits(fn, "bias_head_scales", size_[head_scales_view], "q_heads", {hq})) ||
        (s = detail::fits(fn, "alibi_slopes", size_[slopes_view], "q_heads", {hq})) ||
        (s = detail::fits(fn, "sinks", size_[sinks_view], "q_heads", {hq})))
      return s;
    return nothrow::attention(a_);
  }
#if ATTNKERN_HPP_EXCEPTIONS
  void run() const { detail::raise_if(try_run()); }
#endif

 private:
  // The arrays a view may have given; the tensors first, in try_run's order.
  enum view_index : std::size_t {
    q_view, k_view, v_view, out_view, lse_view, bias_view, mask_view,
    kv_starts_view, kv_lengths_view, head_scales_view, slopes_view, sinks_view, views
  };
  // The size of an array given by a pointer: not checked.
  static constexpr std::size_t unchecked = SIZE_MAX;
  struct tensor {
    const char* name;
    std::size_t dims[4];
    attnkern_strides strides;
  };

  attention_desc& sized(view_index which, std::size_t size) noexcept {
    size_[which] = size;
    return *this;
  }
  // An optional array's view: an empty one is none, and so not checked.
  template <class T>
  attention_desc& sized(view_index which, span<T> view) noexcept {
    return sized(which, view.empty() ? unchecked : view.size());
  }

  // ATTNKERN_OK when `size` elements reach every element of the tensor (its last dimension
  // contiguous), or when that is not ours to say: a negative stride, or an offset past size_t, is the
  // C function's to report.
  static attnkern_status reaches(const tensor& t, std::size_t size) noexcept {
    if (size == unchecked) return ATTNKERN_OK;
    for (std::size_t d : t.dims)
      if (d == 0) return ATTNKERN_OK;
    const std::int64_t strides[3] = {t.strides.batch, t.strides.head, t.strides.seq};
    std::size_t last = t.dims[3] - 1;  // the offset of the last element
    for (int i = 0; i < 3; ++i) {
      if (strides[i] < 0) return ATTNKERN_OK;
      const std::size_t stride = static_cast<std::size_t>(strides[i]), count = t.dims[i] - 1;
      if (stride != 0 && count > (SIZE_MAX - last) / stride) return ATTNKERN_OK;
      last += count * stride;
    }
    if (size > last) return ATTNKERN_OK;
    detail::error_slot& s = detail::slot();
    std::snprintf(s.text, sizeof s.text,
                  "attnkern::attention_desc: %s holds %zu elements, fewer than the %zu its %zu x %zu x %zu x %zu "
                  "reach with strides {%lld, %lld, %lld}",
                  t.name, size, last + 1, t.dims[0], t.dims[1], t.dims[2], t.dims[3],
                  static_cast<long long>(strides[0]), static_cast<long long>(strides[1]),
                  static_cast<long long>(strides[2]));
    s.own = true;
    return ATTNKERN_ERROR_INVALID_ARGUMENT;
  }

  attnkern_attention_args a_;
  std::size_t size_[views] = {unchecked, unchecked, unchecked, unchecked, unchecked, unchecked,
                              unchecked, unchecked, unchecked, unchecked, unchecked, unchecked};
};

}  // namespace attnkern
