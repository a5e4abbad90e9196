// attnkern-bench-tanh: tanh throughput of every attnkern ISA path and every installed peer, at
// n = 1K .. 16M, on one thread and on all threads, with elements/s and bytes/s (8 bytes per element:
// one read, one write); then a table of medians over repetitions with each one's max error, measured
// on a sample of inputs against float64 tanh (the exhaustive figures for attnkern come from
// attnkern-ulp --function tanh).
//
// Google Benchmark's own flags work (--benchmark_filter=..., --benchmark_out=FILE.json, ...).
// Defaults: 5 repetitions of at least 0.05 s each, aggregates only.
#include <attnkern/attnkern.h>

#include "../tools/ulp.hpp"
#include "bench_common.hpp"
#include "peers.hpp"

#include <benchmark/benchmark.h>
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using attnkern_bench::collecting_reporter;
using attnkern_bench::max_threads;
using attnkern_bench::peer;

const std::size_t sizes[] = {1 << 10, 1 << 12, 1 << 16, 1 << 18, 1 << 20, 1 << 24};

struct implementation {
  std::string id, name, algorithm;
  std::string isa;  // attnkern paths: the ISA to select; empty for peers
  peer p;           // peers only
};


// Peers run single-threaded are split across threads the way attnkern splits tanh: contiguous
// parts, and only when each thread gets at least 8K elements (kernels/capi.cpp).
void run_peer(const peer& p, const float* x, float* y, std::size_t n, int threads) {
  constexpr std::size_t min_per_thread = 8192;
  if (p.own_threads || threads <= 1 || n < 2 * min_per_thread) {
    p.run(x, y, n);
    return;
  }
  const int t = static_cast<int>(std::min<std::size_t>(threads, n / min_per_thread));
#if defined(_OPENMP)
#pragma omp parallel num_threads(t)
  {
    const std::size_t id = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t begin = n * id / t, end = n * (id + 1) / t;
    p.run(x + begin, y + begin, end - begin);
  }
#else
  (void)t;
  p.run(x, y, n);
#endif
}

void bench_tanh(benchmark::State& state, const implementation& impl, std::size_t n, int threads) {
  const std::vector<float>& x = attnkern_bench::uniform_inputs(n, -5.0f, 5.0f);  // both regimes of tanh and its saturation
  std::vector<float> y(n);
  if (!impl.isa.empty()) {
    attnkern_set_isa(impl.isa.c_str());
    attnkern_set_num_threads(threads);
  }
#if defined(_OPENMP)
  if (impl.p.own_threads) omp_set_num_threads(threads);
#endif
  for (auto _ : state) {
    if (!impl.isa.empty()) {
      attnkern_tanh_f32(x.data(), y.data(), n);
    } else {
      run_peer(impl.p, x.data(), y.data(), n, threads);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
#if defined(_OPENMP)
  if (impl.p.own_threads) omp_set_num_threads(max_threads());
#endif
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 2 * sizeof(float)));
}

// The max error of one implementation over every `stride`-th non-negative finite float (and their
// negatives), against float64 tanh.
double sampled_max_ulp(const implementation& impl, uint32_t stride) {
  std::vector<float> x;
  for (uint64_t u = 0; u < 0x7f800000u; u += stride) {
    float f;
    const uint32_t bits = static_cast<uint32_t>(u);
    std::memcpy(&f, &bits, sizeof f);
    x.push_back(f);
    x.push_back(-f);
  }
  std::vector<float> y(x.size());
  if (!impl.isa.empty()) {
    attnkern_set_isa(impl.isa.c_str());
    attnkern_tanh_f32(x.data(), y.data(), x.size());
  } else {
    run_peer(impl.p, x.data(), y.data(), x.size(), max_threads());
  }
  double worst = 0;
#if defined(_OPENMP)
#pragma omp parallel for reduction(max : worst) schedule(static)
#endif
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(x.size()); ++i) {
    worst = std::max(worst, attnkern_tools::ulp_error(y[i], std::tanh(static_cast<double>(x[i]))));
  }
  return worst;
}

std::string bench_name(const implementation& impl, std::size_t n, int threads) {
  return "tanh/" + impl.id + "/" + std::to_string(n) + "/threads:" + std::to_string(threads);
}

std::string size_label(std::size_t n) {
  return n >= (1u << 20) ? std::to_string(n >> 20) + "M" : std::to_string(n >> 10) + "K";
}

}  // namespace

