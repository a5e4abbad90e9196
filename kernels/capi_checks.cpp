// The C API's argument checks (capi_checks.hpp).
#include "capi_checks.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace attnkern {
namespace capi {
namespace {

// attnkern_last_error_message: the calling thread's last failure, "function: what and which value".
thread_local char last_error[320] = "";

}  // namespace

const char* last_error_message() noexcept { return last_error; }

attnkern_status fail(attnkern_status status, const char* function, const char* format, ...) noexcept {
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

attnkern_status out_of_memory(const char* function) noexcept {
  return fail(ATTNKERN_ERROR_OUT_OF_MEMORY, function, "the scratch for this shape could not be allocated; nothing was written");
}

// Each of `lengths.p`'s batch entries (when it is not null) lies in [0, bound].
attnkern_status check_lengths(const char* function, lengths_arg lengths, std::size_t batch) noexcept {
  if (lengths.p) {
    for (std::size_t b = 0; b < batch; ++b)
      if (lengths.p[b] < 0 || static_cast<uint64_t>(lengths.p[b]) > lengths.bound)
        return fail(ATTNKERN_ERROR_INVALID_LENGTH, function, "%s[%zu] = %" PRId32 " is outside [0, %s = %zu]", lengths.name, b,
                    lengths.p[b], lengths.bound_name, lengths.bound);
  }
  return ATTNKERN_OK;
}

// Neither output (either may be null or empty) overlaps an input or the other.
attnkern_status check_outputs(const char* function, std::initializer_list<array_arg> inputs, array_arg first,
                              array_arg second) noexcept {
  for (const array_arg& out : {first, second}) {
    if (!out.p || out.count == 0) continue;
    for (const array_arg& in : inputs)
      if (in.p && in.count != 0 && overlaps(out.p, out.bytes(), in.p, in.bytes()))
        return fail(ATTNKERN_ERROR_ALIASING, function, "%s overlaps %s (outputs may not overlap any input)", out.name, in.name);
  }
  if (first.p && second.p && first.count != 0 && second.count != 0 &&
      overlaps(first.p, first.bytes(), second.p, second.bytes()))
    return fail(ATTNKERN_ERROR_ALIASING, function, "%s overlaps %s", second.name, first.name);
  return ATTNKERN_OK;
}

// Checks a tensor's strides (not negative), its span (no overflow) and its pointer (not null while
// it holds elements); sets t.elements.
attnkern_status check_tensor(const char* function, tensor_arg& t) noexcept {
  const int64_t st[3] = {t.strides.batch, t.strides.head, t.strides.seq};
  const char* names[3] = {"batch", "head", "seq"};
  for (int i = 0; i < 3; ++i)
    if (st[i] < 0)
      return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, function, "%s_strides.%s = %" PRId64 " is negative", t.name, names[i],
                  st[i]);
  t.elements = 0;
  if (t.empty()) return ATTNKERN_OK;
  const std::size_t counts[3] = {t.batch, t.heads, t.seq};
  std::size_t span = t.dim;
  for (int i = 0; i < 3; ++i) {
    const uint64_t step = static_cast<uint64_t>(st[i]);
    const std::size_t n = counts[i] - 1;
    if (step > SIZE_MAX || (n != 0 && step > (SIZE_MAX - span) / n))
      return fail(ATTNKERN_ERROR_INVALID_SIZE, function, "%s spans more elements than size_t counts (%s_strides.%s = %" PRId64
                  " times %zu)", t.name, t.name, names[i], st[i], n);
    span += static_cast<std::size_t>(step) * n;
  }
  // (no object is larger than PTRDIFF_MAX bytes: a span past it cannot be the caller's memory, and
  // p + span would not be a valid pointer)
  if (span > static_cast<std::size_t>(PTRDIFF_MAX) / t.element_bytes)
    return fail(ATTNKERN_ERROR_INVALID_SIZE, function, "%s spans %zu elements, more bytes than any object holds (PTRDIFF_MAX)",
                t.name, span);
  t.elements = span;
  if (!t.p) return fail(ATTNKERN_ERROR_NULL_POINTER, function, "%s is NULL while it holds %zu x %zu x %zu x %zu elements",
                        t.name, t.batch, t.heads, t.seq, t.dim);
  return ATTNKERN_OK;
}

// An output's rows may not overlap: ordered by stride, each dimension's stride must reach past the
// extent of the smaller ones (a sufficient test, exact for every layout that is a permutation).
attnkern_status check_rows_disjoint(const char* function, const tensor_arg& t) noexcept {
  if (t.empty()) return ATTNKERN_OK;
  struct dimension {
    const char* name;
    std::size_t stride, count;
  } dims[3] = {{"batch", static_cast<std::size_t>(t.strides.batch), t.batch},
               {"head", static_cast<std::size_t>(t.strides.head), t.heads},
               {"seq", static_cast<std::size_t>(t.strides.seq), t.seq}};
  std::sort(dims, dims + 3, [](const dimension& a, const dimension& b) { return a.stride < b.stride; });
  std::size_t extent = t.dim;
  for (const dimension& d : dims) {
    if (d.count <= 1) continue;
    if (d.stride < extent)
      return fail(ATTNKERN_ERROR_ALIASING, function,
                  "%s_strides.%s = %zu makes %s's elements overlap (it must be at least %zu, the extent of the smaller "
                  "dimensions)", t.name, d.name, d.stride, t.name, extent);
    extent = d.stride * (d.count - 1) + extent;
  }
  return ATTNKERN_OK;
}

// The library reads an argument struct of `size` bytes (its first field) whose current layout is
// `known` bytes and whose first published layout was `oldest` bytes: fields past `size` read as zero;
// a larger struct must hold zeros past `known`. Copies it into `into`.
attnkern_status read_struct(const char* function, const char* type, const void* args, std::size_t oldest,
                            std::size_t known, void* into) noexcept {
  if (!args) return fail(ATTNKERN_ERROR_NULL_POINTER, function, "args is NULL");
  std::size_t size;
  std::memcpy(&size, args, sizeof size);
  if (size > known + 4096)  // (not a struct of this family: its bytes past ours are not read)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, function, "args->struct_size = %zu is not the size of any %s; set it to sizeof(%s)",
                size, type, type);
  if (size < oldest)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, function, "args->struct_size = %zu; set it to sizeof(%s) (%zu here)", size,
                type, known);
  const unsigned char* bytes = static_cast<const unsigned char*>(args);
  for (std::size_t i = known; i < size; ++i)
    if (bytes[i] != 0)
      return fail(ATTNKERN_ERROR_UNSUPPORTED, function,
                  "args->struct_size = %zu: the fields past this version's %zu bytes of %s are not zero (a newer "
                  "header's features; attnkern %s)", size, known, type, ATTNKERN_VERSION_STRING);
  std::memset(into, 0, known);
  std::memcpy(into, args, size < known ? size : known);
  return ATTNKERN_OK;
}


