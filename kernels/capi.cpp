// The C API: every argument checked (a failure returns its status, records the detail for
// attnkern_last_error_message and writes nothing), then the active ISA's table handed to the
// kernel's driver (kernels/*/..._driver.cpp), whose plan the executor (kernels/executor.hpp) runs on
// its threads; tanh's chunks go to the executor from here, below.
#include <attnkern/attnkern.h>

#include "attention/attention_driver.hpp"
#include "sdpa/sdpa_driver.hpp"
#include "dispatch.hpp"
#include "executor.hpp"
#include "softmax/softmax_driver.hpp"

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using attnkern::kernels::active_table;

std::atomic<int> requested_threads{0};  // 0 = OpenMP's default

// attnkern_last_error_message: the calling thread's last failure, "function: what and which value".
thread_local char last_error[320] = "";

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
attnkern_status
fail(attnkern_status status, const char* function, const char* format, ...) noexcept {
  const int used = std::snprintf(last_error, sizeof last_error, "%s: ", function);
  if (used > 0 && static_cast<std::size_t>(used) < sizeof last_error) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(last_error + used, sizeof last_error - static_cast<std::size_t>(used), format, args);
    va_end(args);
  }
  return status;
}

// Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte. Compared as integers: pointers into
// different arrays cannot be ordered portably.
bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) noexcept {
  const auto pa = reinterpret_cast<std::uintptr_t>(a);
  const auto pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

// The checks shared by every entry point with an input x and an output y of n floats, y == x
// allowed: zero sizes are valid, then null pointers, then byte counts that overflow, then overlap.
attnkern_status check_in_out(const char* function, const float* x, const float* y, std::size_t n) noexcept {
  if (n == 0) return ATTNKERN_OK;
  if (!x || !y) return fail(ATTNKERN_ERROR_NULL_POINTER, function, "%s is NULL while it holds %zu floats", x ? "y" : "x", n);
  if (n > SIZE_MAX / sizeof(float))
    return fail(ATTNKERN_ERROR_INVALID_SIZE, function, "%zu floats are more bytes than size_t counts", n);
  const std::size_t bytes = n * sizeof(float);
  if (x != y && overlaps(x, bytes, y, bytes))
    return fail(ATTNKERN_ERROR_ALIASING, function, "y overlaps x without being equal to it (only y == x, in place, is allowed)");
  return ATTNKERN_OK;
}

// Elementwise kernels split arrays into chunks of this many elements, and go parallel only when
// each thread gets at least tanh_min_per_thread of them. Measured on 2 Zen 4 cores (best of 2000
// warm calls): 2 threads give 1.06x at 4K elements, 1.39x at 8K, 1.64x at 16K, 1.80x at 32K; a
// cold fork costs more, so tanh starts at 16K (8K per thread).
constexpr std::size_t elementwise_chunk = 8192;
constexpr std::size_t tanh_min_per_thread = 8192;

// fn over x[0, n) -> y in chunks of elementwise_chunk, on the executor's threads.
template <class Fn>
void for_each_chunk(const float* x, float* y, std::size_t n, std::size_t min_per_thread, Fn fn) noexcept {
  using namespace attnkern::kernels;
  const std::size_t chunks = (n + elementwise_chunk - 1) / elementwise_chunk;
  const int threads = threads_for(n, min_per_thread, chunks, attnkern_num_threads());
  if (threads <= 1) {
    fn(x, y, n);
    return;
  }
  parallel(threads, [&](const team& team) {
    team.for_each<schedule::fixed>(chunks, [&](std::size_t c) {
      const std::size_t begin = c * elementwise_chunk;
      fn(x + begin, y + begin, std::min(elementwise_chunk, n - begin));
    });
  });
}

attnkern_status softmax_common(const char* function, const float* x, float* y, std::size_t rows, std::size_t cols,
                               bool log) noexcept {
  if (rows == 0 || cols == 0) return ATTNKERN_OK;
  if (!x || !y)
    return fail(ATTNKERN_ERROR_NULL_POINTER, function, "%s is NULL while it holds rows x cols = %zu x %zu floats",
                x ? "y" : "x", rows, cols);
  if (rows > SIZE_MAX / cols)
    return fail(ATTNKERN_ERROR_INVALID_SIZE, function, "rows x cols = %zu x %zu overflows size_t", rows, cols);
  const attnkern_status status = check_in_out(function, x, y, rows * cols);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::softmax_run(active_table(), x, y, rows, cols, log, attnkern_num_threads())
             ? ATTNKERN_OK
             : fail(ATTNKERN_ERROR_OUT_OF_MEMORY, function, "the scratch for %zu x %zu could not be allocated", rows, cols);
}

// An array's shape: its name, its dimensions' names ("batch x steps") and values; count receives
// the product.
struct shape_arg {
  const char* name;
  const char* dim_names;
  std::initializer_list<std::size_t> dims;
  std::size_t* count;
};

// The element count of each array, in order; INVALID_SIZE at the first whose count or byte count
// (as floats) overflows size_t.
attnkern_status element_counts(const char* function, std::initializer_list<shape_arg> shapes) noexcept {
  for (const shape_arg& a : shapes) {
    std::size_t n = 1;
    bool overflow = false;
    for (const std::size_t d : a.dims) {
      if (d != 0 && n > SIZE_MAX / d) overflow = true;
      if (!overflow) n *= d;
    }
    *a.count = n;
    if (!overflow && n <= SIZE_MAX / sizeof(float)) continue;
    char shape[96] = "";
    for (const std::size_t d : a.dims) {
      const std::size_t used = std::strlen(shape);
      std::snprintf(shape + used, sizeof shape - used, "%s%zu", used ? " x " : "", d);
    }
    return fail(ATTNKERN_ERROR_INVALID_SIZE, function, "%s has %s = %s floats, more bytes than size_t counts", a.name,
                a.dim_names, shape);
  }
  return ATTNKERN_OK;
}

// An array argument: its name, address and size in elements of `element_bytes`.
struct array_arg {
  const char* name;
  const void* p;
  std::size_t count;
  std::size_t element_bytes = sizeof(float);
  std::size_t bytes() const noexcept { return count * element_bytes; }
};

// The sequence lengths of a kernel: the array `name` (lengths or kv_lengths), each in [0, `bound`],
// the sequence size called `bound_name`.
struct lengths_arg {
  const char* name;
  const int32_t* p;
  const char* bound_name;
  std::size_t bound;
};

// The checks of the attention kernels, in order: required arrays (inputs and outputs) that are null
// while non-empty, lengths outside [0, bound], outputs that overlap an input or each other.
// Optional inputs (bias, lengths) and weights may be null.
attnkern_status check_attention(const char* function, std::initializer_list<array_arg> inputs, array_arg context,
                                array_arg weights, lengths_arg lengths, std::size_t batch) noexcept {
  for (const array_arg& a : inputs)
    if (a.count != 0 && !a.p)
      return fail(ATTNKERN_ERROR_NULL_POINTER, function, "%s is NULL while it holds %zu elements", a.name, a.count);
  if (context.count != 0 && !context.p)
    return fail(ATTNKERN_ERROR_NULL_POINTER, function, "%s is NULL while it holds %zu floats", context.name, context.count);
  if (lengths.p) {
    for (std::size_t b = 0; b < batch; ++b)
      if (lengths.p[b] < 0 || static_cast<uint64_t>(lengths.p[b]) > lengths.bound)
        return fail(ATTNKERN_ERROR_INVALID_LENGTH, function, "%s[%zu] = %" PRId32 " is outside [0, %s = %zu]", lengths.name, b,
                    lengths.p[b], lengths.bound_name, lengths.bound);
  }
  for (const array_arg& out : {context, weights}) {
    if (!out.p || out.count == 0) continue;
    for (const array_arg& in : inputs)
      if (in.p && in.count != 0 && overlaps(out.p, out.bytes(), in.p, in.bytes()))
        return fail(ATTNKERN_ERROR_ALIASING, function, "%s overlaps %s (outputs may not overlap any input)", out.name, in.name);
  }
  if (context.p && weights.p && context.count != 0 && weights.count != 0 &&
      overlaps(context.p, context.bytes(), weights.p, weights.bytes()))
    return fail(ATTNKERN_ERROR_ALIASING, function, "%s overlaps %s", weights.name, context.name);
  return ATTNKERN_OK;
}

attnkern_status out_of_memory(const char* function) noexcept {
  return fail(ATTNKERN_ERROR_OUT_OF_MEMORY, function, "the scratch for this shape could not be allocated; nothing was written");
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
      return "The ISA path cannot be used: either the name is unknown, or this CPU or this build lacks the path "
             "(attnkern_last_error_message says which; attnkern_isa_list lists the usable paths).";
    case ATTNKERN_ERROR_INVALID_ARGUMENT:
      return "An argument has an invalid value (for example a non-finite scale).";
    case ATTNKERN_ERROR_OUT_OF_MEMORY:
      return "The kernel's scratch memory could not be allocated; nothing was written.";
  }
  return "Unknown attnkern status code.";
}

