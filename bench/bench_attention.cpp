// attnkern-bench-attention: the fused attention kernels (attention_pool, additive_attention) over
// batch x steps x features (attn_dim = features for additive attention), on one thread and on all
// threads, beside
//   - a streaming-read probe over the same bytes (the sequence: h, or keys and values),
//   - the unfused pipeline of the library's own kernels (dot products, attnkern_tanh_f32,
//     attnkern_softmax_f32, weighted sum; the loops parallel over the batch with OpenMP),
//   - the scalar reference (one thread; inputs up to 4M floats),
//   - for additive attention, the standalone tanh kernel over as many elements as the fused kernel
//     evaluates tanh (the fused kernel's tanh throughput against it).
// Rates: GB/s of the sequence read (pool: h; additive: keys and values), 4 bytes per float.
//
// Default: batch {1, 32, 256} x steps {60, 2048} x features {32, 128, 512}; --full: the issue's
// whole sweep, batch {1, 32, 256} x steps {16, 60, 128, 512, 2048, 8192} x features {32, 64, 128,
// 256, 512}. Shapes whose sequence exceeds 1 GiB are skipped (said so). Google Benchmark's flags work
// too (--benchmark_filter=..., --benchmark_out=FILE.json, ...).
#include <attnkern/attnkern.h>
#include <attnkern/reference.hpp>

#include "bench_common.hpp"
#include "probes.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using attnkern_bench::collecting_reporter;

constexpr std::size_t max_sequence_floats = (std::size_t(1) << 30) / sizeof(float);
constexpr std::size_t max_reference_floats = std::size_t(4) << 20;

struct shape {
  bool additive;
  std::size_t batch, steps, features;  // attn_dim = features for additive attention
  std::size_t attn_dim() const { return additive ? features : 0; }
  std::size_t sequence_floats() const { return batch * steps * (features + attn_dim()); }
  std::string label() const {
    return std::to_string(batch) + "x" + std::to_string(steps) + "x" + std::to_string(features);
  }
  std::string kernel() const { return additive ? "additive_attention" : "attention_pool"; }
};

// The inputs of every shape are prefixes of a few shared arrays (sized for the largest shape), so
// that the sweep does not hold one copy per shape. Values uniform in [-1, 1]; w, v scaled down.
struct inputs {
  const float *x, *y, *w, *bias;  // x: h or keys; y: values; w: w or query, w + 1024: v
  float *context, *weights, *scratch;
};
inputs inputs_for(const shape& s) {
  static std::vector<float> context, weights, scratch;
  const std::vector<float>& x = attnkern_bench::uniform_inputs(max_sequence_floats, -1.0f, 1.0f);
  // w (pool), query (additive: batch x attn_dim <= 2^17 floats) and v from the start, bias from 2^19
  const std::vector<float>& small = attnkern_bench::uniform_inputs(std::size_t(1) << 20, -0.1f, 0.1f);
  const std::size_t n_x = s.batch * s.steps * (s.additive ? s.attn_dim() : s.features);
  context.resize(std::max(context.size(), s.batch * s.features));
  weights.resize(std::max(weights.size(), s.batch * s.steps));
  scratch.resize(std::max(scratch.size(), s.batch * s.steps * std::max<std::size_t>(1, s.attn_dim())));
  // values after keys in the same array (it holds 1 GiB: every shape's sequence fits)
  return inputs{x.data(), x.data() + n_x, small.data(), small.data() + (std::size_t(1) << 19), context.data(), weights.data(),
                scratch.data()};
}

void for_each_item(std::size_t batch, int threads, const std::function<void(std::size_t)>& f) {
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
  for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(batch); ++b) f(static_cast<std::size_t>(b));
}

// context[b, :] = sum_t weights[b, t] x[b, t, :]
void weighted_sum(const float* alpha, const float* x, std::size_t batch, std::size_t steps, std::size_t features,
                  float* context, int threads) {
  for_each_item(batch, threads, [&](std::size_t b) {
    float* c = context + b * features;
    std::fill(c, c + features, 0.0f);
    for (std::size_t t = 0; t < steps; ++t) {
      const float a = alpha[b * steps + t];
      const float* row = x + (b * steps + t) * features;
      for (std::size_t f = 0; f < features; ++f) c[f] += a * row[f];
    }
  });
}

