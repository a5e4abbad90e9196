// attnkern-bench-softmax: row-wise softmax at the shapes of the issue (32 x 60 ... 64 x 1M) beside
// oneDNN's softmax primitive, the scalar reference and the read+write bandwidth probe at the same
// size, on one thread and on all threads; then both of attnkern's algorithms (three passes, two
// passes) over a sweep of row lengths, which is where the crossover comes from. Rates count 8 bytes
// per element (one read, one write), as the probe does.
//
// Google Benchmark's own flags work (--benchmark_filter=..., --benchmark_out=FILE.json, ...).
#include <attnkern/attnkern.h>
#include <attnkern/reference.hpp>

#include "bench_common.hpp"
#include "dispatch.hpp"
#include "probes.hpp"
#include "softmax/softmax_driver.hpp"

#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#if defined(ATTNKERN_BENCH_DNNL)
#include "onednn.hpp"
#endif

namespace {

using attnkern::kernels::softmax_algorithm;
using attnkern_bench::collecting_reporter;

struct shape {
  std::size_t rows, cols;
};
const shape issue_shapes[] = {{32, 60}, {4096, 128}, {256, 4096}, {16, 65536}, {64, 1 << 20}};

std::string shape_label(shape s) {
  auto dim = [](std::size_t v) {
    return v >= (1u << 20) && v % (1u << 20) == 0 ? std::to_string(v >> 20) + "M" : std::to_string(v);
  };
  return dim(s.rows) + "x" + dim(s.cols);
}


// One implementation: runs softmax over x (rows x cols) into y with `threads` threads.
using runner = std::function<void(const float* x, float* y, shape s, int threads)>;

struct implementation {
  std::string id, name;
  runner run;
  bool single_threaded = false;  // only registered for one thread
};

#if defined(ATTNKERN_BENCH_DNNL)
// oneDNN's softmax primitive over axis 1, made per shape and thread count: it sizes its OpenMP
// work when it is created.
void onednn_softmax(const float* x, float* y, shape s, int threads) {
  attnkern_bench::onednn_run(std::make_tuple(s.rows, s.cols, threads), [s](const dnnl::engine& engine) {
    dnnl::memory::desc md({static_cast<dnnl::memory::dim>(s.rows), static_cast<dnnl::memory::dim>(s.cols)},
                          dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
    dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
    return std::make_pair(md, dnnl::primitive(dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(d, engine))));
  }, x, y);
}
#endif

void run_bench(benchmark::State& state, const implementation& impl, shape s, int threads) {
  const std::size_t n = s.rows * s.cols;
  const std::vector<float>& x = attnkern_bench::uniform_inputs(n, -10.0f, 10.0f);  // softmax logits
  std::vector<float> y(n);
  impl.run(x.data(), y.data(), s, threads);  // warm up: page in y, create primitives
  for (auto _ : state) {
    impl.run(x.data(), y.data(), s, threads);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 2 * sizeof(float)));
}

std::string bench_name(const std::string& id, shape s, int threads) {
  return "softmax/" + id + "/" + shape_label(s) + "/threads:" + std::to_string(threads);
}

}  // namespace