int main(int argc, char** argv) {
  attnkern_bench::initialize(argc, argv);

  const auto cpu = xsimd::available_architectures();
  std::vector<implementation> impls;
  const std::string dispatched = attnkern_isa();
  for (const char* isa : {"avx512", "avx2", "sse2", "neon"}) {
    if (attnkern_set_isa(isa) != ATTNKERN_OK) continue;
    const bool is_default = dispatched == isa;
    impls.push_back({std::string("attnkern_") + isa, std::string("attnkern ") + isa + (is_default ? " (dispatched)" : ""),
                     "two regimes, one divide", isa, {}});
  }
  attnkern_set_isa("auto");
  for (const peer& p : attnkern_bench::tanh_peers()) {
    if (p.needs_avx2 && !cpu.fma3_avx2) {
      std::printf("note: %s skipped, this CPU has no AVX2+FMA\n", p.name);
      continue;
    }
    impls.push_back({p.id, p.name, p.algorithm, "", p});
  }
#if !defined(ATTNKERN_BENCH_EIGEN)
  std::printf("note: Eigen not installed (libeigen3-dev): skipped\n");
#endif
#if !defined(ATTNKERN_BENCH_SLEEF)
  std::printf("note: SLEEF not installed (libsleef-dev): skipped\n");
#endif
#if !defined(ATTNKERN_BENCH_DNNL)
  std::printf("note: oneDNN not installed (libdnnl-dev): skipped\n");
#endif
#if !defined(ATTNKERN_BENCH_LIBMVEC)
  std::printf("note: glibc libmvec's AVX2 tanhf not found: skipped\n");
#endif

  const int all = max_threads();
  const std::vector<int> thread_counts = attnkern_bench::thread_counts();
  for (const auto& impl : impls)
    for (int t : thread_counts)
      for (std::size_t n : sizes)
        benchmark::RegisterBenchmark(bench_name(impl, n, t).c_str(),
                                     [&impl, n, t](benchmark::State& s) { bench_tanh(s, impl, n, t); })
            ->UseRealTime();

  std::printf("attnkern %s, tanh; dispatched ISA: %s; threads: 1 and %d\n", attnkern_version(), dispatched.c_str(), all);
  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  attnkern_set_isa("auto");
  attnkern_set_num_threads(0);

  // The table: medians in Gelem/s, the max error on a sample, the speed relative to Eigen.
  constexpr uint32_t accuracy_stride = 17;
  const implementation* eigen = nullptr;
  for (const auto& impl : impls)
    if (impl.id == "eigen") eigen = &impl;
  auto rate = [&](const implementation& impl, std::size_t n, int t) {
    const double r = reporter.median(bench_name(impl, n, t), "items_per_second");
    return r < 0 ? r : r / 1e9;
  };
  for (int t : thread_counts) {
    std::printf("\ntanh, %d thread%s: median Gelem/s over the repetitions (inputs uniform in [-5, 5])\n\n", t,
                t == 1 ? "" : "s");
    std::printf("| implementation | algorithm | max ULP (1 in %u inputs) |", accuracy_stride);
    for (std::size_t n : sizes) std::printf(" %s |", size_label(n).c_str());
    if (eigen) std::printf(" vs Eigen at 4K | vs Eigen at 256K |");
    std::printf("\n|---|---|---|");
    for (std::size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) + (eigen ? 2 : 0); ++i) std::printf("---|");
    std::printf("\n");
    static std::map<std::string, double> accuracy;  // measured once, shown in both tables
    for (const auto& impl : impls) {
      bool any = false;
      for (std::size_t n : sizes) any = any || rate(impl, n, t) >= 0;
      if (!any) continue;  // filtered out
      if (!accuracy.count(impl.id)) accuracy[impl.id] = sampled_max_ulp(impl, accuracy_stride);
      std::printf("| %s | %s | %.2f |", impl.name.c_str(), impl.algorithm.c_str(), accuracy[impl.id]);
      for (std::size_t n : sizes) {
        const double r = rate(impl, n, t);
        r >= 0 ? std::printf(" %.3f |", r) : std::printf(" - |");
      }
      if (eigen) {
        for (std::size_t n : {std::size_t(1) << 12, std::size_t(1) << 18}) {
          const double r = rate(impl, n, t), e = rate(*eigen, n, t);
          r >= 0 && e > 0 ? std::printf(" %.2fx |", r / e) : std::printf(" - |");
        }
      }
      std::printf("\n");
    }
  }
  attnkern_set_isa("auto");
  benchmark::Shutdown();
  return 0;
}
