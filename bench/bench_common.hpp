// Shared by the kernel families of attnkern-bench (bench/bench_*.cpp): the sweep's options, the
// thread counts, the registry that names and counts every benchmark (for the progress line), the
// timed loop, and seeded inputs.
#pragma once

#include <attnkern/attnkern.h>
#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace attnkern_bench {

inline int max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// What a kernel family sweeps.
struct options {
  bool full = false;  // --full: the kernel issues' whole sweeps; otherwise the quick default
  // The thread counts every implementation runs on (the scalar reference: 1 only): 1 and all
  // threads; with --full also the powers of two between (the thread-scaling plot).
  std::vector<int> threads() const {
    std::vector<int> counts{1};
    for (int t = 2; full && t < max_threads(); t *= 2) counts.push_back(t);
    if (max_threads() > 1) counts.push_back(max_threads());
    return counts;
  }
};

// Every benchmark of the sweep goes through add(): registered with Google Benchmark (real time),
// and counted, when --benchmark_filter selects it, with a guess of its cost for the progress line.
class registry {
 public:
  // `seconds_per_iteration`: a rough guess of one iteration's time (only the progress line's
  // estimate of the time left uses it).
  void add(const std::string& name, double seconds_per_iteration, std::function<void(benchmark::State&)> run);
  // Benchmarks selected and the sum of their guessed costs (seconds).
  std::size_t selected() const { return selected_; }
  double guessed_seconds() const { return guessed_; }
  // The guessed cost of the benchmark `name` (0 when unknown).
  double guess(const std::string& name) const;
  // Google Benchmark's timing flags, as the sweep sets them (for the guesses).
  double min_time = 0.05;
  int repetitions = 5;

 private:
  std::size_t selected_ = 0;
  double guessed_ = 0;
  std::map<std::string, double> guesses_;
};
registry& benchmarks();

// The kernel families (bench/bench_<family>.cpp); each registers its benchmarks, named
// <kernel>/<implementation>/<shape>/threads:<t>, with counters the report reads (tools/bench_report.py):
//   batch, seq, features (the shape; seq is the row length or the key count), working_set (bytes
//   an iteration touches), and a rate: bytes_per_second, items_per_second or flops.
void register_roofline(const options& opt);  // roofline/<read|read_write|fma>/<level>/threads:<t>
void register_tanh(const options& opt);
void register_softmax(const options& opt);
void register_attention(const options& opt);  // attention_pool and additive_attention
void register_sdpa(const options& opt);
// Facts a family adds to the report's context before the run (e.g. the peers' measured accuracy).
void describe_tanh(const options& opt);

// The shape counters every kernel benchmark carries.
inline void set_shape(benchmark::State& state, double batch, double seq, double features, double working_set) {
  state.counters["batch"] = batch;
  state.counters["seq"] = seq;
  state.counters["features"] = features;
  state.counters["working_set"] = working_set;
}

// n inputs uniform in [lo, hi] (seed 42), made once per (n, lo, hi) and kept.
inline const std::vector<float>& uniform_inputs(std::size_t n, float lo, float hi) {
  static std::map<std::tuple<std::size_t, float, float>, std::vector<float>> cache;
  auto& v = cache[std::make_tuple(n, lo, hi)];
  if (v.empty()) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(lo, hi);
    v.resize(n);
    for (auto& e : v) e = dist(rng);
  }
  return v;
}

// The timed loop of a kernel benchmark: `run` once to warm up, then once per iteration, with the
// library's threads set to `threads` meanwhile (restored to the default after).
template <class Run>
void timed_loop(benchmark::State& state, int threads, Run&& run) {
  attnkern_set_num_threads(threads);
  run();
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  attnkern_set_num_threads(0);
}

// "<kernel>/<implementation>/<shape>/threads:<t>"
inline std::string bench_name(const std::string& kernel, const std::string& impl, const std::string& shape, int threads) {
  return kernel + "/" + impl + "/" + shape + "/threads:" + std::to_string(threads);
}

}  // namespace attnkern_bench
