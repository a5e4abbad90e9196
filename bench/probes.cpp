// Roofline probes run in the same process as the kernels: streaming read+write (y = x * c) and
// streaming read (a sum) over the same arrays, on the same threads.
#include "probes.hpp"

#include <algorithm>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

// The FMA peak: 12 accumulators (three times the FMA latency of 4 cycles on two pipes), each a
// chain a = a * x + y that stays finite.
constexpr int fma_chains = 12;
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) double fma_avx512(std::size_t rounds) {
  __m512 a[fma_chains];
  for (int k = 0; k < fma_chains; ++k) a[k] = _mm512_set1_ps(static_cast<float>(k));
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
  for (std::size_t r = 0; r < rounds; ++r)
    for (int k = 0; k < fma_chains; ++k) a[k] = _mm512_fmadd_ps(a[k], x, y);
  __m512 sum = a[0];
  for (int k = 1; k < fma_chains; ++k) sum = _mm512_add_ps(sum, a[k]);
  alignas(64) float lanes[16];  // (not _mm512_reduce_add_ps: GCC 12 warns about its own header there)
  _mm512_store_ps(lanes, sum);
  volatile float sink = lanes[0];
  (void)sink;
  return 2.0 * 16 * fma_chains * static_cast<double>(rounds);
}
__attribute__((target("avx2,fma"))) double fma_avx2(std::size_t rounds) {
  __m256 a[fma_chains];
  for (int k = 0; k < fma_chains; ++k) a[k] = _mm256_set1_ps(static_cast<float>(k));
  const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
  for (std::size_t r = 0; r < rounds; ++r)
    for (int k = 0; k < fma_chains; ++k) a[k] = _mm256_fmadd_ps(a[k], x, y);
  __m256 sum = a[0];
  for (int k = 1; k < fma_chains; ++k) sum = _mm256_add_ps(sum, a[k]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  volatile float sink = lanes[0];
  (void)sink;
  return 2.0 * 8 * fma_chains * static_cast<double>(rounds);
}
#endif
double fma_plain(std::size_t rounds) {
  constexpr int width = 4 * fma_chains;
  float a[width];
  for (int k = 0; k < width; ++k) a[k] = static_cast<float>(k);
  for (std::size_t r = 0; r < rounds; ++r)
    for (int k = 0; k < width; ++k) a[k] = a[k] * 0.999f + 0.001f;
  volatile float sink = a[0];
  (void)sink;
  return 2.0 * width * static_cast<double>(rounds);
}

double fma_rounds(std::size_t rounds) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f")) return fma_avx512(rounds);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return fma_avx2(rounds);
#endif
  return fma_plain(rounds);
}

}  // namespace

double probe_fma(std::size_t rounds, int threads) {
  double flops = 0;
  split(static_cast<std::size_t>(threads > 1 ? threads : 1), threads, [&](std::size_t begin, std::size_t end) {
    double mine = 0;
    for (std::size_t t = begin; t < end; ++t) mine += fma_rounds(rounds);
#if defined(_OPENMP)
#pragma omp atomic
#endif
    flops += mine;
  });
  return flops;
}

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
