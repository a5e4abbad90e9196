// The C API: every argument checked (a failure returns its status, records the detail for
// attnkern_last_error_message and writes nothing), then the active ISA's table handed to the
// kernel's driver (kernels/drivers/), whose plan the executor (kernels/runtime/executor.hpp) runs on
// its threads.
#include <attnkern/attnkern.h>

#include "capi_checks.hpp"
#include "drivers/attention_driver.hpp"
#include "drivers/pooling_driver.hpp"
#include "drivers/softmax_driver.hpp"
#include "drivers/tanh_driver.hpp"
#include "runtime/dispatch.hpp"
#include "runtime/executor.hpp"

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
using namespace attnkern::capi;

std::atomic<int> requested_threads{0};  // 0 = the threading mode's default

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
  if (const attnkern_status s = check_lengths(function, lengths, batch)) return s;
  return check_outputs(function, inputs, context, weights);
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
    case ATTNKERN_ERROR_UNSUPPORTED:
      return "The request is valid but this version cannot serve it: an element type it does not take yet, or "
             "fields of a newer argument struct.";
  }
  return "Unknown attnkern status code.";
}

const char* attnkern_last_error_message(void) { return last_error_message(); }

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

attnkern_status attnkern_set_thread_pool(attnkern_parallel_for_fn parallel_for, void* pool, int threads) {
  if (!parallel_for) {
    attnkern::kernels::unset_thread_pool();
    return ATTNKERN_OK;
  }
  if (threads < 1)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, __func__, "threads is %d: a pool has at least 1 thread", threads);
  if (!attnkern::kernels::publish_thread_pool({parallel_for, pool, threads}))
    return fail(ATTNKERN_ERROR_OUT_OF_MEMORY, __func__, "no memory for the pool's record");
  return ATTNKERN_OK;
}

attnkern_status attnkern_set_threading(const char* mode) {
  if (const char* why = attnkern::kernels::threading_refusal(mode))
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, __func__, "mode \"%s\" cannot be set: %s", mode, why);
  attnkern::kernels::select_threading(mode);
  return ATTNKERN_OK;
}

const char* attnkern_threading_mode(void) {
  return attnkern::kernels::threading_name(attnkern::kernels::current_threading().mode);
}

attnkern_status attnkern_threading_env_status(void) {
  const char* ignored = attnkern::kernels::threading_env_ignored();
  if (!ignored) return ATTNKERN_OK;
  const char* why = attnkern::kernels::threading_refusal(ignored);
  return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, __func__, "ATTNKERN_THREADING=\"%s\" was ignored: %s; the initial mode was \"pool\"",
              ignored, why ? why : "it names no mode");
}

int attnkern_num_threads(void) {
  using attnkern::kernels::threading;
  const int n = requested_threads.load(std::memory_order_relaxed);
  const attnkern::kernels::threading_now now = attnkern::kernels::current_threading();
  if (now.mode == threading::external) return n > 0 ? n : now.external->threads;
#if defined(_OPENMP)
  // Inside an active parallel region: one thread, unless the caller has allowed nested parallelism
  // (omp_set_max_active_levels, OMP_MAX_ACTIVE_LEVELS) deep enough for one more level, which is
  // when an inner `omp parallel` of its own would fork too. The same for the built-in pool: the
  // region's threads have the cores.
  if (omp_get_active_level() >= omp_get_max_active_levels()) return 1;
  if (now.mode == threading::openmp) return n > 0 ? n : omp_get_max_threads();
#endif
  return n > 0 ? n : attnkern::kernels::pool_default_threads();
}

attnkern_status attnkern_tanh_f32(const float* x, float* y, size_t n) {
  const attnkern_status status = check_in_out(__func__, x, y, n);
  if (status != ATTNKERN_OK || n == 0) return status;
  attnkern::kernels::tanh_run(active_table(), x, y, n, attnkern_num_threads());
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
  attnkern::kernels::attention_args a{};
  attnkern_attention_args_init(&a);
  a.q = q;
  a.k = k;
  a.v = v;
  a.out = out;
  a.q_strides = attnkern_strides_bhsd(1, q_len, head_dim);  // (one head per batch item)
  a.k_strides = attnkern_strides_bhsd(1, kv_len, head_dim);
  a.v_strides = attnkern_strides_bhsd(1, kv_len, value_dim);
  a.out_strides = attnkern_strides_bhsd(1, q_len, value_dim);
  a.batch = batch;
  a.q_heads = a.kv_heads = 1;
  a.q_len = q_len;
  a.kv_len = kv_len;
  a.head_dim = head_dim;
  a.value_dim = value_dim;
  a.scale = scale;
  a.kv_lengths = kv_lengths;
  a.causal = causal != 0;
  a.q_type = a.k_type = a.v_type = a.out_type = a.bias_type = attnkern::kernels::dtype::f32;
  a.diagonal = attnkern::kernels::alignment::bottom_right_tensor;
  return attnkern::kernels::attention_run(active_table(), a, attnkern_num_threads()) ? ATTNKERN_OK : out_of_memory(fn);
}