// The unfused pipelines, from the library's kernels and plain loops.
void unfused_pool(const shape& s, const inputs& in, int threads) {
  float* scores = in.weights;
  for_each_item(s.batch, threads, [&](std::size_t b) {
    for (std::size_t t = 0; t < s.steps; ++t) {
      const float* row = in.x + (b * s.steps + t) * s.features;
      float dot = in.bias[t];
      for (std::size_t f = 0; f < s.features; ++f) dot += row[f] * in.w[f];
      scores[b * s.steps + t] = dot;
    }
  });
  attnkern_tanh_f32(scores, scores, s.batch * s.steps);
  attnkern_softmax_f32(scores, scores, s.batch, s.steps);
  weighted_sum(scores, in.x, s.batch, s.steps, s.features, in.context, threads);
}

void unfused_additive(const shape& s, const inputs& in, int threads) {
  const std::size_t a = s.attn_dim();
  const float* query = in.w;  // (any a floats)
  for_each_item(s.batch, threads, [&](std::size_t b) {
    for (std::size_t i = 0; i < s.steps * a; ++i) in.scratch[b * s.steps * a + i] = in.x[b * s.steps * a + i] + query[i % a];
  });
  attnkern_tanh_f32(in.scratch, in.scratch, s.batch * s.steps * a);
  const float* v = in.w + 1024;
  for_each_item(s.batch, threads, [&](std::size_t b) {
    for (std::size_t t = 0; t < s.steps; ++t) {
      float dot = 0;
      for (std::size_t i = 0; i < a; ++i) dot += in.scratch[(b * s.steps + t) * a + i] * v[i];
      in.weights[b * s.steps + t] = dot;
    }
  });
  attnkern_softmax_f32(in.weights, in.weights, s.batch, s.steps);
  weighted_sum(in.weights, in.y, s.batch, s.steps, s.features, in.context, threads);
}

struct implementation {
  std::string id, name;
  std::function<void(const shape&, const inputs&, int threads)> run;
  bool single_threaded = false;
  bool additive_only = false;
};

const std::vector<implementation>& implementations() {
  static const std::vector<implementation> impls{
      {"attnkern", "attnkern",
       [](const shape& s, const inputs& in, int) {
         if (s.additive)
           attnkern_additive_attention_f32(in.x, in.w, in.w + 1024, in.y, nullptr, s.batch, s.steps, s.attn_dim(),
                                           s.features, in.context, in.weights);
         else
           attnkern_attention_pool_f32(in.x, in.w, in.bias, nullptr, s.batch, s.steps, s.features, in.context,
                                       in.weights);
       }},
      {"probe_read", "read probe",
       [](const shape& s, const inputs& in, int threads) {
         benchmark::DoNotOptimize(attnkern_bench::probe_read(in.x, s.sequence_floats(), threads));
       }},
      {"unfused", "unfused",
       [](const shape& s, const inputs& in, int threads) {
         s.additive ? unfused_additive(s, in, threads) : unfused_pool(s, in, threads);
       }},
      {"reference", "scalar reference",
       [](const shape& s, const inputs& in, int) {
         if (s.additive)
           attnkern::reference::additive_attention(in.x, in.w, in.w + 1024, in.y, nullptr, s.batch, s.steps,
                                                   s.attn_dim(), s.features, in.context, in.weights);
         else
           attnkern::reference::attention_pool(in.x, in.w, in.bias, nullptr, s.batch, s.steps, s.features,
                                               in.context, in.weights);
       },
       true},
      {"tanh", "standalone tanh",
       [](const shape& s, const inputs& in, int) {
         attnkern_tanh_f32(in.x, in.scratch, s.batch * s.steps * s.attn_dim());
       },
       false, true},
  };
  return impls;
}

std::string bench_name(const std::string& id, const shape& s, int threads) {
  return s.kernel() + "/" + id + "/" + s.label() + "/threads:" + std::to_string(threads);
}

