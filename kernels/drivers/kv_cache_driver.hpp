// The paged K/V cache's writer (attnkern_kv_append): new positions' rows, in the engine's layout and
// type, copied into their slots of the cache's blocks and converted to the cache's type. Called by
// the C API with checked arguments. Baseline code: it moves bytes (memory speed), on the calling thread.
#pragma once

#include "simd/dtype.hpp"

#include <cstddef>
#include <cstdint>

namespace attnkern {
namespace kernels {

// One pool (K or V) and the rows to write into it.
struct kv_append_pool {
  std::size_t tokens, heads, dim;
  const std::int64_t* slots;  // [tokens]: block * block_tokens + position; negative: skipped
  const void* src;            // token i, head g at element i * token_stride + g * head_stride
  dtype src_type;
  std::size_t token_stride, head_stride;
  char* blocks;  // block b at blocks + b * block_bytes; row (g, t) at (g * block_tokens + t) * dim elements
  dtype dst_type;
  std::size_t block_bytes, block_tokens;
};

// Writes every row; each element converted to dst_type (rounded to nearest even where it narrows,
// NaN kept NaN), copied as it is where the types agree.
void kv_append_run(const kv_append_pool& p) noexcept;

}  // namespace kernels
}  // namespace attnkern
