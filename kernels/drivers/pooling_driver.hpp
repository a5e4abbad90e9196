// The fused attention driver: converts w (or v) to double once, cuts the sequences into chunks, a
// plan that the executor (kernels/runtime/executor.hpp) runs on its threads with the per-ISA chunk kernels,
// merging each sequence's chunks in chunk order; then writes context and weights.
// Called by the C API (checked arguments) and by the benchmark.
#pragma once

#include "isa/kernel_table.hpp"

#include <cstddef>
#include <cstdint>

namespace attnkern {
namespace kernels {

// Work (floats read) per thread below which a thread is not worth its start-up.
constexpr std::size_t attention_min_per_thread = 16384;

struct attention_pool_args {
  const float* h;
  const float* w;
  const float* bias;             // or null
  const std::int32_t* lengths;   // or null
  std::size_t batch, steps, features;
  float* context;
  float* weights;  // or null
};

struct additive_attention_args {
  const float* keys;
  const float* query;
  const float* v;
  const float* values;
  const std::int32_t* lengths;  // or null
  std::size_t batch, steps, attn_dim, features;
  float* context;
  float* weights;  // or null
};

// max_threads: the caller's thread budget (1 inside an enclosing parallel region). The result does
// not depend on it. False when the scratch could not be allocated: then nothing was written. All
// scratch is the calling thread's (its region's threads get parts of it), sized before any thread
// starts, grown to the largest call seen and kept (docs/embedding.md, Memory: the bytes per shape).
[[nodiscard]] bool attention_pool_run(const kernel_table& table, const attention_pool_args& args, int max_threads) noexcept;
[[nodiscard]] bool additive_attention_run(const kernel_table& table, const additive_attention_args& args,
                                          int max_threads) noexcept;

}  // namespace kernels
}  // namespace attnkern
