// The softmax driver: picks the algorithm by the row length; rows of fewer columns go to the
// executor's threads in blocks of rows, long rows become a plan of chunks whose (max, sum) the
// executor (kernels/runtime/executor.hpp) merges in chunk order. Called by the C API with the
// active ISA's table, and by the benchmark with either algorithm forced.
#pragma once

#include "isa/kernel_table.hpp"

#include <cstddef>

namespace attnkern {
namespace kernels {

enum class softmax_algorithm {
  automatic,   // three_pass below softmax_two_pass_from columns, two_pass from there
  three_pass,  // each row on one thread: max, exp stored and summed, scale
  two_pass,    // rows cut into chunks of softmax_chunk columns: (max, sum) per chunk, merged, then write
};

// The crossover, from measurements (bench/bench_softmax.cpp, docs/performance.md): three passes are faster
// while a row (and its output) stays in the 32 MB L3 of the machine measured; two passes from rows
// of 4M columns (16 MB) on.
constexpr std::size_t softmax_two_pass_from = std::size_t(1) << 22;
// Columns per chunk of the two-pass algorithm: fixed, so results do not depend on the thread count.
constexpr std::size_t softmax_chunk = 16384;
// Elements per thread below which a thread is not worth its start-up.
constexpr std::size_t softmax_min_per_thread = 8192;

// rows x cols row-major, checked arguments (capi.cpp); y may equal x. max_threads: the caller's
// thread budget (1 inside an enclosing parallel region). False when the two-pass algorithm's scratch
// (when its rows run as chunk tasks: 16 bytes per chunk and per row, the calling thread's, kept)
// could not be allocated: then nothing was written.
[[nodiscard]] bool softmax_run(const kernel_table& table, const float* x, float* y, std::size_t rows, std::size_t cols, bool log,
                 int max_threads, softmax_algorithm algorithm = softmax_algorithm::automatic) noexcept;

}  // namespace kernels
}  // namespace attnkern
