// attnkern-bench-sdpa: scaled dot-product attention (attnkern_sdpa_f32) over batch*heads x sequence
// x head_dim (q_len = kv_len = sequence, value_dim = head_dim, scale 1/sqrt(head_dim)), causal and
// not, on one thread and on all threads, beside
//   - an FMA-peak probe in the same process and thread count (bench/probes.cpp),
//   - where OpenBLAS is installed: the unfused pipeline NumPy or PyTorch would run, per batch item
//     the system's cblas_sgemm for S = scale Q K^T, the causal mask written as -inf,
//     attnkern_softmax_f32, and cblas_sgemm for P V, and its two sgemm calls alone (the GEMMs' share
//     of that pipeline). OpenBLAS threads the GEMMs; the softmax runs on one thread, as NumPy's
//     would: with attnkern's OpenMP threads too, the two pools' idle workers spin against each
//     other and the pipeline runs at a third of its speed on 2 threads (40 rather than 147 GFLOP/s
//     at 16 x 1024 x 64; OMP_WAIT_POLICY=passive also avoids it).
// Rates: GFLOP/s = 4 batch q_len kv_len head_dim / time, halved for causal (the useful FLOPs).
//
// Default: a quick subset (the headline shape 16 x 1024 x 64 among them, and one decoding
// shape, q_len 1 against 4096 keys); --full: the whole sweep, batch {1, 16, 64} x sequence
// {64, 128, 512, 1024, 4096} x head_dim {32, 64, 128}, causal and not (long: the largest shapes take
// seconds per run). Google Benchmark's flags work too (--benchmark_filter=..., --benchmark_out=...).
#include <attnkern/attnkern.h>

#include "bench_common.hpp"
#include "probes.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#if defined(ATTNKERN_BENCH_OPENBLAS)
#include <cblas.h>
#endif

namespace {

using attnkern_bench::collecting_reporter;

struct shape {
  std::size_t batch, q_len, kv_len, head_dim;
  bool causal;
  double flops() const {
    const double all = 4.0 * static_cast<double>(batch * q_len) * static_cast<double>(kv_len) * static_cast<double>(head_dim);
    return causal ? all / 2 : all;
  }
  std::string label() const {
    std::string l = std::to_string(batch) + "x" + std::to_string(q_len);
    if (kv_len != q_len) l += "x" + std::to_string(kv_len);
    return l + "x" + std::to_string(head_dim) + (causal ? "/causal" : "");
  }
};

// Inputs uniform in [-1, 1], one shared array per role sized for the largest shape.
struct inputs {
  const float *q, *k, *v;
  float* out;
};
inputs inputs_for(const shape& s, std::size_t largest) {
  static std::vector<float> out;
  out.resize(std::max(out.size(), largest));
  const std::vector<float>& x = attnkern_bench::uniform_inputs(3 * largest, -1.0f, 1.0f);
  (void)s;
  return inputs{x.data(), x.data() + largest, x.data() + 2 * largest, out.data()};
}

float scale_of(const shape& s) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.head_dim))); }

#if defined(ATTNKERN_BENCH_OPENBLAS)
// The unfused pipeline per batch item; softmax = false leaves out the mask and the softmax.
void unfused(const shape& s, const inputs& in, bool softmax) {
  static std::vector<float> scores;
  const std::size_t tq = s.q_len, tk = s.kv_len, d = s.head_dim;
  scores.resize(std::max(scores.size(), tq * tk));
  const int m = static_cast<int>(tq), n = static_cast<int>(tk), kd = static_cast<int>(d);
  for (std::size_t b = 0; b < s.batch; ++b) {
    const float* q = in.q + b * tq * d;
    const float* k = in.k + b * tk * d;
    const float* v = in.v + b * tk * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, kd, scale_of(s), q, kd, k, kd, 0.0f, scores.data(), n);
    if (softmax) {
      if (s.causal)
        for (std::size_t i = 0; i < tq; ++i)
          for (std::size_t j = i + tk - tq + 1; j < tk; ++j) scores[i * tk + j] = -std::numeric_limits<float>::infinity();
      attnkern_softmax_f32(scores.data(), scores.data(), tq, tk);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, kd, n, 1.0f, scores.data(), n, v, kd, 0.0f,
                in.out + b * tq * d, kd);
  }
}
#endif

struct implementation {
  std::string id, name;
  std::function<void(const shape&, const inputs&, int threads)> run;
};

const std::vector<implementation>& implementations() {
  static std::vector<implementation> impls;
  if (!impls.empty()) return impls;
  impls.push_back({"attnkern", "attnkern", [](const shape& s, const inputs& in, int) {
                     attnkern_sdpa_f32(in.q, in.k, in.v, nullptr, s.batch, s.q_len, s.kv_len, s.head_dim, s.head_dim,
                                       scale_of(s), s.causal ? 1 : 0, in.out);
                   }});
#if defined(ATTNKERN_BENCH_OPENBLAS)
  impls.push_back({"unfused_openblas", "OpenBLAS sgemm + softmax + sgemm",
                   [](const shape& s, const inputs& in, int threads) {
                     openblas_set_num_threads(threads);
                     attnkern_set_num_threads(1);
                     unfused(s, in, true);
                   }});
  impls.push_back({"sgemm_only", "its two sgemm calls alone", [](const shape& s, const inputs& in, int threads) {
                     openblas_set_num_threads(threads);
                     unfused(s, in, false);
                   }});
#endif
  return impls;
}

