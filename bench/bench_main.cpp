// attnkern-bench: the benchmark sweep of every kernel family (tanh, softmax, attention_pool,
// additive_attention, sdpa) beside its peers and the roofline probes, in one process.
//
//   attnkern-bench [--full] [--kernels=LIST] [Google Benchmark flags]
//
//   --full          the kernel issues' whole sweeps (long: tens of minutes); default: a quick sweep
//   --kernels=LIST  comma-separated families to run (the roofline probes always run), e.g.
//                   --kernels=tanh,sdpa
//
// With --benchmark_out=FILE.json (as tools/bench.sh runs it) the results go to FILE and the terminal
// shows a progress line (which benchmark, how far, about how long left); without it, Google
// Benchmark's console table. tools/bench_report.py turns the JSON into the report. Defaults: 5
// repetitions of at least 0.02 s each (0.05 s with --full), aggregates only; the user's flags win.
// The JSON's context names the machine and the build (custom context: attnkern_*, cpu_model,
// compiler, ...), the implementations ("name:<kernel>/<id>") and the peers skipped ("note:...").
#include <attnkern/attnkern.h>
#include <attnkern/attnkern.hpp>

#include "bench_common.hpp"
#include "../tools/build_info.hpp"
#include "probes.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef ATTNKERN_BENCH_BUILD
#define ATTNKERN_BENCH_BUILD "unknown"
#endif

namespace attnkern_bench {
namespace {

const char* const families[] = {"tanh", "softmax", "attention_pool", "additive_attention", "sdpa"};

// What --kernels selected (all families when empty), and Google Benchmark's filter.
std::set<std::string> selected_kernels;
std::string benchmark_filter;

bool selected_by_filter(const std::string& name) {
  if (benchmark_filter.empty() || benchmark_filter == "all" || benchmark_filter == ".") return true;
  const bool negative = benchmark_filter[0] == '-';
  try {
    const bool found = std::regex_search(name, std::regex(negative ? benchmark_filter.substr(1) : benchmark_filter));
    return found != negative;
  } catch (const std::regex_error&) {
    return true;  // (Google Benchmark reports a bad filter itself)
  }
}

std::string format_seconds(double s) {
  const long total = static_cast<long>(s + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

// Google Benchmark's console reporter, or (quiet: the results go to a file) only a progress line:
// rewritten in place on a terminal, one line per tenth of the sweep otherwise.
class progress_reporter : public benchmark::ConsoleReporter {
 public:
  explicit progress_reporter(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}

  bool ReportContext(const Context& context) override {
    start_ = std::chrono::steady_clock::now();
    return quiet_ ? true : ConsoleReporter::ReportContext(context);
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    if (!quiet_) {
      ConsoleReporter::ReportRuns(runs);
      return;
    }
    if (runs.empty()) return;
    const std::string name = runs.front().run_name.function_name;
    if (!seen_.insert(name).second) return;
    done_guess_ += benchmarks().guess(name);
    const std::size_t done = seen_.size(), total = std::max(done, benchmarks().selected());
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double left_guess = std::max(0.0, benchmarks().guessed_seconds() - done_guess_);
    const double left = done_guess_ > 0 ? elapsed * left_guess / done_guess_ : left_guess;
    const int percent = static_cast<int>(100 * done / total);
    char line[200];
    std::snprintf(line, sizeof line, "bench: [%zu/%zu] %3d%%  %s elapsed, about %s left  %s", done, total, percent,
                  format_seconds(elapsed).c_str(), format_seconds(left).c_str(), name.c_str());
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%.*s", 110, line);
    } else if (percent / 10 != last_tenth_ || done == total) {
      std::fprintf(stderr, "%s\n", line);
      last_tenth_ = percent / 10;
    }
    std::fflush(stderr);
  }
  void Finalize() override {
    if (!quiet_) return ConsoleReporter::Finalize();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "%sbench: %zu benchmarks in %s\n", tty_ ? "\r\033[K" : "", seen_.size(), format_seconds(elapsed).c_str());
  }

 private:
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point start_;
  std::set<std::string> seen_;
  double done_guess_ = 0;
  int last_tenth_ = -1;
};

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) return line.substr(line.find(':') + 2);
  return "unknown";
}

void describe_machine(const options& opt, const std::string& kernels) {
  benchmark::AddCustomContext("attnkern_version", attnkern_version());
  benchmark::AddCustomContext("attnkern_isa", attnkern_isa());
  // (the list, comma-separated; the active path stays what ATTNKERN_ISA or the dispatcher chose)
  std::string paths;
  for (const std::string& isa : attnkern::isa_list()) paths += (paths.empty() ? "" : ",") + isa;
  benchmark::AddCustomContext("attnkern_isa_paths", paths);
  benchmark::AddCustomContext("attnkern_threading", attnkern_threading_mode());
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("hardware_threads", std::to_string(std::thread::hardware_concurrency()));
  std::string threads;
  for (int t : opt.threads()) threads += (threads.empty() ? "" : ",") + std::to_string(t);
  benchmark::AddCustomContext("threads", threads);
  benchmark::AddCustomContext("compiler", attnkern_tools::compiler_description());
  benchmark::AddCustomContext("build", ATTNKERN_BENCH_BUILD);
  benchmark::AddCustomContext("sweep", opt.full ? "full" : "default");
  benchmark::AddCustomContext("kernels", kernels);
  const cache_sizes c = caches();
  benchmark::AddCustomContext("cache_l1d", std::to_string(c.l1d));
  benchmark::AddCustomContext("cache_l2", std::to_string(c.l2));
  benchmark::AddCustomContext("cache_l3", std::to_string(c.l3));
  benchmark::AddCustomContext("timing", "medians of " + std::to_string(benchmarks().repetitions) + " repetitions of at least " +
                                            std::to_string(benchmarks().min_time).substr(0, 4) + " s");
}