void run_bench(benchmark::State& state, const implementation& impl, const shape& s, int threads) {
  const inputs in = inputs_for(s);
  attnkern_bench::timed_loop(state, threads, [&] { impl.run(s, in, threads); });
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.sequence_floats() * sizeof(float)));
  state.counters["tanh_per_second"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(s.batch * s.steps * s.attn_dim()),
      benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  const bool full = attnkern_bench::initialize_with_full(argc, argv);

  const std::vector<std::size_t> batches{1, 32, 256};
  const std::vector<std::size_t> steps = full ? std::vector<std::size_t>{16, 60, 128, 512, 2048, 8192}
                                              : std::vector<std::size_t>{60, 2048};
  const std::vector<std::size_t> features = full ? std::vector<std::size_t>{32, 64, 128, 256, 512}
                                                 : std::vector<std::size_t>{32, 128, 512};
  std::vector<shape> shapes, skipped;
  for (bool additive : {false, true})
    for (std::size_t b : batches)
      for (std::size_t t : steps)
        for (std::size_t f : features) {
          const shape s{additive, b, t, f};
          (s.sequence_floats() <= max_sequence_floats ? shapes : skipped).push_back(s);
        }

  const auto threads = attnkern_bench::thread_counts();
  for (int t : threads)
    for (const auto& impl : implementations())
      for (const shape& s : shapes) {
        if ((impl.single_threaded && t > 1) || (impl.additive_only && !s.additive)) continue;
        if (impl.id == "reference" && s.sequence_floats() > max_reference_floats) continue;
        benchmark::RegisterBenchmark(bench_name(impl.id, s, t).c_str(),
                                     [&impl, s, t](benchmark::State& st) { run_bench(st, impl, s, t); })
            ->UseRealTime();
      }
  std::printf("attnkern %s, fused attention; ISA: %s; threads: 1 and %d; %s sweep\n", attnkern_version(), attnkern_isa(),
              attnkern_bench::max_threads(), full ? "full" : "default (--full for the whole)");
  for (const shape& s : skipped)
    std::printf("note: %s %s skipped: its sequence is over 1 GiB\n", s.kernel().c_str(), s.label().c_str());
  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  auto median = [&](const std::string& id, const shape& s, int t, const char* counter) {
    return reporter.median(bench_name(id, s, t), counter);
  };
  using attnkern_bench::cell;
  using attnkern_bench::time_cell;
  for (bool additive : {false, true}) {
    for (int t : threads) {
      std::printf("\n%s, %d thread%s: medians over the repetitions; GB/s of the sequence read (%s)\n\n",
                  additive ? "additive_attention (attn_dim = features)" : "attention_pool", t, t == 1 ? "" : "s",
                  additive ? "keys and values" : "h");
      std::printf("| batch x steps x features | attnkern | GB/s | read probe GB/s | of probe | unfused | fused speed-up | scalar reference (1 thread) | speed-up |%s\n",
                  additive ? " fused tanh Gelem/s | standalone tanh Gelem/s | fused / standalone |" : "");
      std::printf("|---|---|---|---|---|---|---|---|---|%s\n", additive ? "---|---|---|" : "");
      for (const shape& s : shapes) {
        if (s.additive != additive) continue;
        const double ns = median("attnkern", s, t, "real_time_ns"), gbs = median("attnkern", s, t, "bytes_per_second") / 1e9;
        const double probe = median("probe_read", s, t, "bytes_per_second") / 1e9;
        const double unfused = median("unfused", s, t, "real_time_ns"), reference = median("reference", s, 1, "real_time_ns");
        std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", s.label().c_str(), time_cell(ns).c_str(),
                    cell(gbs, "%.2f").c_str(), cell(probe, "%.2f").c_str(),
                    cell(ns > 0 && probe > 0 ? 100 * gbs / probe : -1, "%.0f%%").c_str(), time_cell(unfused).c_str(),
                    cell(ns > 0 && unfused > 0 ? unfused / ns : -1, "%.1fx").c_str(), time_cell(reference).c_str(),
                    cell(ns > 0 && reference > 0 ? reference / ns : -1, "%.0fx").c_str());
        if (additive) {
          const double fused = median("attnkern", s, t, "tanh_per_second") / 1e9;
          const double alone = median("tanh", s, t, "tanh_per_second") / 1e9;
          std::printf(" %s | %s | %s |", cell(fused, "%.2f").c_str(), cell(alone, "%.2f").c_str(),
                      cell(fused > 0 && alone > 0 ? 100 * fused / alone : -1, "%.0f%%").c_str());
        }
        std::printf("\n");
      }
    }
  }
  benchmark::Shutdown();
  return 0;
}
