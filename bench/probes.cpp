// Roofline probes run in the same process as the kernels: streaming read+write (y = x * c) and
// streaming read (a sum) over the same arrays, on the same threads. Compiled with the build's
// baseline flags plus what bench/CMakeLists.txt adds (AVX2 on x86, so that small, cache-resident
// sizes are not limited by the instruction set).
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

}  // namespace

void probe_read_write(const float* x, float* y, std::size_t n, int threads) {
  split(n, threads, [&](std::size_t begin, std::size_t end) {
#if defined(_OPENMP)
#pragma omp simd
#endif
    for (std::size_t i = begin; i < end; ++i) y[i] = x[i] * 1.0009765625f;
  });
}

float probe_read(const float* x, std::size_t n, int threads) {
  float total = 0;
  split(n, threads, [&](std::size_t begin, std::size_t end) {
    float sum = 0;
#if defined(_OPENMP)
#pragma omp simd reduction(+ : sum)
#endif
    for (std::size_t i = begin; i < end; ++i) sum += x[i];
#if defined(_OPENMP)
#pragma omp atomic
#endif
    total += sum;
  });
  return total;
}

}  // namespace attnkern_bench