int main(int argc, char** argv) {
  attnkern_bench::initialize(argc, argv);
  const std::string isa = attnkern_isa();
  const attnkern::kernels::kernel_table* table = attnkern::kernels::usable_table(isa.c_str());
  auto forced = [table](softmax_algorithm algorithm) {
    return [table, algorithm](const float* x, float* y, shape s, int threads) {
      attnkern::kernels::softmax_run(*table, x, y, s.rows, s.cols, false, threads, algorithm);
    };
  };
  std::vector<implementation> impls{
      {"attnkern", "attnkern (" + isa + ")",
       [](const float* x, float* y, shape s, int threads) {
         attnkern_set_num_threads(threads);
         attnkern_softmax_f32(x, y, s.rows, s.cols);
       }},
#if defined(ATTNKERN_BENCH_DNNL)
      {"onednn", "oneDNN",
       [](const float* x, float* y, shape s, int threads) {
         omp_set_num_threads(threads);
         onednn_softmax(x, y, s, threads);
         omp_set_num_threads(attnkern_bench::max_threads());
       }},
#endif
      {"probe_rw", "read+write probe", [](const float* x, float* y, shape s, int threads) {
         attnkern_bench::probe_read_write(x, y, s.rows * s.cols, threads);
       }},
      {"reference", "scalar reference",
       [](const float* x, float* y, shape s, int) { attnkern::reference::softmax(x, y, s.rows, s.cols); }, true},
  };
#if !defined(ATTNKERN_BENCH_DNNL)
  std::printf("note: oneDNN not installed (libdnnl-dev): skipped\n");
#endif
  const std::vector<implementation> algorithms{{"three_pass", "three passes", forced(softmax_algorithm::three_pass)},
                                               {"two_pass", "two passes", forced(softmax_algorithm::two_pass)}};
  // 64M elements (256 MB, beyond the 32 MB L3) in rows of 1K to 16M columns
  const std::vector<shape> sweep{{1 << 16, 1 << 10}, {1 << 14, 1 << 12}, {1 << 12, 1 << 14}, {1 << 10, 1 << 16},
                                 {1 << 8, 1 << 18}, {1 << 6, 1 << 20}, {1 << 4, 1 << 22}, {1 << 2, 1 << 24}};

  const auto threads = attnkern_bench::thread_counts();
  for (int t : threads) {
    for (const auto& impl : impls) {
      if (impl.single_threaded && t > 1) continue;
      for (shape s : issue_shapes)
        benchmark::RegisterBenchmark(bench_name(impl.id, s, t).c_str(), [&impl, s, t](benchmark::State& st) { run_bench(st, impl, s, t); })
            ->UseRealTime();
    }
    for (const auto& impl : algorithms)
      for (shape s : sweep)
        benchmark::RegisterBenchmark(bench_name(impl.id, s, t).c_str(), [&impl, s, t](benchmark::State& st) { run_bench(st, impl, s, t); })
            ->UseRealTime();
  }
  std::printf("attnkern %s, softmax; ISA: %s; threads: 1 and %d\n", attnkern_version(), isa.c_str(), attnkern_bench::max_threads());
  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  attnkern_set_num_threads(0);

  auto gbs = [&](const std::string& id, shape s, int t) {
    const double b = reporter.median(bench_name(id, s, t), "bytes_per_second");
    return b < 0 ? b : b / 1e9;
  };
  auto cell = [](double v, const char* format) {
    char text[32];
    if (v < 0) return std::string("-");
    std::snprintf(text, sizeof text, format, v);
    return std::string(text);
  };
  for (int t : threads) {
    std::printf("\nsoftmax, %d thread%s: median GB/s over the repetitions (8 bytes per element), inputs uniform in [-10, 10]\n\n",
                t, t == 1 ? "" : "s");
    std::printf("| shape | attnkern | oneDNN | attnkern / oneDNN | read+write probe | attnkern / probe | scalar reference (1 thread) | attnkern time |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (shape s : issue_shapes) {
      const double a = gbs("attnkern", s, t), o = gbs("onednn", s, t), p = gbs("probe_rw", s, t), r = gbs("reference", s, 1);
      const double ns = reporter.median(bench_name("attnkern", s, t), "real_time_ns");
      std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", shape_label(s).c_str(), cell(a, "%.2f").c_str(),
                  cell(o, "%.2f").c_str(), cell(a > 0 && o > 0 ? a / o : -1, "%.2fx").c_str(), cell(p, "%.2f").c_str(),
                  cell(a > 0 && p > 0 ? 100 * a / p : -1, "%.0f%%").c_str(), cell(r, "%.2f").c_str(),
                  ns < 0 ? "-" : (ns < 1e5 ? cell(ns / 1e3, "%.2f us") : cell(ns / 1e6, "%.2f ms")).c_str());
    }
    std::printf("\nsoftmax algorithms by row length, %d thread%s: GB/s (the crossover: attnkern uses two passes from %zu columns)\n\n",
                t, t == 1 ? "" : "s", attnkern::kernels::softmax_two_pass_from);
    std::printf("| shape | three passes | two passes | two / three |\n|---|---|---|---|\n");
    for (shape s : sweep) {
      const double a = gbs("three_pass", s, t), b = gbs("two_pass", s, t);
      std::printf("| %s | %s | %s | %s |\n", shape_label(s).c_str(), cell(a, "%.2f").c_str(), cell(b, "%.2f").c_str(),
                  cell(a > 0 && b > 0 ? b / a : -1, "%.2fx").c_str());
    }
  }
  benchmark::Shutdown();
  return 0;
}
