// The tanh driver (tanh_driver.hpp). Baseline flags: the per-ISA work is in the table.
#include "drivers/tanh_driver.hpp"
#include "runtime/executor.hpp"

#include <algorithm>

namespace attnkern {
namespace kernels {

void tanh_run(const kernel_table& table, const float* x, float* y, std::size_t n, int max_threads) noexcept {
  const std::size_t chunks = (n + elementwise_chunk - 1) / elementwise_chunk;
  const int threads = threads_for(n, tanh_min_per_thread, chunks, max_threads);
  if (threads <= 1) {
    table.tanh_f32(x, y, n);
    return;
  }
  for_each_parallel<schedule::fixed>(threads, chunks, [&](std::size_t, std::size_t c) {
    const std::size_t begin = c * elementwise_chunk;
    table.tanh_f32(x + begin, y + begin, std::min(elementwise_chunk, n - begin));
  });
}

}  // namespace kernels
}  // namespace attnkern
