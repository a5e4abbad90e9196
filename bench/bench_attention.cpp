// attention_pool and additive_attention (attnkern-bench's families of those names) over batch x
// steps x features (attn_dim = features for additive attention), beside
//   - the unfused pipeline of the library's own kernels ("unfused": dot products,
//     attnkern_tanh_f32, attnkern_softmax_f32, weighted sum; the loops parallel over the batch with
//     OpenMP), what a user would otherwise build,
//   - the scalar reference (one thread; sequences up to 4M floats),
//   - with --full, for additive attention, the standalone tanh kernel over as many elements as the
//     fused kernel evaluates tanh ("tanh": the fused kernel's tanh rate against it).
// Rates: bytes_per_second of the sequence read (pool: h; additive: keys and values), 4 bytes per
// float; tanh_per_second.
// Default: batch 32 (the notebooks') x steps {16, 60, 127, 512, 2048} x features {32, 100, 128, 512};
// --full: batch {1, 32, 256} x steps {16, 60, 127, 128, 512, 2048, 8192} x features {32, 64, 100,
// 128, 256, 512} (the sweep, and odd sizes). Shapes whose sequence exceeds 1 GiB are skipped.
#include <attnkern/attnkern.h>
#include <attnkern/reference.hpp>

#include "bench_common.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace attnkern_bench {
namespace {

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
};

// The largest sequence (floats) of the shapes registered.
std::size_t largest_sequence = 0;

// The inputs of every shape are prefixes of a few shared arrays (sized for the largest shape), so
// that the sweep does not hold one copy per shape. Values uniform in [-1, 1]; w, v scaled down.
struct inputs {
  const float *x, *y, *w, *bias;  // x: h or keys; y: values; w: w or query, w + 1024: v
  float *context, *weights, *scratch;
};
inputs inputs_for(const shape& s) {
  static std::vector<float> context, weights, scratch;
  const std::vector<float>& x = uniform_inputs(largest_sequence, -1.0f, 1.0f);
  // w (pool), query (additive: batch x attn_dim <= 2^17 floats) and v from the start, bias from 2^19
  const std::vector<float>& small = uniform_inputs(std::size_t(1) << 20, -0.1f, 0.1f);
  const std::size_t n_x = s.batch * s.steps * (s.additive ? s.attn_dim() : s.features);
  context.resize(std::max(context.size(), s.batch * s.features));
  weights.resize(std::max(weights.size(), s.batch * s.steps));
  scratch.resize(std::max(scratch.size(), s.batch * s.steps * std::max<std::size_t>(1, s.attn_dim())));
  // values after keys in the same array (it holds the largest sequence)
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
      {"attnkern", "attnkern (fused)",
       [](const shape& s, const inputs& in, int) {
         if (s.additive)
           attnkern_additive_attention_f32(in.x, in.w, in.w + 1024, in.y, nullptr, s.batch, s.steps, s.attn_dim(),
                                           s.features, in.context, in.weights);
         else
           attnkern_attention_pool_f32(in.x, in.w, in.bias, nullptr, s.batch, s.steps, s.features, in.context,
                                       in.weights);
       }},
      {"unfused", "unfused: the library's kernels and loops",
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
      {"tanh", "standalone attnkern_tanh_f32",
       [](const shape& s, const inputs& in, int) {
         attnkern_tanh_f32(in.x, in.scratch, s.batch * s.steps * s.attn_dim());
       },
       false, true},
  };
  return impls;
}

void run_bench(benchmark::State& state, const implementation& impl, const shape& s, int threads) {
  const inputs in = inputs_for(s);
  timed_loop(state, threads, [&] { impl.run(s, in, threads); });
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(s.sequence_floats() * sizeof(float)));
  state.counters["tanh_per_second"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * static_cast<double>(s.batch * s.steps * s.attn_dim()),
      benchmark::Counter::kIsRate);
  set_shape(state, static_cast<double>(s.batch), static_cast<double>(s.steps), static_cast<double>(s.features),
            static_cast<double>(s.sequence_floats() * sizeof(float)));
}

}  // namespace

void register_attention(const options& opt) {
  const std::vector<std::size_t> batches = opt.full ? std::vector<std::size_t>{1, 32, 256} : std::vector<std::size_t>{32};
  const std::vector<std::size_t> steps = opt.full ? std::vector<std::size_t>{16, 60, 127, 128, 512, 2048, 8192}
                                                  : std::vector<std::size_t>{16, 60, 127, 512, 2048};
  const std::vector<std::size_t> features = opt.full ? std::vector<std::size_t>{32, 64, 100, 128, 256, 512}
                                                     : std::vector<std::size_t>{32, 100, 128, 512};
  for (const auto& impl : implementations()) {
    if (impl.id == "tanh" && !opt.full) continue;
    const bool reference = impl.id == "reference";
    for (bool additive : {false, true}) {
      if (impl.additive_only && !additive) continue;
      const std::string kernel = additive ? "additive_attention" : "attention_pool";
      benchmark::AddCustomContext("name:" + kernel + "/" + impl.id, impl.name);
      const auto threads = reference ? std::vector<int>{1} : opt.threads();
      for (int t : threads)
        for (std::size_t b : batches)
          for (std::size_t st : steps)
            for (std::size_t f : features) {
              const shape s{additive, b, st, f};
              if (s.sequence_floats() > max_sequence_floats || (reference && s.sequence_floats() > max_reference_floats)) continue;
              largest_sequence = std::max(largest_sequence, s.sequence_floats());
              const double guess = static_cast<double>(s.sequence_floats()) * (reference ? 2e-8 : 1e-9) / t;
              benchmarks().add(bench_name(kernel, impl.id, s.label(), t), guess,
                               [&impl, s, t](benchmark::State& state) { run_bench(state, impl, s, t); });
            }
    }
  }
}

}  // namespace attnkern_bench