attnkern_status check_modifiers(const char* fn, float scale, int32_t window, int64_t window_left, int64_t window_right,
                                float softcap, bool head_scales, bool bias) noexcept {
  if (!std::isfinite(scale))
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "scale = %g is not finite", static_cast<double>(scale));
  if (window && (window_left < 0 || window_right < 0))
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "window_%s = %" PRId64 " is negative", window_left < 0 ? "left" : "right",
                window_left < 0 ? window_left : window_right);
  if (!std::isfinite(softcap) || softcap < 0)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "softcap = %g: it must be finite and > 0 (0: none)", static_cast<double>(softcap));
  if (head_scales && !bias)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "bias_head_scales is set without a bias to scale");
  return ATTNKERN_OK;
}

void resolve_scale_and_window(kernels::attention_args& run) noexcept {
  if (run.scale == 0.0f) run.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(run.head_dim ? run.head_dim : 1)));
  const int64_t widest = static_cast<int64_t>(std::min<uint64_t>(static_cast<uint64_t>(run.kv_len) + run.q_len, INT64_MAX));
  run.window_left = std::min(run.window_left, widest);
  run.window_right = std::min(run.window_right, widest);
}

attnkern_status check_dtype(const char* function, const char* name, int32_t dtype) noexcept {
  if (dtype != ATTNKERN_F32 && dtype != ATTNKERN_F16 && dtype != ATTNKERN_BF16)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, function, "%s = %" PRId32 " is not an attnkern_dtype", name, dtype);
  return ATTNKERN_OK;
}

kernels::dtype internal_dtype(int32_t dtype) noexcept {
  return dtype == ATTNKERN_F16 ? kernels::dtype::f16 : dtype == ATTNKERN_BF16 ? kernels::dtype::bf16 : kernels::dtype::f32;
}

}  // namespace capi
}  // namespace attnkern