attnkern_status attnkern_attention(const attnkern_attention_args* args) {
  const char* const fn = __func__;
  attnkern_attention_args a;
  // (the first published layout is this one, that of 0.1.0: `oldest` is `known`)
  if (const attnkern_status s = read_struct(fn, "attnkern_attention_args", args, sizeof a, sizeof a, &a)) return s;
  const struct {
    const char* name;
    int32_t dtype;
  } dtypes[] = {{"q_dtype", a.q_dtype},     {"k_dtype", a.k_dtype},      {"v_dtype", a.v_dtype},
                {"out_dtype", a.out_dtype}, {"bias_dtype", a.bias_dtype}};
  for (const auto& d : dtypes)
    if (const attnkern_status st = check_dtype(fn, d.name, d.dtype)) return st;
  // (every path runs every type: the halves are widened exactly, in SIMD where the ISA has it)
  auto type = internal_dtype;
  if (a.q_heads != 0 && (a.kv_heads == 0 || a.q_heads % a.kv_heads != 0))
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "q_heads = %zu is not a multiple of kv_heads = %zu", a.q_heads, a.kv_heads);
  if (const attnkern_status s = check_modifiers(fn, a.scale, a.window, a.window_left, a.window_right, a.softcap,
                                                 a.bias_head_scales != nullptr, a.bias != nullptr))
    return s;
  if (a.align != ATTNKERN_ALIGN_TOP_LEFT && a.align != ATTNKERN_ALIGN_BOTTOM_RIGHT)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "align = %" PRId32 " is not an attnkern_align", a.align);
  if (a.batch == 0 || a.q_heads == 0 || a.q_len == 0 || a.value_dim == 0) return ATTNKERN_OK;

  using attnkern::kernels::dtype_size;
  tensor_arg q{"q", a.q, a.q_strides, a.batch, a.q_heads, a.q_len, a.head_dim, dtype_size(type(a.q_dtype))};
  tensor_arg k{"k", a.k, a.k_strides, a.batch, a.kv_heads, a.kv_len, a.head_dim, dtype_size(type(a.k_dtype))};
  tensor_arg v{"v", a.v, a.v_strides, a.batch, a.kv_heads, a.kv_len, a.value_dim, dtype_size(type(a.v_dtype))};
  tensor_arg out{"out", a.out, a.out_strides, a.batch, a.q_heads, a.q_len, a.value_dim, dtype_size(type(a.out_dtype))};
  tensor_arg lse{"lse", a.lse, a.lse_strides, a.batch, a.q_heads, a.q_len, 1};
  if (!a.lse) lse.batch = 0;  // (optional)
  tensor_arg bias{"bias", a.bias, a.bias_strides, a.bias ? a.batch : 0, a.q_heads, a.q_len, a.kv_len,
                  dtype_size(type(a.bias_dtype))};
  tensor_arg mask{"mask", a.mask, a.mask_strides, a.mask ? a.batch : 0, a.q_heads, a.q_len, a.kv_len, 1};
  for (tensor_arg* t : {&q, &k, &v, &out, &lse, &bias, &mask})
    if (const attnkern_status s = check_tensor(fn, *t)) return s;
  for (const lengths_arg& r : {lengths_arg{"kv_starts", a.kv_starts, "kv_len", a.kv_len},
                                lengths_arg{"kv_lengths", a.kv_lengths, "kv_len", a.kv_len}})
    if (const attnkern_status s = check_lengths(fn, r, a.batch)) return s;
  if (a.kv_starts)
    for (std::size_t b = 0; b < a.batch; ++b) {
      const int32_t end = a.kv_lengths ? a.kv_lengths[b] : static_cast<int32_t>(a.kv_len);
      if (a.kv_starts[b] > end)
        return fail(ATTNKERN_ERROR_INVALID_LENGTH, fn, "kv_starts[%zu] = %" PRId32 " is past the end of its keys (%" PRId32 ")",
                    b, a.kv_starts[b], end);
    }
  if (a.kv_len > static_cast<std::size_t>(INT32_MAX) + 1 && (a.kv_starts || a.kv_lengths))
    return fail(ATTNKERN_ERROR_INVALID_SIZE, fn, "kv_len = %zu is beyond kv_lengths' int32 range", a.kv_len);
  for (const tensor_arg* o : {&out, &lse})
    if (const attnkern_status s = check_rows_disjoint(fn, *o)) return s;
  if (const attnkern_status s = check_outputs(
          fn,
          {{"q", q.p, q.elements, q.element_bytes},
           {"k", k.p, k.elements, k.element_bytes},
           {"v", v.p, v.elements, v.element_bytes},
           {"kv_starts", a.kv_starts, a.kv_starts ? a.batch : 0, sizeof(int32_t)},
           {"kv_lengths", a.kv_lengths, a.kv_lengths ? a.batch : 0, sizeof(int32_t)},
           {"bias", bias.p, bias.elements, bias.element_bytes},
           {"mask", mask.p, mask.elements, 1},
           {"bias_head_scales", a.bias_head_scales, a.bias_head_scales ? a.q_heads : 0},
           {"alibi_slopes", a.alibi_slopes, a.alibi_slopes ? a.q_heads : 0},
           {"sinks", a.sinks, a.sinks ? a.q_heads : 0}},
          {"out", out.p, out.elements, out.element_bytes}, {"lse", lse.p, lse.elements}))
    return s;

  attnkern::kernels::attention_args run{};
  static_cast<attnkern_attention_args&>(run) = a;  // the descriptor as given, then what it resolves to:
  run.q_type = type(a.q_dtype);
  run.k_type = type(a.k_dtype);
  run.v_type = type(a.v_dtype);
  run.out_type = type(a.out_dtype);
  run.bias_type = type(a.bias_dtype);
  resolve_scale_and_window(run);
  run.diagonal = a.align == ATTNKERN_ALIGN_TOP_LEFT ? attnkern::kernels::alignment::top_left
                                                     : attnkern::kernels::alignment::bottom_right;
  return attnkern::kernels::attention_run(active_table(), run, attnkern_num_threads()) ? ATTNKERN_OK : out_of_memory(fn);
}

