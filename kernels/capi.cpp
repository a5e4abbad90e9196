// The C API: argument checks, then the OpenMP loop, then the active ISA's single-threaded kernel.
#include <attnkern/attnkern.h>

#include "dispatch.hpp"
#include "softmax/softmax_stats.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using attnkern::kernels::active_table;

std::atomic<int> requested_threads{0};  // 0 = OpenMP's default

// Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte. Compared as integers: pointers into
// different arrays cannot be ordered portably.
bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) noexcept {
  const auto pa = reinterpret_cast<std::uintptr_t>(a);
  const auto pb = reinterpret_cast<std::uintptr_t>(b);
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

// The threads a kernel may use for `work_items` independent items of which `min_per_thread` are
// worth a thread; 1 when called inside an enclosing OpenMP region (no nested oversubscription).
int threads_for(std::size_t work_items, std::size_t min_per_thread) noexcept {
  const std::size_t useful = work_items / min_per_thread;
  if (useful < 2) return 1;
  const int available = attnkern_num_threads();
  return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(available), useful));
}

// Elementwise kernels split arrays into chunks of this many elements, and go parallel only when
// each thread gets at least tanh_min_per_thread of them. Measured on 2 Zen 4 cores (best of 2000
// warm calls): 2 threads give 1.06x at 4K elements, 1.39x at 8K, 1.64x at 16K, 1.80x at 32K; a
// cold fork costs more, so tanh starts at 16K (8K per thread).
constexpr std::size_t elementwise_chunk = 8192;
constexpr std::size_t tanh_min_per_thread = 8192;

template <class Fn>
void for_each_chunk(const float* x, float* y, std::size_t n, std::size_t min_per_thread, Fn fn) noexcept {
  const int threads = threads_for(n, min_per_thread);
  if (threads <= 1) {
    fn(x, y, n);
    return;
  }
  const std::ptrdiff_t chunks = static_cast<std::ptrdiff_t>((n + elementwise_chunk - 1) / elementwise_chunk);
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
  for (std::ptrdiff_t c = 0; c < chunks; ++c) {
    const std::size_t begin = static_cast<std::size_t>(c) * elementwise_chunk;
    fn(x + begin, y + begin, std::min(elementwise_chunk, n - begin));
  }
}

// Softmax: rows of up to softmax_two_pass_from - 1 columns are done in three passes, each row on
// one thread (they stay in cache); longer rows in two passes over memory, cut into chunks of
// softmax_chunk columns whose (max, sum) pairs merge in chunk order, so that few long rows still
// spread over the threads and the result does not depend on how many there are.
constexpr std::size_t softmax_two_pass_from = 16384;
constexpr std::size_t softmax_chunk = 16384;
constexpr std::size_t softmax_min_per_thread = 8192;  // elements

void fill(float* y, std::size_t n, float value) noexcept { std::fill(y, y + n, value); }

void softmax_long_rows(const attnkern::kernels::kernel_table& table, const float* x, float* y, std::size_t rows,
                       std::size_t cols, bool log) noexcept {
  using attnkern::kernels::softmax_stats;
  const std::size_t per_row = (cols + softmax_chunk - 1) / softmax_chunk;
  const std::size_t tasks = rows * per_row;
  // Per calling thread, reused: no allocation once a shape has been seen.
  thread_local std::vector<softmax_stats> stats;
  if (stats.size() < tasks) stats.resize(tasks);
  softmax_stats* s = stats.data();
  const int threads = std::min<int>(threads_for(rows * cols, softmax_min_per_thread), static_cast<int>(std::min<std::size_t>(tasks, INT32_MAX)));
  auto piece = [&](std::ptrdiff_t t, std::size_t& begin, std::size_t& len) {
    const std::size_t r = static_cast<std::size_t>(t) / per_row, c = static_cast<std::size_t>(t) % per_row;
    begin = r * cols + c * softmax_chunk;
    len = std::min(softmax_chunk, cols - c * softmax_chunk);
  };
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
  for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t) {
    std::size_t begin, len;
    piece(t, begin, len);
    s[t] = table.softmax_stats_f32(x + begin, len);
  }
  for (std::size_t r = 0; r < rows; ++r) {  // in chunk order, into each row's first slot
    for (std::size_t c = 1; c < per_row; ++c)
      s[r * per_row] = attnkern::kernels::merge_stats<void>(s[r * per_row], s[r * per_row + c]);
  }
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
#endif
  for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t) {
    std::size_t begin, len;
    piece(t, begin, len);
    const softmax_stats row = s[(static_cast<std::size_t>(t) / per_row) * per_row];
    if (std::isnan(row.sum) || row.max == INFINITY) {
      fill(y + begin, len, std::numeric_limits<float>::quiet_NaN());
    } else if (row.max == -INFINITY) {
      fill(y + begin, len, log ? -INFINITY : 0.0f);
    } else {
      table.softmax_output_f32(x + begin, y + begin, len, row, log);
    }
  }
}

