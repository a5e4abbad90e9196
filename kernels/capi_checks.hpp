// The C API's argument checks, shared by its entry points (kernels/capi.cpp, kernels/capi_paged.cpp):
// each failing check records "function: what and which value" for attnkern_last_error_message and
// returns its status. Baseline code, hidden from the shared library's exports.
#pragma once

#include <attnkern/attnkern.h>

#include "drivers/attention_driver.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace attnkern {
namespace capi {

// The calling thread's last failure ("" before its first).
const char* last_error_message() noexcept;

// Records "function: " and the formatted detail as the calling thread's last error; returns status.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
attnkern_status fail(attnkern_status status, const char* function, const char* format, ...) noexcept;

// Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte. Compared as integers: pointers into
// different arrays cannot be ordered portably.
bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) noexcept;

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

// A strided tensor argument of attnkern_attention and attnkern_attention_merge: [batch, heads, seq,
// dim] with the last dimension contiguous. `elements` and `bytes` (of `element_bytes` each) span
// the first element to the last, once checked.
struct tensor_arg {
  const char* name;
  const void* p;
  attnkern_strides strides;
  std::size_t batch, heads, seq, dim;
  std::size_t element_bytes = sizeof(float);
  std::size_t elements = 0;
  bool empty() const noexcept { return batch == 0 || heads == 0 || seq == 0 || dim == 0; }
  std::size_t bytes() const noexcept { return elements * element_bytes; }
  attnkern::kernels::strides internal() const noexcept {
    return {static_cast<std::size_t>(strides.batch), static_cast<std::size_t>(strides.head),
            static_cast<std::size_t>(strides.seq)};
  }
};

// Each of `lengths.p`'s batch entries (when it is not null) lies in [0, bound].
attnkern_status check_lengths(const char* function, lengths_arg lengths, std::size_t batch) noexcept;

// Neither output (either may be null or empty) overlaps an input or the other.
attnkern_status check_outputs(const char* function, std::initializer_list<array_arg> inputs, array_arg first,
                              array_arg second) noexcept;

// OUT_OF_MEMORY: the scratch could not be allocated, nothing was written.
attnkern_status out_of_memory(const char* function) noexcept;

// Checks a tensor's strides (not negative), its span (no overflow) and its pointer (not null while
// it holds elements); sets t.elements.
attnkern_status check_tensor(const char* function, tensor_arg& t) noexcept;

// An output's rows may not overlap: ordered by stride, each dimension's stride must reach past the
// extent of the smaller ones (a sufficient test, exact for every layout that is a permutation).
attnkern_status check_rows_disjoint(const char* function, const tensor_arg& t) noexcept;

// The library reads an argument struct of `size` bytes (its first field) whose current layout is
// `known` bytes and whose first published layout was `oldest` bytes: fields past `size` read as zero;
// a larger struct must hold zeros past `known`. Copies it into `into`.
attnkern_status read_struct(const char* function, const char* type, const void* args, std::size_t oldest,
                            std::size_t known, void* into) noexcept;

// The score modifiers' values shared by attnkern_attention and attnkern_paged_attention: a finite
// scale, a window's sides not negative, a softcap finite and not negative, no bias_head_scales
// without a bias.
attnkern_status check_modifiers(const char* function, float scale, int32_t window, int64_t window_left,
                                int64_t window_right, float softcap, bool head_scales, bool bias) noexcept;

// What a checked descriptor's scale and window resolve to, in place: scale 0 becomes 1 / sqrt(head_dim);
// each window side is clamped to kv_len + q_len (a window wider than every distance between a row's
// diagonal and a key is no window; clamped, d - left and d + right stay far inside ptrdiff_t).
void resolve_scale_and_window(kernels::attention_args& run) noexcept;

// An attnkern_dtype value the attention kernels take (F32, F16, BF16), or an error naming the field.
attnkern_status check_dtype(const char* function, const char* name, int32_t dtype) noexcept;
// The internal type of a checked attnkern_dtype value.
kernels::dtype internal_dtype(int32_t dtype) noexcept;

}  // namespace capi
}  // namespace attnkern
