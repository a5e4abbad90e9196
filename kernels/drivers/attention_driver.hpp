// The attention driver: cuts a call into units (a batch item's K/V head and a block of the query rows
// that share it: positions, and the query heads of a GQA group), each unit's visible keys into chunks
// at fixed positions, a plan that the executor (kernels/runtime/executor.hpp) runs on its threads with the
// per-ISA chunk kernel, merging each unit's chunks in chunk order; then writes the outputs. Called by
// the C API (checked arguments) and by the benchmark.
#pragma once

#include <attnkern/attnkern.h>

#include "isa/kernel_table.hpp"
#include "simd/dtype.hpp"

#include <cstddef>
#include <cstdint>

namespace attnkern {
namespace kernels {

// Work (multiply-adds) per thread below which a thread is not worth its start-up (about 10 us).
constexpr std::size_t sdpa_min_per_thread = std::size_t(1) << 19;

// Element strides of a [batch, heads, seq, dim] tensor whose last dimension is contiguous.
struct strides {
  std::size_t batch, head, seq;
};

// Where row i of batch item b is aligned: its diagonal key d (causal: the keys j <= d; window: [d -
// left, d + right]).
enum class alignment {
  top_left,             // d = start_b + i
  bottom_right,         // d = end_b - q_len + i: the last row on the item's last key
  bottom_right_tensor,  // d = kv_len - q_len + i (attnkern_sdpa_f32's, whatever the lengths)
};

// One call: the caller's descriptor (attnkern.h), checked by the C API and read by the driver field
// by field where it is used (so that a new field reaches the driver without a copy), and what the
// checks resolved from it. The C API resolves in place: scale (0: 1 / sqrt(head_dim)), window_left
// and window_right (clamped to kv_len + q_len, beyond which a window is no window).
struct attention_args : attnkern_attention_args {
  dtype q_type, k_type, v_type, out_type, bias_type;  // the *_dtype fields
  alignment diagonal;                                 // align's, or attnkern_sdpa_f32's
  // Variable-length rows (attnkern_paged_attention), or null: item b's query rows are the rows
  // [cu_q[b], cu_q[b + 1]) of q, out, lse, bias and mask (whose batch strides are then 0), and q_len
  // is the most rows of any item.
  const std::int32_t* cu_q = nullptr;
  // A paged K/V cache (attnkern_paged_attention), or null: k and v are its pools, and key j of item b,
  // head g is row (g block_tokens + j % block_tokens) of block tables[b table_stride + j / block_tokens].
  struct paged_cache {
    std::size_t block_tokens, k_block_bytes, v_block_bytes, k_row_bytes, v_row_bytes;
    const std::int32_t* tables;
    std::size_t table_stride;
  };
  const paged_cache* paged = nullptr;
};

// max_threads: the caller's thread budget (1 inside an enclosing parallel region). The result does
// not depend on it. False when the scratch could not be allocated: then nothing was written. All
// scratch is the calling thread's (its region's threads get parts of it), sized before any thread
// starts, grown to the largest call seen and kept (docs/embedding.md, Memory: the bytes per shape).
[[nodiscard]] bool attention_run(const kernel_table& table, const attention_args& args, int max_threads) noexcept;

// attnkern_attention_merge, checked: two partial results (out, lse) of the same rows merged, row by
// row in double, on the calling thread (it reads and writes each element once: memory speed).
struct merge_args {
  const float* out_a;
  const float* lse_a;
  const float* out_b;
  const float* lse_b;
  float* out;
  float* lse;  // or null
  strides out_a_strides, lse_a_strides, out_b_strides, lse_b_strides, out_strides, lse_strides;
  std::size_t batch, heads, rows, value_dim;
};
void attention_merge_run(const merge_args& args) noexcept;

}  // namespace kernels
}  // namespace attnkern