attnkern_status softmax_common(const float* x, float* y, std::size_t rows, std::size_t cols, bool log) noexcept {
  if (rows == 0 || cols == 0) return ATTNKERN_OK;
  if (!x || !y) return ATTNKERN_ERROR_NULL_POINTER;
  if (rows > SIZE_MAX / cols || rows * cols > SIZE_MAX / sizeof(float)) return ATTNKERN_ERROR_INVALID_SIZE;
  const std::size_t n = rows * cols, bytes = n * sizeof(float);
  if (x != y && overlaps(x, bytes, y, bytes)) return ATTNKERN_ERROR_ALIASING;
  const auto& table = active_table();
  if (cols >= softmax_two_pass_from && table.softmax_stats_f32) {
    softmax_long_rows(table, x, y, rows, cols, log);
    return ATTNKERN_OK;
  }
  const int threads = std::min<int>(threads_for(n, softmax_min_per_thread), static_cast<int>(std::min<std::size_t>(rows, INT32_MAX)));
  if (threads <= 1) {
    table.softmax_rows_f32(x, y, rows, cols, log);
    return ATTNKERN_OK;
  }
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
  for (std::ptrdiff_t r = 0; r < static_cast<std::ptrdiff_t>(rows); ++r) {
    table.softmax_rows_f32(x + static_cast<std::size_t>(r) * cols, y + static_cast<std::size_t>(r) * cols, 1, cols, log);
  }
  return ATTNKERN_OK;
}

}  // namespace

extern "C" {

const char* attnkern_version(void) { return ATTNKERN_VERSION_STRING; }

const char* attnkern_status_message(attnkern_status status) {
  switch (status) {
    case ATTNKERN_OK:
      return "Success.";
    case ATTNKERN_ERROR_NULL_POINTER:
      return "A required pointer is NULL while its array is not empty.";
    case ATTNKERN_ERROR_INVALID_SIZE:
      return "A size is too large: its element count or byte count overflows size_t.";
    case ATTNKERN_ERROR_INVALID_LENGTH:
      return "A sequence length is negative or larger than the sequence size.";
    case ATTNKERN_ERROR_ALIASING:
      return "An output array overlaps an input array (only an exact in-place call is allowed where documented).";
    case ATTNKERN_ERROR_UNSUPPORTED_ISA:
      return "The ISA name is unknown, or this CPU or build does not support it.";
    case ATTNKERN_ERROR_INVALID_ARGUMENT:
      return "An argument has an invalid value (for example a non-finite scale).";
  }
  return "Unknown attnkern status code.";
}

const char* attnkern_isa(void) { return attnkern::kernels::active_isa(); }

attnkern_status attnkern_set_isa(const char* name) { return attnkern::kernels::select_isa(name); }

void attnkern_set_num_threads(int n) { requested_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

int attnkern_num_threads(void) {
#if defined(_OPENMP)
  if (omp_in_parallel()) return 1;
  const int n = requested_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

attnkern_status attnkern_tanh_f32(const float* x, float* y, size_t n) {
  if (n == 0) return ATTNKERN_OK;
  if (!x || !y) return ATTNKERN_ERROR_NULL_POINTER;
  if (n > SIZE_MAX / sizeof(float)) return ATTNKERN_ERROR_INVALID_SIZE;
  const std::size_t bytes = n * sizeof(float);
  if (x != y && overlaps(x, bytes, y, bytes)) return ATTNKERN_ERROR_ALIASING;
  const auto kernel = active_table().tanh_f32;
  for_each_chunk(x, y, n, tanh_min_per_thread, kernel);
  return ATTNKERN_OK;
}

attnkern_status attnkern_softmax_f32(const float* x, float* y, size_t rows, size_t cols) {
  return softmax_common(x, y, rows, cols, false);
}

attnkern_status attnkern_log_softmax_f32(const float* x, float* y, size_t rows, size_t cols) {
  return softmax_common(x, y, rows, cols, true);
}

}  // extern "C"