int usage(const char* message) {
  std::fprintf(stderr, "attnkern-bench: %s\nusage: attnkern-bench [--full] [--kernels=tanh,softmax,attention_pool,"
                       "additive_attention,sdpa] [Google Benchmark flags]\n", message);
  return 2;
}

}  // namespace

void registry::add(const std::string& name, double seconds_per_iteration, std::function<void(benchmark::State&)> run) {
  const std::string kernel = name.substr(0, name.find('/'));
  if (kernel != "roofline" && !selected_kernels.empty() && !selected_kernels.count(kernel)) return;
  benchmark::RegisterBenchmark(name.c_str(), [run](benchmark::State& state) { run(state); })->UseRealTime();
  if (!selected_by_filter(name)) return;
  // the first repetition also finds the iteration count (about twice min_time); each repetition
  // warms up once more; and 1.3 for what the sweep measured beyond that here (the estimate of the
  // time left scales with the measured pace anyway)
  const double guess = 1.3 * ((repetitions + 2) * std::max(min_time, seconds_per_iteration) + seconds_per_iteration);
  guesses_[name] = guess;
  guessed_ += guess;
  ++selected_;
}

double registry::guess(const std::string& name) const {
  auto it = guesses_.find(name);
  return it == guesses_.end() ? 0 : it->second;
}

registry& benchmarks() {
  static registry r;
  return r;
}

}  // namespace attnkern_bench

int main(int argc, char** argv) {
  using namespace attnkern_bench;
  options opt;
  std::string kernels = "all";
  bool to_file = false, user_min_time = false;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--full") {
      opt.full = true;
    } else if (arg.rfind("--kernels=", 0) == 0) {
      kernels = arg.substr(10);
      std::stringstream list(kernels);
      for (std::string k; std::getline(list, k, ',');) {
        if (std::find(std::begin(families), std::end(families), k) == std::end(families))
          return usage(("unknown kernel '" + k + "'").c_str());
        selected_kernels.insert(k);
      }
      if (selected_kernels.empty()) return usage("--kernels= names no kernel");
    } else if (arg == "--kernels") {
      return usage("write --kernels=LIST");
    } else {
      if (arg.rfind("--benchmark_out=", 0) == 0) to_file = true;
      if (arg.rfind("--benchmark_filter=", 0) == 0) benchmark_filter = arg.substr(19);
      if (arg.rfind("--benchmark_min_time=", 0) == 0) {
        benchmarks().min_time = std::atof(arg.c_str() + 21);
        user_min_time = true;
      }
      if (arg.rfind("--benchmark_repetitions=", 0) == 0) benchmarks().repetitions = std::atoi(arg.c_str() + 24);
      rest.push_back(argv[i]);
    }
  }
  // our defaults before the user's flags, so that theirs win
  static std::string reps = "--benchmark_repetitions=5", agg = "--benchmark_report_aggregates_only=true",
                     min_time = opt.full ? "--benchmark_min_time=0.05" : "--benchmark_min_time=0.02";
  if (!user_min_time) benchmarks().min_time = opt.full ? 0.05 : 0.02;
  for (char* flag : {&min_time[0], &agg[0], &reps[0]}) rest.insert(rest.begin() + 1, flag);
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(count, rest.data())) return 2;

  auto wanted = [&](const char* family) { return selected_kernels.empty() || selected_kernels.count(family); };
  register_roofline(opt);
  if (wanted("tanh")) register_tanh(opt);
  if (wanted("softmax")) register_softmax(opt);
  if (wanted("attention_pool") || wanted("additive_attention")) register_attention(opt);
  if (wanted("sdpa")) register_sdpa(opt);

  describe_machine(opt, kernels);
  if (attnkern_isa_env_status() != ATTNKERN_OK)
    std::fprintf(stderr, "bench: note: %s; the %s path is measured\n", attnkern_last_error_message(), attnkern_isa());
  if (attnkern_threading_env_status() != ATTNKERN_OK)
    std::fprintf(stderr, "bench: note: %s; the %s threading mode is measured\n", attnkern_last_error_message(), attnkern_threading_mode());
  std::fprintf(stderr, "bench: attnkern %s, %s path, %s threading, threads %s; %s sweep, %zu benchmarks, about %s\n", attnkern_version(),
               attnkern_isa(), attnkern_threading_mode(), opt.threads().size() > 1 ? ("1 to " + std::to_string(max_threads())).c_str() : "1",
               opt.full ? "full" : "default", benchmarks().selected(), format_seconds(benchmarks().guessed_seconds()).c_str());
  if (wanted("tanh")) {
    std::fprintf(stderr, "bench: measuring the tanh implementations' accuracy on a sample ...\n");
    describe_tanh(opt);
  }
  progress_reporter reporter(to_file);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
