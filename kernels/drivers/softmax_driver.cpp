// The softmax driver (softmax_driver.hpp). Baseline flags: the per-ISA work is in the table; the
// threads are the executor's (kernels/runtime/executor.hpp).
#include "drivers/softmax_driver.hpp"
#include "runtime/executor.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace attnkern {
namespace kernels {
namespace {

void three_pass(const kernel_table& table, const float* x, float* y, std::size_t rows, std::size_t cols, bool log,
                int max_threads) noexcept {
  const int threads = threads_for(rows * cols, softmax_min_per_thread, rows, max_threads);
  // Contiguous blocks of rows, one per thread, so that consecutive rows share their passes
  // (softmax_rows_f32); each row's result is independent of the split.
  const std::size_t parts = static_cast<std::size_t>(threads);
  for_each_parallel<schedule::fixed>(threads, parts, [&](std::size_t, std::size_t t) {
    const std::size_t begin = rows * t / parts, end = rows * (t + 1) / parts;
    table.softmax_rows_f32(x + begin * cols, y + begin * cols, end - begin, cols, log);
  });
}

// Rows cut into chunks of softmax_chunk columns: each chunk's (max, sum), merged in chunk order into
// the row's, then each chunk's output from the row's (max, sum).
struct two_pass_plan {
  const kernel_table& table;
  const float* x;
  float* y;
  std::size_t rows, cols;
  bool log;

  struct worker {
    softmax_stats slot;
  };
  struct store {
    std::vector<softmax_stats> slots;   // per chunk task
    std::vector<softmax_stats> totals;  // per row
  };
  static constexpr bool finish_chunks = true;

  std::size_t units() const { return rows; }
  std::size_t chunks(std::size_t) const { return (cols + softmax_chunk - 1) / softmax_chunk; }
  std::size_t work() const { return rows * cols; }
  std::size_t min_per_thread() const { return softmax_min_per_thread; }
  void reserve(worker&) const {}
  void reserve(store& s, std::size_t tasks, std::size_t units) const {
    grow(s.slots, tasks);
    grow(s.totals, units);
  }
  softmax_stats& slot(worker& w) const { return w.slot; }
  softmax_stats& slot(store& s, std::size_t task) const { return s.slots[task]; }
  softmax_stats total(worker&) const { return {}; }
  softmax_stats& total(store& s, std::size_t r) const { return s.totals[r]; }

  std::size_t begin(std::size_t r, std::size_t c) const { return r * cols + c * softmax_chunk; }
  std::size_t length(std::size_t c) const { return std::min(softmax_chunk, cols - c * softmax_chunk); }

  void chunk(std::size_t r, std::size_t c, worker&, softmax_stats& out) const {
    out = table.softmax_stats_f32(x + begin(r, c), length(c));
  }
  void start(std::size_t, softmax_stats&) const {}
  void merge(std::size_t, std::size_t c, softmax_stats& t, const softmax_stats& in) const {
    t = c == 0 ? in : merge_stats(t, in);
  }
  void finish(std::size_t r, std::size_t c, const softmax_stats& row) const {
    const std::size_t at = begin(r, c), len = length(c);
    float constant = 0;
    if (constant_row(std::isnan(row.sum), row.max, log, constant)) {
      std::fill(y + at, y + at + len, constant);
    } else {
      table.softmax_output_f32(x + at, y + at, len, row, log);
    }
  }
};

}  // namespace

bool softmax_run(const kernel_table& table, const float* x, float* y, std::size_t rows, std::size_t cols, bool log,
                 int max_threads, softmax_algorithm algorithm) noexcept {
  if (algorithm == softmax_algorithm::automatic)
    algorithm = cols >= softmax_two_pass_from ? softmax_algorithm::two_pass : softmax_algorithm::three_pass;
  if (algorithm == softmax_algorithm::two_pass) return run_chunked(two_pass_plan{table, x, y, rows, cols, log}, max_threads);
  three_pass(table, x, y, rows, cols, log, max_threads);
  return true;
}

}  // namespace kernels
}  // namespace attnkern