attnkern_status attnkern_attention_merge(const attnkern_merge_args* args) {
  const char* const fn = __func__;
  attnkern_merge_args a;
  if (const attnkern_status s = read_struct(fn, "attnkern_merge_args", args, sizeof a, sizeof a, &a)) return s;
  if (a.batch == 0 || a.heads == 0 || a.rows == 0) return ATTNKERN_OK;
  tensor_arg out_a{"out_a", a.out_a, a.out_a_strides, a.batch, a.heads, a.rows, a.value_dim};
  tensor_arg lse_a{"lse_a", a.lse_a, a.lse_a_strides, a.batch, a.heads, a.rows, 1};
  tensor_arg out_b{"out_b", a.out_b, a.out_b_strides, a.batch, a.heads, a.rows, a.value_dim};
  tensor_arg lse_b{"lse_b", a.lse_b, a.lse_b_strides, a.batch, a.heads, a.rows, 1};
  tensor_arg out{"out", a.out, a.out_strides, a.batch, a.heads, a.rows, a.value_dim};
  tensor_arg lse{"lse", a.lse, a.lse_strides, a.batch, a.heads, a.rows, 1};
  if (!a.lse) lse.batch = 0;  // (optional)
  for (tensor_arg* t : {&out_a, &lse_a, &out_b, &lse_b, &out, &lse})
    if (const attnkern_status s = check_tensor(fn, *t)) return s;
  for (const tensor_arg* o : {&out, &lse})
    if (const attnkern_status s = check_rows_disjoint(fn, *o)) return s;
  // out may be out_a, and lse lse_a, exactly (same address and strides): each row is read, then written.
  auto same = [](const tensor_arg& x, const tensor_arg& y) {
    return x.p == y.p && x.strides.batch == y.strides.batch && x.strides.head == y.strides.head &&
           x.strides.seq == y.strides.seq;
  };
  for (const tensor_arg* o : {&out, &lse}) {
    if (o->elements == 0) continue;
    for (const tensor_arg* in : {&out_a, &lse_a, &out_b, &lse_b}) {
      if (in->elements == 0 || !overlaps(o->p, o->bytes(), in->p, in->bytes())) continue;
      if ((o == &out && in == &out_a && same(out, out_a)) || (o == &lse && in == &lse_a && same(lse, lse_a))) continue;
      return fail(ATTNKERN_ERROR_ALIASING, fn, "%s overlaps %s (only out == out_a and lse == lse_a, with the same "
                  "strides, are allowed)", o->name, in->name);
    }
  }
  if (lse.elements != 0 && out.elements != 0 && overlaps(out.p, out.bytes(), lse.p, lse.bytes()))
    return fail(ATTNKERN_ERROR_ALIASING, fn, "lse overlaps out");
  attnkern::kernels::merge_args m{a.out_a, a.lse_a, a.out_b, a.lse_b, a.out, a.lse,
                                   out_a.internal(), lse_a.internal(), out_b.internal(), lse_b.internal(),
                                   out.internal(), lse.internal(), a.batch, a.heads, a.rows, a.value_dim};
  attnkern::kernels::attention_merge_run(m);
  return ATTNKERN_OK;
}

}  // extern "C"