const char* attnkern_last_error_message(void) { return last_error; }

const char* attnkern_isa(void) { return attnkern::kernels::active_isa(); }

const char* attnkern_isa_list(void) { return attnkern::kernels::usable_isas(); }

attnkern_status attnkern_isa_env_status(void) {
  const char* ignored = attnkern::kernels::isa_env_ignored();
  if (!ignored) return ATTNKERN_OK;
  const char* why = attnkern::kernels::isa_refusal(ignored);
  return fail(ATTNKERN_ERROR_UNSUPPORTED_ISA, "attnkern_isa_env_status",
              "ATTNKERN_ISA=\"%s\" was ignored: %s; the initial path was the best one; usable here: %s", ignored,
              why ? why : "it names no usable path", attnkern::kernels::usable_isas());
}

attnkern_status attnkern_set_isa(const char* name) {
  if (const char* why = attnkern::kernels::isa_refusal(name))
    return fail(ATTNKERN_ERROR_UNSUPPORTED_ISA, "attnkern_set_isa", "\"%s\" cannot be used: %s; usable here: %s", name, why,
                attnkern::kernels::usable_isas());
  return attnkern::kernels::select_isa(name);
}

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
  const attnkern_status status = check_in_out(__func__, x, y, n);
  if (status != ATTNKERN_OK || n == 0) return status;
  for_each_chunk(x, y, n, tanh_min_per_thread, active_table().tanh_f32);
  return ATTNKERN_OK;
}

