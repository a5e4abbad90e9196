// The C API: argument checks, then the OpenMP loop, then the active ISA's single-threaded kernel.
#include <attnkern/attnkern.h>

#include "attention/attention_driver.hpp"
#include "sdpa/sdpa_driver.hpp"
#include "dispatch.hpp"
#include "softmax/softmax_driver.hpp"

#include <algorithm>
#include <initializer_list>
#include <atomic>
#include <cmath>
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using attnkern::kernels::active_table;

std::atomic<int> requested_threads{0};  // 0 = OpenMP's default

// Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte. Compared as integers: pointers into
// different arrays cannot be ordered portably.
bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) noexcept {
  const auto pa = reinterpret_cast<std::uintptr_t>(a);
  const auto pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

// The checks shared by every entry point with an input and an output of n floats, y == x allowed:
// zero sizes are valid, then null pointers, then byte counts that overflow, then overlap.
attnkern_status check_in_out(const float* x, const float* y, std::size_t n) noexcept {
  if (n == 0) return ATTNKERN_OK;
  if (!x || !y) return ATTNKERN_ERROR_NULL_POINTER;
  if (n > SIZE_MAX / sizeof(float)) return ATTNKERN_ERROR_INVALID_SIZE;
  const std::size_t bytes = n * sizeof(float);
  if (x != y && overlaps(x, bytes, y, bytes)) return ATTNKERN_ERROR_ALIASING;
  return ATTNKERN_OK;
}

// The threads a kernel may use for `work_items` independent items of which `min_per_thread` are
// worth a thread; 1 when called inside an enclosing OpenMP region (no nested oversubscription) unless
// the caller allowed nesting (attnkern_num_threads).
int threads_for(std::size_t work_items, std::size_t min_per_thread) noexcept {
  const std::size_t useful = work_items / min_per_thread;
  if (useful < 2) return 1;
  const int available = attnkern_num_threads();
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(available), useful));
}

// Elementwise kernels split arrays into chunks of this many elements, and go parallel only when
// each thread gets at least tanh_min_per_thread of them. Measured on 2 Zen 4 cores (best of 2000
// warm calls): 2 threads give 1.06x at 4K elements, 1.39x at 8K, 1.64x at 16K, 1.80x at 32K; a
// cold fork costs more, so tanh starts at 16K (8K per thread).
constexpr std::size_t elementwise_chunk = 8192;
constexpr std::size_t tanh_min_per_thread = 8192;

template <class Fn>
void for_each_chunk(const float* x, float* y, std::size_t n, std::size_t min_per_thread, Fn fn) noexcept {
  const int threads = threads_for(n, min_per_thread);
  if (threads <= 1) {
    fn(x, y, n);
    return;
  }
  const std::ptrdiff_t chunks = static_cast<std::ptrdiff_t>((n + elementwise_chunk - 1) / elementwise_chunk);
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
  for (std::ptrdiff_t c = 0; c < chunks; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * elementwise_chunk;
    fn(x + begin, y + begin, std::min(elementwise_chunk, n - begin));
  }
}

attnkern_status softmax_common(const float* x, float* y, std::size_t rows, std::size_t cols, bool log) noexcept {
  if (rows == 0 || cols == 0) return ATTNKERN_OK;
  const std::size_t n = rows > SIZE_MAX / cols ? SIZE_MAX : rows * cols;  // (SIZE_MAX: refused below)
  const attnkern_status status = check_in_out(x, y, n);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::softmax_run(active_table(), x, y, rows, cols, log, attnkern_num_threads())
             ? ATTNKERN_OK
             : ATTNKERN_ERROR_OUT_OF_MEMORY;
}

// n = the product of `factors`, false when it or its byte count (as floats) overflows size_t.
bool element_count(std::initializer_list<std::size_t> factors, std::size_t& n) noexcept {
  n = 1;
  for (const std::size_t f : factors) {
    if (f != 0 && n > SIZE_MAX / f) return false;
    n *= f;
  }
  return n <= SIZE_MAX / sizeof(float);
}

