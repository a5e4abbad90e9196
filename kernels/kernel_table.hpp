// The per-ISA function table: what kernels/dispatch.cpp selects. Every entry is a single-threaded
// kernel that assumes checked arguments, and every path fills every entry: the SIMD paths from
// kernels/arch/table.hpp, the scalar path from kernels/arch/scalar.cpp (plain code evaluated in
// double, to the same contracts). The argument checks are in kernels/capi.cpp, which also takes the
// thread cap (attnkern_num_threads); the drivers (kernels/softmax/softmax_driver.cpp,
// kernels/attention/attention_driver.cpp, kernels/sdpa/sdpa_driver.cpp) turn a call into a plan of
// units and chunks, which the executor (kernels/executor.hpp) runs on its threads and merges.
#pragma once

#include "attention/attention_partial.hpp"
#include "sdpa/sdpa_chunk.hpp"
#include "softmax/softmax_stats.hpp"

#include <cstddef>

namespace attnkern {
namespace kernels {

struct kernel_table {
  void (*tanh_f32)(const float* x, float* y, std::size_t n) noexcept;
  // e^x for x <= 0 (softmax's building block; for the accuracy tool and the tests).
  void (*exp_f32)(const float* x, float* y, std::size_t n) noexcept;
  // Softmax (log = false) or log-softmax of rows that fit in cache, row by row. y may equal x.
  void (*softmax_rows_f32)(const float* x, float* y, std::size_t rows, std::size_t cols, bool log) noexcept;
  // Long rows, in two passes over memory: the (max, sum) of a piece, then the output of a piece
  // given the whole row's merged stats.
  softmax_stats (*softmax_stats_f32)(const float* x, std::size_t n) noexcept;
  void (*softmax_output_f32)(const float* x, float* y, std::size_t n, softmax_stats row, bool log) noexcept;
  // One chunk of one sequence of the fused attention kernels (kernels/attention/attention_kernel.hpp);
  // the executor merges the chunks and the driver (attention_driver.cpp) writes the outputs.
  attention_partial (*attention_pool_chunk_f32)(const float* h, const double* w, const float* bias, std::size_t count,
                                                std::size_t features, const attention_outputs& out) noexcept;
  attention_partial (*additive_attention_chunk_f32)(const float* keys, const float* query, const double* v,
                                                    const float* values, std::size_t count, std::size_t attn_dim,
                                                    std::size_t features, const attention_outputs& out) noexcept;
  // Scaled dot-product attention: one block of at most sdpa_query_rows query rows against one chunk
  // of keys (kernels/sdpa/sdpa_kernel.hpp); the executor merges the chunks (sdpa_driver.cpp).
  std::size_t sdpa_query_rows;
  void (*sdpa_chunk_f32)(const sdpa_chunk_args& args) noexcept;
};

// The table of one xsimd architecture: defined in kernels/arch/table.hpp and explicitly instantiated
// in kernels/arch/<isa>.cpp, the only translation unit compiled with that ISA's flags.
template <class Arch>
kernel_table table_for() noexcept;

// The scalar path's table (kernels/arch/scalar.cpp).
kernel_table scalar_table() noexcept;

}  // namespace kernels
}  // namespace attnkern
