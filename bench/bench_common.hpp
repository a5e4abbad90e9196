// Shared by the benchmark binaries: default flags, a reporter that keeps each benchmark's median
// rates for the summary tables, and the thread counts to run.
#pragma once

#include <attnkern/attnkern.h>
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>

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

// 1 and all threads.
inline std::vector<int> thread_counts() {
  std::vector<int> counts{1};
  if (max_threads() > 1) counts.push_back(max_threads());
  return counts;
}

// benchmark::Initialize with our defaults (5 repetitions of at least 0.05 s, aggregates only) placed
// before the user's flags, so that theirs win.
inline void initialize(int argc, char** argv) {
  static std::string reps = "--benchmark_repetitions=5", agg = "--benchmark_report_aggregates_only=true",
                     min_time = "--benchmark_min_time=0.05";
  static std::vector<char*> args;
  args = {argv[0], &reps[0], &agg[0], &min_time[0]};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
}

// initialize(), after taking out the binaries' own flag --full (the whole sweep); returns whether it
// was given.
inline bool initialize_with_full(int argc, char** argv) {
  bool full = false;
  static std::vector<char*> rest;
  rest.clear();
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      full = true;
    else
      rest.push_back(argv[i]);
  }
  initialize(static_cast<int>(rest.size()), rest.data());
  return full;
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

// A table cell: v printed with `format`, or "-" when v <= 0 (not measured).
inline std::string cell(double v, const char* format) {
  if (v <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}
// A time in ns as "12.3 us" or "4.56 ms".
inline std::string time_cell(double ns) { return ns < 1e6 ? cell(ns / 1e3, "%.1f us") : cell(ns / 1e6, "%.2f ms"); }

// Prints as the console reporter does, and keeps the median of every counter by benchmark name.
class collecting_reporter : public benchmark::ConsoleReporter {
 public:
  // The median of the repetitions, or the single run when there are no repetitions.
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (!median && !single) continue;
      auto& row = medians_[run.run_name.function_name];
      for (const auto& counter : run.counters) row[counter.first] = counter.second.value;
      row["real_time_ns"] = run.GetAdjustedRealTime() * multiplier(run.time_unit);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // The median of `counter` for benchmark `name`, or -1 when it did not run (filtered out).
  double median(const std::string& name, const std::string& counter) const {
    auto row = medians_.find(name);
    if (row == medians_.end()) return -1;
    auto value = row->second.find(counter);
    return value == row->second.end() ? -1 : value->second;
  }

 private:
  static double multiplier(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kSecond: return 1e9;
      case benchmark::kMillisecond: return 1e6;
      case benchmark::kMicrosecond: return 1e3;
      default: return 1;
    }
  }
  std::map<std::string, std::map<std::string, double>> medians_;
};

}  // namespace attnkern_bench
