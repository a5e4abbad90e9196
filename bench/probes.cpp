// Roofline probes run in the same process as the kernels: streaming read+write (y = x * c) and
// streaming read (a sum) at a working set inside each cache level and beyond the last (DRAM), and
// the FMA peak, on each thread count the kernels use.
#include "probes.hpp"

#include "bench_common.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

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

// The loops, compiled three times on x86 (AVX-512F, AVX2 and baseline, picked at load time), so that cache-resident
// sizes are not limited by the instruction set.
#if defined(__x86_64__) && defined(__GNUC__)
#define ATTNKERN_PROBE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
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

void probe_read_write(const float* x, float* y, std::size_t n, int threads, int passes) {
  split(n, threads, [&](std::size_t begin, std::size_t end) {
    for (int p = 0; p < passes; ++p) scale_range(x, y, begin, end);
  });
}

float probe_read(const float* x, std::size_t n, int threads, int passes) {
  float total = 0;
  split(n, threads, [&](std::size_t begin, std::size_t end) {
    float sum = 0;
    for (int p = 0; p < passes; ++p) sum += sum_range(x, begin, end);
#if defined(_OPENMP)
#pragma omp atomic
#endif
    total += sum;
  });
  return total;
}

cache_sizes caches() {
  cache_sizes c{0, 0, 0};
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::ifstream level_file(dir + "level"), type_file(dir + "type"), size_file(dir + "size");
    int level = 0;
    std::string type, size;
    if (!(level_file >> level) || !(type_file >> type) || !(size_file >> size) || type == "Instruction") continue;
    std::size_t bytes = std::stoul(size);  // "32K", "1024K", "32768K"
    if (size.back() == 'K') bytes <<= 10;
    if (size.back() == 'M') bytes <<= 20;
    if (level == 1) c.l1d = bytes;
    if (level == 2) c.l2 = bytes;
    if (level == 3) c.l3 = bytes;
  }
#if defined(_SC_LEVEL1_DCACHE_SIZE)
  auto conf = [](int name) { const long v = sysconf(name); return v > 0 ? static_cast<std::size_t>(v) : std::size_t(0); };
  if (!c.l1d) c.l1d = conf(_SC_LEVEL1_DCACHE_SIZE);
  if (!c.l2) c.l2 = conf(_SC_LEVEL2_CACHE_SIZE);
  if (!c.l3) c.l3 = conf(_SC_LEVEL3_CACHE_SIZE);
#endif
  if (!c.l1d) c.l1d = std::size_t(32) << 10;
  if (!c.l2) c.l2 = std::size_t(1) << 20;
  if (!c.l3) c.l3 = std::size_t(32) << 20;
  return c;
}

namespace {

struct level {
  const char* name;
  std::size_t bytes;  // the working set, all threads together
};

// Half of each core's L1 and L2 per thread, half of the shared L3, and 8x the L3 (at least 256 MiB)
// for DRAM.
std::vector<level> levels(int threads) {
  const cache_sizes c = caches();
  const std::size_t t = static_cast<std::size_t>(threads);
  return {{"L1", t * c.l1d / 2}, {"L2", t * c.l2 / 2}, {"L3", c.l3 / 2}, {"DRAM", std::max(8 * c.l3, std::size_t(256) << 20)}};
}

// A scratch array of at least n floats, kept for the run.
float* scratch(std::size_t n) {
  static std::vector<float> y;
  if (y.size() < n) y.resize(n, 1.0f);
  return y.data();
}

}  // namespace

void register_roofline(const options& opt) {
  for (int t : opt.threads()) {
    for (const level& l : levels(t)) {
      const std::size_t n_read = l.bytes / sizeof(float), n_rw = l.bytes / (2 * sizeof(float));
      const double bytes = static_cast<double>(l.bytes);
      // at least 64 MiB moved per iteration
      const int passes = static_cast<int>(std::max<std::size_t>(1, (std::size_t(64) << 20) / l.bytes));
      benchmarks().add(bench_name("roofline", "read", l.name, t), bytes * passes / 20e9, [=](benchmark::State& state) {
        const float* x = uniform_inputs(n_read, -1.0f, 1.0f).data();
        for (auto _ : state) benchmark::DoNotOptimize(probe_read(x, n_read, t, passes));
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * passes * static_cast<int64_t>(n_read * sizeof(float)));
        state.counters["working_set"] = bytes;
      });
      benchmarks().add(bench_name("roofline", "read_write", l.name, t), bytes * passes / 10e9, [=](benchmark::State& state) {
        const float* x = uniform_inputs(n_rw, -1.0f, 1.0f).data();
        float* y = scratch(n_rw);
        for (auto _ : state) {
          probe_read_write(x, y, n_rw, t, passes);
          benchmark::ClobberMemory();
        }
        state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * passes * static_cast<int64_t>(2 * n_rw * sizeof(float)));
        state.counters["working_set"] = bytes;
      });
    }
    benchmarks().add(bench_name("roofline", "fma", "peak", t), 0.004, [t](benchmark::State& state) {
      constexpr std::size_t rounds = std::size_t(1) << 20;
      double flops = 0;
      for (auto _ : state) flops += probe_fma(rounds, t);
      state.counters["flops"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
    });
  }
}

}  // namespace attnkern_bench