attnkern_status attnkern_softmax_f32(const float* x, float* y, size_t rows, size_t cols) {
  return softmax_common(__func__, x, y, rows, cols, false);
}

attnkern_status attnkern_log_softmax_f32(const float* x, float* y, size_t rows, size_t cols) {
  return softmax_common(__func__, x, y, rows, cols, true);
}

attnkern_status attnkern_attention_pool_f32(const float* h, const float* w, const float* bias, const int32_t* lengths,
                                            size_t batch, size_t steps, size_t features, float* context,
                                            float* weights) {
  if (batch == 0) return ATTNKERN_OK;
  const char* const fn = __func__;
  std::size_t n_h = 0, n_context = 0, n_weights = 0;
  if (const attnkern_status s = element_counts(
      fn, {
       {"h", "batch x steps x features", {batch, steps, features}, &n_h},
       {"context", "batch x features", {batch, features}, &n_context},
       {"weights", "batch x steps", {batch, steps}, &n_weights}}))
    return s;
  // (bias and lengths are optional: a null one has no elements)
  const attnkern_status status = check_attention(
      fn, {{"h", h, n_h}, {"w", w, features}, {"bias", bias, bias ? steps : 0}, {"lengths", lengths, lengths ? batch : 0, sizeof(int32_t)}},
      {"context", context, n_context}, {"weights", weights, weights ? n_weights : 0}, {"lengths", lengths, "steps", steps},
      batch);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::attention_pool_run(active_table(),
                                               {h, w, bias, lengths, batch, steps, features, context, weights},
                                               attnkern_num_threads())
             ? ATTNKERN_OK
             : out_of_memory(fn);
}