// An array argument: its address and its size in elements of `element_bytes`.
struct array_arg {
  const void* p;
  std::size_t count;
  std::size_t element_bytes = sizeof(float);
  std::size_t bytes() const noexcept { return count * element_bytes; }
};

// The checks of the fused attention kernels, in order: required arrays (inputs and context) that
// are null while non-empty, lengths outside [0, steps], outputs that overlap an input or each other.
// Optional inputs (bias, lengths) and weights may be null.
attnkern_status check_attention(std::initializer_list<array_arg> inputs, array_arg context, array_arg weights,
                                const int32_t* lengths, std::size_t batch, std::size_t steps) noexcept {
  for (const array_arg& a : inputs)
    if (a.count != 0 && !a.p) return ATTNKERN_ERROR_NULL_POINTER;
  if (context.count != 0 && !context.p) return ATTNKERN_ERROR_NULL_POINTER;
  if (lengths) {
    for (std::size_t b = 0; b < batch; ++b)
      if (lengths[b] < 0 || static_cast<uint64_t>(lengths[b]) > steps) return ATTNKERN_ERROR_INVALID_LENGTH;
  }
  for (const array_arg& out : {context, weights}) {
    if (!out.p || out.count == 0) continue;
    for (const array_arg& in : inputs)
      if (in.p && in.count != 0 && overlaps(out.p, out.bytes(), in.p, in.bytes())) return ATTNKERN_ERROR_ALIASING;
  }
  if (context.p && weights.p && context.count != 0 && weights.count != 0 &&
      overlaps(context.p, context.bytes(), weights.p, weights.bytes()))
    return ATTNKERN_ERROR_ALIASING;
  return ATTNKERN_OK;
}

}  // namespace