std::string bench_name(const std::string& id, const shape& s, int threads) {
  return "sdpa/" + id + "/" + s.label() + "/threads:" + std::to_string(threads);
}

void run_bench(benchmark::State& state, const implementation& impl, const shape& s, std::size_t largest, int threads) {
  const inputs in = inputs_for(s, largest);
  attnkern_bench::timed_loop(state, threads, [&] { impl.run(s, in, threads); });
  // (the pipeline's sgemm alone counts the same FLOPs, for a comparable rate)
  state.counters["flops"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * s.flops(), benchmark::Counter::kIsRate);
}

void run_fma_probe(benchmark::State& state, int threads) {
  constexpr std::size_t rounds = std::size_t(1) << 20;
  double flops = 0;
  for (auto _ : state) flops += attnkern_bench::probe_fma(rounds, threads);
  state.counters["flops"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  const bool full = attnkern_bench::initialize_with_full(argc, argv);

  std::vector<shape> shapes;
  if (full) {
    for (std::size_t b : {1, 16, 64})
      for (std::size_t t : {64, 128, 512, 1024, 4096})
        for (std::size_t d : {32, 64, 128})
          for (bool causal : {false, true}) shapes.push_back({b, t, t, d, causal});
  } else {
    for (bool causal : {false, true})
      for (const shape& s : {shape{1, 64, 64, 32, false}, shape{16, 128, 128, 64, false}, shape{16, 1024, 1024, 32, false},
                             shape{16, 1024, 1024, 64, false}, shape{16, 1024, 1024, 128, false},
                             shape{64, 512, 512, 64, false}, shape{1, 4096, 4096, 64, false}})
        shapes.push_back({s.batch, s.q_len, s.kv_len, s.head_dim, causal});
  }
  shapes.push_back({16, 1, 4096, 64, false});  // decoding: one query per head against a key cache
  std::size_t largest = 0;
  for (const shape& s : shapes) largest = std::max({largest, s.batch * s.q_len * s.head_dim, s.batch * s.kv_len * s.head_dim});

  const auto threads = attnkern_bench::thread_counts();
  for (int t : threads) {
    benchmark::RegisterBenchmark(("probe_fma/threads:" + std::to_string(t)).c_str(),
                                 [t](benchmark::State& st) { run_fma_probe(st, t); })
        ->UseRealTime();
    for (const auto& impl : implementations())
      for (const shape& s : shapes)
        benchmark::RegisterBenchmark(bench_name(impl.id, s, t).c_str(),
                                     [&impl, s, largest, t](benchmark::State& st) { run_bench(st, impl, s, largest, t); })
            ->UseRealTime();
  }
  std::printf("attnkern %s, scaled dot-product attention; ISA: %s; threads: 1 and %d; %s sweep\n", attnkern_version(),
              attnkern_isa(), attnkern_bench::max_threads(), full ? "full" : "default (--full for the whole)");
#if !defined(ATTNKERN_BENCH_OPENBLAS)
  std::printf("note: OpenBLAS not found at build time (apt-get install libopenblas-dev): the unfused pipeline is skipped\n");
#endif
  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  auto gflops = [&](const std::string& name) {
    const double v = reporter.median(name, "flops");
    return v > 0 ? v / 1e9 : -1;
  };
  using attnkern_bench::cell;
  using attnkern_bench::time_cell;
  for (int t : threads) {
    const double peak = gflops("probe_fma/threads:" + std::to_string(t));
    std::printf("\nsdpa, %d thread%s: medians over the repetitions; GFLOP/s = 4 B Tq Tk d / time (halved for causal); "
                "FMA peak probe %s GFLOP/s\n\n",
                t, t == 1 ? "" : "s", cell(peak, "%.1f").c_str());
    std::printf("| B x T x d | attnkern | GFLOP/s | of FMA peak | OpenBLAS sgemm + softmax + sgemm | GFLOP/s | speed-up | its sgemm alone GFLOP/s |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (const shape& s : shapes) {
      const double ours = gflops(bench_name("attnkern", s, t)), unfused = gflops(bench_name("unfused_openblas", s, t));
      const double gemm = gflops(bench_name("sgemm_only", s, t));
      const double ns = reporter.median(bench_name("attnkern", s, t), "real_time_ns");
      const double unfused_ns = reporter.median(bench_name("unfused_openblas", s, t), "real_time_ns");
      std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", s.label().c_str(), time_cell(ns).c_str(),
                  cell(ours, "%.1f").c_str(), cell(ours > 0 && peak > 0 ? 100 * ours / peak : -1, "%.0f%%").c_str(),
                  time_cell(unfused_ns).c_str(), cell(unfused, "%.1f").c_str(),
                  cell(ours > 0 && unfused > 0 ? ours / unfused : -1, "%.1fx").c_str(), cell(gemm, "%.1f").c_str());
    }
  }
  benchmark::Shutdown();
  return 0;
}
