// softmax (attnkern-bench's family "softmax"): row-wise softmax over rows x cols beside oneDNN's
// softmax primitive and the scalar reference (one thread, up to 1M elements), inputs uniform in
// [-10, 10]. Rates count 8 bytes per element (one read, one write), as the read+write probe does.
// Default: rows {32, 1024} x cols {60, 128, 1000, 4096, 65536} and 32 x 1M; --full adds rows 256
// and 4096, cols 16384, the shapes (4096 x 128, 256 x 4096, 16 x 65536, 64 x 1M), and both
// of attnkern's algorithms ("three_pass", "two_pass") forced over rows of 1K to 16M columns (64M
// elements each), which is where the crossover comes from.
#include <attnkern/attnkern.h>
#include <attnkern/reference.hpp>

#include "bench_common.hpp"
#include "runtime/dispatch.hpp"
#include "drivers/softmax_driver.hpp"

#include <algorithm>
#include <functional>
#include <new>
#include <string>
#include <vector>

#if defined(ATTNKERN_BENCH_DNNL)
#include "onednn.hpp"
#endif

namespace attnkern_bench {
namespace {

using attnkern::kernels::softmax_algorithm;

struct shape {
  std::size_t rows, cols;
  std::size_t elements() const { return rows * cols; }
  std::string label() const { return std::to_string(rows) + "x" + std::to_string(cols); }
  bool operator<(const shape& o) const { return rows != o.rows ? rows < o.rows : cols < o.cols; }
  bool operator==(const shape& o) const { return rows == o.rows && cols == o.cols; }
};

constexpr std::size_t max_elements = std::size_t(64) << 20;
constexpr std::size_t max_reference_elements = std::size_t(1) << 20;

// One implementation: runs softmax over x (rows x cols) into y with `threads` threads.
struct implementation {
  std::string id, name;
  std::function<void(const float* x, float* y, shape s, int threads)> run;
};

#if defined(ATTNKERN_BENCH_DNNL)
// oneDNN's softmax primitive over axis 1, made per shape and thread count: it sizes its OpenMP
// work when it is created.
void onednn_softmax(const float* x, float* y, shape s, int threads) {
  onednn_run(std::make_tuple(s.rows, s.cols, threads), [s](const dnnl::engine& engine) {
    dnnl::memory::desc md({static_cast<dnnl::memory::dim>(s.rows), static_cast<dnnl::memory::dim>(s.cols)},
                          dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
    dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
    return std::make_pair(md, dnnl::primitive(dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(d, engine))));
  }, x, y);
}
#endif

void run_bench(benchmark::State& state, const implementation& impl, shape s, int threads) {
  const std::size_t n = s.elements();
  const std::vector<float>& x = uniform_inputs(n, -10.0f, 10.0f);  // softmax logits
  static std::vector<float> y;
  y.resize(std::max(y.size(), n));
  timed_loop(state, threads, [&] {
    impl.run(x.data(), y.data(), s, threads);
    benchmark::DoNotOptimize(y.data());
  });
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 2 * sizeof(float)));
  set_shape(state, static_cast<double>(s.rows), static_cast<double>(s.cols), 1, static_cast<double>(n * 2 * sizeof(float)));
}

}  // namespace

void register_softmax(const options& opt) {
  const std::string isa = attnkern_isa();
  std::vector<implementation> impls{
      {"attnkern", "attnkern (" + isa + ")",
       [](const float* x, float* y, shape s, int) { attnkern_softmax_f32(x, y, s.rows, s.cols); }},
#if defined(ATTNKERN_BENCH_DNNL)
      {"onednn", "oneDNN softmax primitive",
       [](const float* x, float* y, shape s, int threads) {
         omp_set_num_threads(threads);
         onednn_softmax(x, y, s, threads);
         omp_set_num_threads(max_threads());
       }},
#endif
      {"reference", "scalar reference",
       [](const float* x, float* y, shape s, int) { attnkern::reference::softmax(x, y, s.rows, s.cols); }},
  };
#if !defined(ATTNKERN_BENCH_DNNL)
  benchmark::AddCustomContext("note:softmax/onednn", "oneDNN not installed (libdnnl-dev): skipped");
#endif
  const attnkern::kernels::kernel_table* table = attnkern::kernels::usable_table(isa.c_str());
  auto forced = [table](softmax_algorithm algorithm) {
    return [table, algorithm](const float* x, float* y, shape s, int threads) {
      if (!attnkern::kernels::softmax_run(*table, x, y, s.rows, s.cols, false, threads, algorithm))
        throw std::bad_alloc();
    };
  };
  if (opt.full) {
    impls.push_back({"three_pass", "attnkern, three passes forced", forced(softmax_algorithm::three_pass)});
    impls.push_back({"two_pass", "attnkern, two passes forced", forced(softmax_algorithm::two_pass)});
  }
  static const std::vector<implementation> kept = impls;

  std::vector<shape> shapes;
  const std::vector<std::size_t> rows = opt.full ? std::vector<std::size_t>{32, 256, 1024, 4096} : std::vector<std::size_t>{32, 1024};
  const std::vector<std::size_t> cols = opt.full ? std::vector<std::size_t>{60, 128, 1000, 4096, 16384, 65536, 1 << 20}
                                                 : std::vector<std::size_t>{60, 128, 1000, 4096, 65536, 1 << 20};
  for (std::size_t r : rows)
    for (std::size_t c : cols)
      if (r * c <= max_elements) shapes.push_back({r, c});
  if (opt.full)
    for (shape s : {shape{4096, 128}, shape{256, 4096}, shape{16, 65536}, shape{64, 1 << 20}}) shapes.push_back(s);
  std::sort(shapes.begin(), shapes.end());
  shapes.erase(std::unique(shapes.begin(), shapes.end()), shapes.end());
  // 64M elements (256 MB, beyond the L3) in rows of 1K to 16M columns
  std::vector<shape> sweep;
  for (std::size_t c = 1 << 10; c <= (1 << 24); c *= 4) sweep.push_back({max_elements / c, c});

  for (const auto& impl : kept) {
    benchmark::AddCustomContext("name:softmax/" + impl.id, impl.name);
    const bool algorithm = impl.id == "three_pass" || impl.id == "two_pass";
    const bool reference = impl.id == "reference";
    const auto threads = reference ? std::vector<int>{1} : opt.threads();
    for (int t : threads)
      for (shape s : algorithm ? sweep : shapes) {
        if (reference && s.elements() > max_reference_elements) continue;
        const double guess = static_cast<double>(s.elements()) * (reference ? 1e-8 : 1e-9) / t;
        benchmarks().add(bench_name("softmax", impl.id, s.label(), t), guess,
                         [&impl, s, t](benchmark::State& st) { run_bench(st, impl, s, t); });
      }
  }
}

}  // namespace attnkern_bench
