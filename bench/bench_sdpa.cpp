// sdpa (attnkern-bench's family "sdpa"): scaled dot-product attention (attnkern_sdpa_f32) over
// batch*heads x sequence x head_dim (q_len = kv_len = sequence, value_dim = head_dim, scale
// 1/sqrt(head_dim)), causal and not, beside, where OpenBLAS is installed:
//   - "unfused_openblas": the unfused pipeline NumPy or PyTorch would run, per batch item the
//     system's cblas_sgemm for S = scale Q K^T, the causal mask written as -inf,
//     attnkern_softmax_f32, and cblas_sgemm for P V. OpenBLAS threads the GEMMs; the softmax runs on
//     one thread, as NumPy's would: with attnkern's OpenMP threads too, the two pools' idle workers
//     spin against each other and the pipeline runs at a third of its speed on 2 threads (40 rather
//     than 147 GFLOP/s at 16 x 1024 x 64; OMP_WAIT_POLICY=passive also avoids it).
//   - "sgemm_only": its two sgemm calls alone (the GEMMs' share of that pipeline).
// Rates: flops = 4 batch q_len kv_len head_dim / time, halved for causal (the useful FLOPs).
// Default: batch 16 x sequence {64, 127, 512, 1024} x head_dim {32, 64, 128}, and causal at
// head_dim 64; --full: the sweep, batch {1, 16, 64} x sequence {64, 127, 128, 512, 1024,
// 4096} x head_dim {32, 64, 128}, causal and not (the largest shapes take seconds per run). Both
// add one decoding shape, q_len 1 against 4096 keys, batch 16, head_dim 64.
#include <attnkern/attnkern.h>

#include "bench_common.hpp"

#include <cmath>
#include <algorithm>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#if defined(ATTNKERN_BENCH_OPENBLAS)
#include <cblas.h>
#endif

namespace attnkern_bench {
namespace {

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
    return l + "x" + std::to_string(head_dim) + (causal ? "-causal" : "");
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
  const std::vector<float>& x = uniform_inputs(3 * largest, -1.0f, 1.0f);
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
  impls.push_back({"attnkern", "attnkern (fused)", [](const shape& s, const inputs& in, int) {
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
  impls.push_back({"sgemm_only", "OpenBLAS's two sgemm calls alone", [](const shape& s, const inputs& in, int threads) {
                     openblas_set_num_threads(threads);
                     unfused(s, in, false);
                   }});
#endif
  return impls;
}

void run_bench(benchmark::State& state, const implementation& impl, const shape& s, std::size_t largest, int threads) {
  const inputs in = inputs_for(s, largest);
  timed_loop(state, threads, [&] { impl.run(s, in, threads); });
  // (the pipeline's sgemm alone counts the same FLOPs, for a comparable rate)
  state.counters["flops"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * s.flops(), benchmark::Counter::kIsRate);
  const double bytes = static_cast<double>(s.batch * (2 * s.q_len + 2 * s.kv_len) * s.head_dim * sizeof(float));
  set_shape(state, static_cast<double>(s.batch), static_cast<double>(s.kv_len), static_cast<double>(s.head_dim), bytes);
  state.counters["q_len"] = static_cast<double>(s.q_len);
  state.counters["causal"] = s.causal ? 1 : 0;
}

}  // namespace

void register_sdpa(const options& opt) {
  std::vector<shape> shapes;
  const std::vector<std::size_t> batches = opt.full ? std::vector<std::size_t>{1, 16, 64} : std::vector<std::size_t>{16};
  const std::vector<std::size_t> sequences = opt.full ? std::vector<std::size_t>{64, 127, 128, 512, 1024, 4096}
                                                      : std::vector<std::size_t>{64, 127, 512, 1024};
  for (bool causal : {false, true})
    for (std::size_t b : batches)
      for (std::size_t d : {32, 64, 128})
        for (std::size_t t : sequences)
          if (opt.full || !causal || d == 64) shapes.push_back({b, t, t, d, causal});
  shapes.push_back({16, 1, 4096, 64, false});  // decoding: one query per head against a key cache
  std::size_t largest = 0;
  for (const shape& s : shapes) largest = std::max({largest, s.batch * s.q_len * s.head_dim, s.batch * s.kv_len * s.head_dim});
#if !defined(ATTNKERN_BENCH_OPENBLAS)
  benchmark::AddCustomContext("note:sdpa/openblas",
                              "OpenBLAS not found at build time (apt-get install libopenblas-dev): the unfused pipeline is skipped");
#endif
  for (const auto& impl : implementations()) {
    benchmark::AddCustomContext("name:sdpa/" + impl.id, impl.name);
    for (int t : opt.threads())
      for (const shape& s : shapes)
        benchmarks().add(bench_name("sdpa", impl.id, s.label(), t), s.flops() / (50e9 * t),
                         [&impl, s, largest, t](benchmark::State& st) { run_bench(st, impl, s, largest, t); });
  }
}

}  // namespace attnkern_bench
