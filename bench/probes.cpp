// Roofline probes run in the same process as the kernels: streaming read+write (y = x * c) and
// streaming read (a sum) over the same arrays, on the same threads.
#include "probes.hpp"

#include <algorithm>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace attnkern_bench {
namespace {

template <class F>
void split(std::size_t n, int threads, F&& f) {
  if (threads <= 1) {
    f(std::size_t(0), n);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num()), count = static_cast<std::size_t>(omp_get_num_threads());
    f(n * t / count, n * (t + 1) / count);
  }
#else
  f(std::size_t(0), n);
#endif
}

// The loops, compiled twice on x86 (AVX2 and baseline, picked at load time), so that cache-resident
// sizes are not limited by the instruction set.
#if defined(__x86_64__) && defined(__GNUC__)
#define ATTNKERN_PROBE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ATTNKERN_PROBE_CLONES
#endif

ATTNKERN_PROBE_CLONES void scale_range(const float* x, float* y, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) y[i] = x[i] * 1.0009765625f;
}

// 64 independent partial sums (eight AVX2 vectors' worth): one chain of dependent adds would bound
// the loop at one vector per add latency, far below what caches deliver.
ATTNKERN_PROBE_CLONES float sum_range(const float* x, std::size_t begin, std::size_t end) {
  constexpr std::size_t lanes = 64;
  float partial[lanes] = {};
  std::size_t i = begin;
  for (; i + lanes <= end; i += lanes)
    for (std::size_t k = 0; k < lanes; ++k) partial[k] += x[i + k];
  float sum = 0;
  for (; i < end; ++i) sum += x[i];
  for (std::size_t k = 0; k < lanes; ++k) sum += partial[k];
  return sum;
}

}  // namespace

void probe_read_write(const float* x, float* y, std::size_t n, int threads) {
  split(n, threads, [&](std::size_t begin, std::size_t end) { scale_range(x, y, begin, end); });
}

float probe_read(const float* x, std::size_t n, int threads) {
  float total = 0;
  split(n, threads, [&](std::size_t begin, std::size_t end) {
    const float sum = sum_range(x, begin, end);
#if defined(_OPENMP)
#pragma omp atomic
#endif
    total += sum;
  });
  return total;
}

}  // namespace attnkern_bench