attnkern_status attnkern_additive_attention_f32(const float* keys, const float* query, const float* v,
                                                const float* values, const int32_t* lengths, size_t batch,
                                                size_t steps, size_t attn_dim, size_t features, float* context,
                                                float* weights) {
  if (batch == 0) return ATTNKERN_OK;
  const char* const fn = __func__;
  std::size_t n_keys = 0, n_query = 0, n_values = 0, n_context = 0, n_weights = 0;
  if (const attnkern_status s = element_counts(
      fn, {
       {"keys", "batch x steps x attn_dim", {batch, steps, attn_dim}, &n_keys},
       {"query", "batch x attn_dim", {batch, attn_dim}, &n_query},
       {"values", "batch x steps x features", {batch, steps, features}, &n_values},
       {"context", "batch x features", {batch, features}, &n_context},
       {"weights", "batch x steps", {batch, steps}, &n_weights}}))
    return s;
  const attnkern_status status = check_attention(
      fn,
      {{"keys", keys, n_keys}, {"query", query, n_query}, {"v", v, attn_dim}, {"values", values, n_values},
       {"lengths", lengths, lengths ? batch : 0, sizeof(int32_t)}},
      {"context", context, n_context}, {"weights", weights, weights ? n_weights : 0}, {"lengths", lengths, "steps", steps},
      batch);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::additive_attention_run(
             active_table(), {keys, query, v, values, lengths, batch, steps, attn_dim, features, context, weights},
             attnkern_num_threads())
             ? ATTNKERN_OK
             : out_of_memory(fn);
}

attnkern_status attnkern_sdpa_f32(const float* q, const float* k, const float* v, const int32_t* kv_lengths,
                                  size_t batch, size_t q_len, size_t kv_len, size_t head_dim, size_t value_dim,
                                  float scale, int causal, float* out) {
  const char* const fn = __func__;
  if (!std::isfinite(scale)) return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "scale = %g is not finite", static_cast<double>(scale));
  if (batch == 0) return ATTNKERN_OK;
  std::size_t n_q = 0, n_k = 0, n_v = 0, n_out = 0;
  if (const attnkern_status s = element_counts(
      fn, {
       {"q", "batch x q_len x head_dim", {batch, q_len, head_dim}, &n_q},
       {"k", "batch x kv_len x head_dim", {batch, kv_len, head_dim}, &n_k},
       {"v", "batch x kv_len x value_dim", {batch, kv_len, value_dim}, &n_v},
       {"out", "batch x q_len x value_dim", {batch, q_len, value_dim}, &n_out}}))
    return s;
  const attnkern_status status = check_attention(
      fn, {{"q", q, n_q}, {"k", k, n_k}, {"v", v, n_v}, {"kv_lengths", kv_lengths, kv_lengths ? batch : 0, sizeof(int32_t)}},
      {"out", out, n_out}, {"(none)", nullptr, 0}, {"kv_lengths", kv_lengths, "kv_len", kv_len}, batch);
  if (status != ATTNKERN_OK) return status;
  return attnkern::kernels::sdpa_run(
             active_table(), {q, k, v, kv_lengths, batch, q_len, kv_len, head_dim, value_dim, scale, causal != 0, out},
             attnkern_num_threads())
             ? ATTNKERN_OK
             : out_of_memory(fn);
}

}  // extern "C"