extern "C" {

const char* attnkern_version(void) { return ATTNKERN_VERSION_STRING; }

const char* attnkern_status_message(attnkern_status status) {
  switch (status) {
    case ATTNKERN_OK:
      return "Success.";
    case ATTNKERN_ERROR_NULL_POINTER:
      return "A required pointer is NULL while its array is not empty.";
    case ATTNKERN_ERROR_INVALID_SIZE:
      return "A size is too large: its element count or byte count overflows size_t.";
    case ATTNKERN_ERROR_INVALID_LENGTH:
      return "A sequence length is negative or larger than the sequence size.";
    case ATTNKERN_ERROR_ALIASING:
      return "An output array overlaps an input array (only an exact in-place call is allowed where documented).";
    case ATTNKERN_ERROR_UNSUPPORTED_ISA:
      return "The ISA name is unknown, or this CPU or build does not support it.";
    case ATTNKERN_ERROR_INVALID_ARGUMENT:
      return "An argument has an invalid value (for example a non-finite scale).";
    case ATTNKERN_ERROR_OUT_OF_MEMORY:
      return "The kernel's scratch memory could not be allocated; nothing was written.";
  }
  return "Unknown attnkern status code.";
}

const char* attnkern_isa(void) { return attnkern::kernels::active_isa(); }

attnkern_status attnkern_set_isa(const char* name) { return attnkern::kernels::select_isa(name); }

void attnkern_set_num_threads(int n) { requested_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

int attnkern_num_threads(void) {
#if defined(_OPENMP)
  // Inside an active parallel region: one thread, unless the caller has allowed nested parallelism
  // (omp_set_max_active_levels, OMP_MAX_ACTIVE_LEVELS) deep enough for one more level, which is
  // when an inner `omp parallel` of its own would fork too.
  if (omp_get_active_level() >= omp_get_max_active_levels()) return 1;
  const int n = requested_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

attnkern_status attnkern_tanh_f32(const float* x, float* y, size_t n) {
  const attnkern_status status = check_in_out(x, y, n);
  if (status != ATTNKERN_OK || n == 0) return status;
  for_each_chunk(x, y, n, tanh_min_per_thread, active_table().tanh_f32);
  return ATTNKERN_OK;
}

attnkern_status attnkern_softmax_f32(const float* x, float* y, size_t rows, size_t cols) {
  return softmax_common(x, y, rows, cols, false);
}

attnkern_status attnkern_log_softmax_f32(const float* x, float* y, size_t rows, size_t cols) {
  return softmax_common(x, y, rows, cols, true);
}

}  // extern "C"

extern "C" {

attnkern_status attnkern_attention_pool_f32(const float* h, const float* w, const float* bias, const int32_t* lengths,
                                            size_t batch, size_t steps, size_t features, float* context,
                                            float* weights) {
  if (batch == 0) return ATTNKERN_OK;
  std::size_t n_h = 0, n_context = 0, n_weights = 0;
  if (!element_count({batch, steps, features}, n_h) || !element_count({batch, features}, n_context) ||
      !element_count({batch, steps}, n_weights))
    return ATTNKERN_ERROR_INVALID_SIZE;
  // (bias and lengths are optional: a null one has no elements)
  const attnkern_status status =
      check_attention({{h, n_h}, {w, features}, {bias, bias ? steps : 0}, {lengths, lengths ? batch : 0, sizeof(int32_t)}},
                      {context, n_context}, {weights, weights ? n_weights : 0}, lengths, batch, steps);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::attention_pool_run(active_table(),
                                               {h, w, bias, lengths, batch, steps, features, context, weights},
                                               attnkern_num_threads())
             ? ATTNKERN_OK
             : ATTNKERN_ERROR_OUT_OF_MEMORY;
}

attnkern_status attnkern_additive_attention_f32(const float* keys, const float* query, const float* v,
                                                const float* values, const int32_t* lengths, size_t batch,
                                                size_t steps, size_t attn_dim, size_t features, float* context,
                                                float* weights) {
  if (batch == 0) return ATTNKERN_OK;
  std::size_t n_keys = 0, n_query = 0, n_values = 0, n_context = 0, n_weights = 0;
  if (!element_count({batch, steps, attn_dim}, n_keys) || !element_count({batch, attn_dim}, n_query) ||
      !element_count({batch, steps, features}, n_values) || !element_count({batch, features}, n_context) ||
      !element_count({batch, steps}, n_weights))
    return ATTNKERN_ERROR_INVALID_SIZE;
  const attnkern_status status = check_attention(
      {{keys, n_keys}, {query, n_query}, {v, attn_dim}, {values, n_values}, {lengths, lengths ? batch : 0, sizeof(int32_t)}},
      {context, n_context}, {weights, weights ? n_weights : 0}, lengths, batch, steps);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::additive_attention_run(
             active_table(), {keys, query, v, values, lengths, batch, steps, attn_dim, features, context, weights},
             attnkern_num_threads())
             ? ATTNKERN_OK
             : ATTNKERN_ERROR_OUT_OF_MEMORY;
}

attnkern_status attnkern_sdpa_f32(const float* q, const float* k, const float* v, const int32_t* kv_lengths,
                                  size_t batch, size_t q_len, size_t kv_len, size_t head_dim, size_t value_dim,
                                  float scale, int causal, float* out) {
  if (!std::isfinite(scale)) return ATTNKERN_ERROR_INVALID_ARGUMENT;
  if (batch == 0) return ATTNKERN_OK;
  std::size_t n_q = 0, n_k = 0, n_v = 0, n_out = 0;
  if (!element_count({batch, q_len, head_dim}, n_q) || !element_count({batch, kv_len, head_dim}, n_k) ||
      !element_count({batch, kv_len, value_dim}, n_v) || !element_count({batch, q_len, value_dim}, n_out))
    return ATTNKERN_ERROR_INVALID_SIZE;
  const attnkern_status status = check_attention(
      {{q, n_q}, {k, n_k}, {v, n_v}, {kv_lengths, kv_lengths ? batch : 0, sizeof(int32_t)}}, {out, n_out},
      {nullptr, 0}, kv_lengths, batch, kv_len);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::sdpa_run(
             active_table(), {q, k, v, kv_lengths, batch, q_len, kv_len, head_dim, value_dim, scale, causal != 0, out},
             attnkern_num_threads())
             ? ATTNKERN_OK
             : ATTNKERN_ERROR_OUT_OF_MEMORY;
}

}  // extern "C"
