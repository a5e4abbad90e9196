// tanh (attnkern-bench's family "tanh"): every attnkern ISA path and every installed peer over
// n elements, inputs uniform in [-5, 5] (both regimes and the saturation), 8 bytes per element (one
// read, one write). attnkern's dispatched path is "attnkern", the others "attnkern_<isa>"; each
// implementation's max error on a sample of inputs (against float64 tanh) goes into the report's
// context (the exhaustive figures for attnkern come from attnkern-ulp --function tanh).
// Default n: 1K, 16K, 256K, 1000003, 16M; --full: every power of four from 1K to 16M, and 1000003.
#include <attnkern/attnkern.h>
#include <attnkern/attnkern.hpp>

#include "../tools/ulp.hpp"
#include "bench_common.hpp"
#include "peers.hpp"

#include <benchmark/benchmark.h>
#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace attnkern_bench {
namespace {

struct implementation {
  std::string id, name, algorithm;
  std::string isa;  // attnkern paths: the ISA to select; empty for peers
  peer p;           // peers only
};

// attnkern's paths (the dispatched one first, as "attnkern": the path the run started on, which the
// benchmarks below restore after forcing theirs), then the peers this CPU can run.
const std::vector<implementation>& implementations() {
  static std::vector<implementation> impls;
  if (!impls.empty()) return impls;
  const std::string dispatched = attnkern_isa();
  impls.push_back({"attnkern", "attnkern (" + dispatched + ")", "two regimes, one divide", dispatched, {}});
  for (const std::string& isa : attnkern::isa_list()) {
    if (isa == dispatched || isa == "scalar") continue;
    impls.push_back({"attnkern_" + isa, "attnkern " + isa, "two regimes, one divide", isa, {}});
  }
  const auto cpu = xsimd::available_architectures();
  for (const peer& p : tanh_peers()) {
    if (p.needs_avx2 && !cpu.fma3_avx2) continue;  // (describe_tanh says so)
    impls.push_back({p.id, p.name, p.algorithm, "", p});
  }
  return impls;
}

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
  const std::vector<float>& x = uniform_inputs(n, -5.0f, 5.0f);
  std::vector<float> y(n);
  if (!impl.isa.empty()) attnkern_set_isa(impl.isa.c_str());
#if defined(_OPENMP)
  if (impl.p.own_threads) omp_set_num_threads(threads);
#endif
  timed_loop(state, threads, [&] {
    if (!impl.isa.empty())
      attnkern_tanh_f32(x.data(), y.data(), n);
    else
      run_peer(impl.p, x.data(), y.data(), n, threads);
    benchmark::DoNotOptimize(y.data());
  });
#if defined(_OPENMP)
  if (impl.p.own_threads) omp_set_num_threads(max_threads());
#endif
  attnkern_set_isa(implementations().front().isa.c_str());  // the path the run started on
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 2 * sizeof(float)));
  set_shape(state, 1, static_cast<double>(n), 1, static_cast<double>(n * 2 * sizeof(float)));
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
    attnkern_set_isa(implementations().front().isa.c_str());  // the path the run started on
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

std::vector<std::size_t> sizes(const options& opt) {
  if (opt.full) return {1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20, 1000003, 1 << 22, 1 << 24};
  return {1 << 10, 1 << 14, 1 << 18, 1000003, 1 << 24};
}

}  // namespace

void register_tanh(const options& opt) {
  for (const auto& impl : implementations()) {
    const bool slow = impl.id == "std_tanh" || impl.id == "reference";
    for (int t : opt.threads())
      for (std::size_t n : sizes(opt))
        benchmarks().add(bench_name("tanh", impl.id, std::to_string(n), t), static_cast<double>(n) * (slow ? 8e-9 : 1e-9) / t,
                         [&impl, n, t](benchmark::State& s) { bench_tanh(s, impl, n, t); });
  }
}

void describe_tanh(const options& opt) {
  // 1 in 4099 of the floats (about a million inputs) by default, 1 in 17 with --full
  const uint32_t stride = opt.full ? 17 : 4099;
  benchmark::AddCustomContext("tanh_accuracy_sample", "every " + std::to_string(stride) + "th float and its negative");
  for (const auto& impl : implementations()) {
    char ulp[32];
    std::snprintf(ulp, sizeof ulp, "%.2f", sampled_max_ulp(impl, stride));
    benchmark::AddCustomContext("name:tanh/" + impl.id, impl.name);
    benchmark::AddCustomContext("algorithm:tanh/" + impl.id, impl.algorithm);
    benchmark::AddCustomContext("max_ulp:tanh/" + impl.id, ulp);
  }
  if (!xsimd::available_architectures().fma3_avx2)
    benchmark::AddCustomContext("note:tanh/avx2", "the AVX2 peers (xsimd, Eigen, SLEEF, libmvec) need AVX2 + FMA: skipped");
#if !defined(ATTNKERN_BENCH_EIGEN)
  benchmark::AddCustomContext("note:tanh/eigen", "Eigen not installed (libeigen3-dev): skipped");
#endif
#if !defined(ATTNKERN_BENCH_SLEEF)
  benchmark::AddCustomContext("note:tanh/sleef", "SLEEF not installed (libsleef-dev): skipped");
#endif
#if !defined(ATTNKERN_BENCH_DNNL)
  benchmark::AddCustomContext("note:tanh/onednn", "oneDNN not installed (libdnnl-dev): skipped");
#endif
#if !defined(ATTNKERN_BENCH_LIBMVEC)
  benchmark::AddCustomContext("note:tanh/libmvec", "glibc's libmvec AVX2 tanhf not found: skipped");
#endif
}

}  // namespace attnkern_bench
