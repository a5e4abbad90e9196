// The scaled dot-product attention driver: cuts every (batch item, block of query rows) into chunks
// of keys, a plan that the executor (kernels/executor.hpp) runs on its threads with the per-ISA chunk
// kernel, merging each unit's chunks in chunk order; then writes the outputs. Called by the C API (checked arguments) and by the benchmark.
#pragma once

#include "../kernel_table.hpp"

#include <cstddef>
#include <cstdint>

namespace attnkern {
namespace kernels {

// Work (multiply-adds) per thread below which a thread is not worth its start-up (about 10 us).
constexpr std::size_t sdpa_min_per_thread = std::size_t(1) << 19;

struct sdpa_args {
  const float* q;
  const float* k;
  const float* v;
  const std::int32_t* kv_lengths;  // or null
  std::size_t batch, q_len, kv_len, head_dim, value_dim;
  float scale;
  bool causal;
  float* out;
};

// max_threads: the caller's thread budget (1 inside an enclosing parallel region). The result does
// not depend on it. False when the scratch could not be allocated: then nothing was written. All
// scratch is the calling thread's (its region's threads get parts of it), sized before any thread
// starts, grown to the largest call seen and kept (docs/embedding.md, Memory: the bytes per shape).
[[nodiscard]] bool sdpa_run(const kernel_table& table, const sdpa_args& args, int max_threads) noexcept;

}  // namespace kernels
}  // namespace attnkern
