// The softmax driver (softmax_driver.hpp). Baseline flags: the per-ISA work is in the table.
#include "softmax_driver.hpp"
#include "../scratch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace attnkern {
namespace kernels {
namespace {

int threads_for(std::size_t elements, std::size_t max_tasks, int max_threads) noexcept {
  const std::size_t useful = std::min(elements / softmax_min_per_thread, max_tasks);
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(useful, static_cast<std::size_t>(max_threads))));
}

void three_pass(const kernel_table& table, const float* x, float* y, std::size_t rows, std::size_t cols, bool log,
                int max_threads) noexcept {
  const int threads = threads_for(rows * cols, rows, max_threads);
  if (threads <= 1) {
    table.softmax_rows_f32(x, y, rows, cols, log);
    return;
  }
  // Contiguous blocks of rows, one per thread, so that consecutive rows share their passes
  // (softmax_rows_f32); each row's result is independent of the split.
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num()), count = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t begin = rows * t / count, end = rows * (t + 1) / count;
    table.softmax_rows_f32(x + begin * cols, y + begin * cols, end - begin, cols, log);
  }
#else
  table.softmax_rows_f32(x, y, rows, cols, log);
#endif
}

bool two_pass(const kernel_table& table, const float* x, float* y, std::size_t rows, std::size_t cols, bool log,
              int max_threads) noexcept {
  const std::size_t per_row = (cols + softmax_chunk - 1) / softmax_chunk;
  const std::size_t tasks = rows * per_row;
  // Per calling thread and reused: no allocation once a shape has been seen.
  thread_local std::vector<softmax_stats> scratch;
  softmax_stats* stats;
  try {
    stats = grow(scratch, tasks);
  } catch (const std::bad_alloc&) {
    return false;
  }
  const int threads = threads_for(rows * cols, tasks, max_threads);
  // Calls f(task, begin, len) for every chunk of every row, on `threads` threads.
  auto for_each_chunk = [&](auto&& f) {
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
    for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t) {
      const std::size_t task = static_cast<std::size_t>(t), c = task % per_row;
      f(task, (task / per_row) * cols + c * softmax_chunk, std::min(softmax_chunk, cols - c * softmax_chunk));
    }
  };
  for_each_chunk([&](std::size_t task, std::size_t begin, std::size_t len) {
    stats[task] = table.softmax_stats_f32(x + begin, len);
  });
  for (std::size_t r = 0; r < rows; ++r) {  // in chunk order, into each row's first slot
    for (std::size_t c = 1; c < per_row; ++c)
      stats[r * per_row] = merge_stats<void>(stats[r * per_row], stats[r * per_row + c]);
  }
  for_each_chunk([&](std::size_t task, std::size_t begin, std::size_t len) {
    const softmax_stats row = stats[(task / per_row) * per_row];
    float constant = 0;
    if (constant_row<void>(std::isnan(row.sum), row.max, log, constant)) {
      std::fill(y + begin, y + begin + len, constant);
    } else {
      table.softmax_output_f32(x + begin, y + begin, len, row, log);
    }
  });
  return true;
}

}  // namespace

bool softmax_run(const kernel_table& table, const float* x, float* y, std::size_t rows, std::size_t cols, bool log,
                 int max_threads, softmax_algorithm algorithm) noexcept {
  if (algorithm == softmax_algorithm::automatic)
    algorithm = cols >= softmax_two_pass_from ? softmax_algorithm::two_pass : softmax_algorithm::three_pass;
  if (algorithm == softmax_algorithm::two_pass && table.softmax_stats_f32)
    return two_pass(table, x, y, rows, cols, log, max_threads);
  three_pass(table, x, y, rows, cols, log, max_threads);
  return true;
}

}  // namespace kernels
}  // namespace attnkern
