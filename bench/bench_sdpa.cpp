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
// attnkern's variants through attnkern_attention, at head_dim 64 and the decoding shapes: the same
// call described (BHSD), BSHD strides, GQA with 4 and 8 query heads per K/V head, and (causal, 1024
// rows and more) a sliding window of 256 keys; at 16 x 1024 x 64 causal, each score modifier (a bias
// and a byte mask broadcast over the heads, ALiBi, a softcap of 30, sinks).
// Default: batch 16 x sequence {64, 127, 512, 1024} x head_dim {32, 64, 128}, and causal at
// head_dim 64; --full: the sweep, batch {1, 16, 64} x sequence {64, 127, 128, 512, 1024,
// 4096} x head_dim {32, 64, 128}, causal and not (the largest shapes take seconds per run). Both
// add 16 x 256 and 1 x 4096 causal at head_dim 64, and two decoding shapes: q_len 1 against 4096
// keys, batch 16 at head_dim 64 and 32 at head_dim 128.
#include <attnkern/attnkern.h>

#include "bench_common.hpp"
#include "simd/dtype.hpp"  // (kernels/)
#include "probes.hpp"

#include <cmath>
#include <algorithm>
#include <functional>
#include <limits>
#include <map>
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
  std::function<bool(const shape&)> applies = [](const shape&) { return true; };
};

// A score modifier of the described call.
enum class modifier { none, bias, mask, alibi, softcap, sinks };

// The modifiers' inputs, for up to 16 heads and 4096 x 4096 scores: a bias and a mask broadcast over
// the heads (as ggml's and most engines' are), slopes, sinks.
struct modifier_inputs {
  std::vector<float> bias, per_head;
  std::vector<unsigned char> mask;
  modifier_inputs() : bias(uniform_inputs(4096 * 4096, -1.0f, 1.0f)), per_head(64, 0.25f), mask(4096 * 4096, 1) {
    for (std::size_t i = 0; i < mask.size(); i += 7) mask[i] = 0;
  }
};
const modifier_inputs& modifier_data() {
  static const modifier_inputs m;
  return m;
}

// K and V of the inputs in a half type (f16 or bf16), made once.
const uint16_t* half_copy(const float* x, std::size_t n, int32_t type) {
  static std::map<std::pair<const float*, int32_t>, std::vector<uint16_t>> copies;
  std::vector<uint16_t>& h = copies[{x, type}];
  if (h.size() < n) {
    h.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      h[i] = type == ATTNKERN_BF16 ? attnkern::kernels::float_to_bf16_bits(x[i]) : attnkern::kernels::float_to_f16_bits(x[i]);
  }
  return h.data();
}

// The described call (attnkern_attention) at a shape: batch x heads = s.batch query heads, in BHSD
// or BSHD, with s.batch / group K/V heads, causal bottom-right, a window of `window` keys (0: none),
// a modifier, and K and V in kv_type.
void described(const shape& s, const inputs& in, bool bshd, std::size_t group, std::size_t window,
               modifier mod = modifier::none, int32_t kv_type = ATTNKERN_F32) {
  attnkern_attention_args a;
  attnkern_attention_args_init(&a);
  const std::size_t kv_heads = s.batch / group;
  a.batch = 1, a.q_heads = s.batch, a.kv_heads = kv_heads, a.q_len = s.q_len, a.kv_len = s.kv_len;
  a.head_dim = a.value_dim = s.head_dim;
  auto strides = bshd ? attnkern_strides_bshd : attnkern_strides_bhsd;
  a.q = in.q, a.q_strides = strides(s.batch, s.q_len, s.head_dim);
  a.k = in.k, a.k_strides = strides(kv_heads, s.kv_len, s.head_dim);
  a.v = in.v, a.v_strides = strides(kv_heads, s.kv_len, s.head_dim);
  a.out = in.out, a.out_strides = strides(s.batch, s.q_len, s.head_dim);
  if (kv_type != ATTNKERN_F32) {
    const std::size_t n = kv_heads * s.kv_len * s.head_dim;
    a.k = half_copy(in.k, n, kv_type), a.v = half_copy(in.v, n, kv_type), a.k_dtype = a.v_dtype = kv_type;
  }
  a.scale = scale_of(s);
  a.causal = s.causal ? 1 : 0;
  a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
  if (window) a.window = 1, a.window_left = static_cast<int64_t>(window - 1);
  const modifier_inputs& m = modifier_data();
  const attnkern_strides broadcast{0, 0, static_cast<int64_t>(s.kv_len)};  // [q_len, kv_len] for every head
  switch (mod) {
    case modifier::none: break;
    case modifier::bias: a.bias = m.bias.data(), a.bias_strides = broadcast; break;
    case modifier::mask: a.mask = m.mask.data(), a.mask_strides = broadcast; break;
    case modifier::alibi: a.alibi_slopes = m.per_head.data(); break;
    case modifier::softcap: a.softcap = 30.0f; break;
    case modifier::sinks: a.sinks = m.per_head.data(); break;
  }
  attnkern_attention(&a);
}

const std::vector<implementation>& implementations() {
  static std::vector<implementation> impls;
  if (!impls.empty()) return impls;
  impls.push_back({"attnkern", "attnkern (fused)", [](const shape& s, const inputs& in, int) {
                     attnkern_sdpa_f32(in.q, in.k, in.v, nullptr, s.batch, s.q_len, s.kv_len, s.head_dim, s.head_dim,
                                       scale_of(s), s.causal ? 1 : 0, in.out);
                   }});
  // attnkern's own variants, beside the contiguous call at the same shapes (head_dim 64, and the
  // decoding shapes): the same rows, other layouts, fewer K/V heads, a sliding window.
  // (the decoding sweep over kv_len, 32 x 1 x {512 .. 8192} x 128, is for the f32 and f16 calls and
  // the read probes only; the other variants decode at 1024 and 4096 keys)
  auto sweep_only = [](const shape& s) { return s.q_len == 1 && s.kv_len != 1024 && s.kv_len != 4096; };
  auto at_64 = [sweep_only](const shape& s) { return (s.head_dim == 64 || s.q_len == 1) && !sweep_only(s); };
  impls.push_back({"attnkern_bhsd", "attnkern_attention, BHSD (the same call, described)",
                   [](const shape& s, const inputs& in, int) { described(s, in, false, 1, 0); }, at_64});
  impls.push_back({"attnkern_bshd", "attnkern_attention, BSHD strides",
                   [](const shape& s, const inputs& in, int) { described(s, in, true, 1, 0); }, at_64});
  impls.push_back({"attnkern_gqa4", "attnkern_attention, GQA: 4 query heads per K/V head",
                   [](const shape& s, const inputs& in, int) { described(s, in, false, 4, 0); },
                   [at_64](const shape& s) { return at_64(s) && s.batch % 4 == 0; }});
  impls.push_back({"attnkern_gqa8", "attnkern_attention, GQA: 8 query heads per K/V head",
                   [](const shape& s, const inputs& in, int) { described(s, in, false, 8, 0); },
                   [at_64](const shape& s) { return at_64(s) && s.batch % 8 == 0; }});
  for (const auto& [id, type] : {std::pair<const char*, int32_t>{"f16", ATTNKERN_F16}, {"bf16", ATTNKERN_BF16}}) {
    const bool f16 = type == ATTNKERN_F16;
    impls.push_back({std::string("attnkern_") + id, std::string("attnkern_attention, K and V in ") + id,
                     [type = type](const shape& s, const inputs& in, int) { described(s, in, false, 1, 0, modifier::none, type); },
                     [f16, sweep_only](const shape& s) {
                       return (s.q_len == 1 && (f16 || !sweep_only(s))) ||
                              (s.causal && s.head_dim == 64 && s.q_len == 1024 && s.batch == 16);
                     }});
    impls.push_back({std::string("attnkern_gqa4_") + id, std::string("attnkern_attention, GQA 4, K and V in ") + id,
                     [type = type](const shape& s, const inputs& in, int) { described(s, in, false, 4, 0, modifier::none, type); },
                     [sweep_only](const shape& s) { return s.q_len == 1 && s.batch % 4 == 0 && !sweep_only(s); }});
  }
  // the read-bandwidth probe over the bytes of K and V, in f32 and in f16, at the decoding shapes
  for (const auto& [id, bytes] : {std::pair<const char*, std::size_t>{"read_kv_f32", 4}, {"read_kv_f16", 2}})
    impls.push_back({id, std::string("the read probe over K and V's bytes, ") + (bytes == 4 ? "f32" : "f16"),
                     [bytes = bytes](const shape& s, const inputs& in, int threads) {
                       const std::size_t n = s.batch * s.kv_len * s.head_dim * bytes / 4;
                       benchmark::DoNotOptimize(probe_read(in.k, n, threads) + probe_read(in.v, n, threads));
                     },
                     [](const shape& s) { return s.q_len == 1; }});
  impls.push_back({"attnkern_window256", "attnkern_attention, causal with a sliding window of 256 keys",
                   [](const shape& s, const inputs& in, int) { described(s, in, false, 1, 256); },
                   [](const shape& s) { return s.causal && s.head_dim == 64 && s.q_len >= 1024; }});
  // each score modifier on the causal prefill at head_dim 64 (16 heads, 1024 rows)
  auto prefill = [](const shape& s) { return s.causal && s.head_dim == 64 && s.q_len == 1024 && s.batch == 16; };
  const std::pair<const char*, modifier> modifiers[] = {{"bias", modifier::bias},
                                                        {"mask", modifier::mask},
                                                        {"alibi", modifier::alibi},
                                                        {"softcap", modifier::softcap},
                                                        {"sinks", modifier::sinks}};
  for (const auto& [id, mod] : modifiers)
    impls.push_back({std::string("attnkern_") + id, std::string("attnkern_attention, causal with ") + id,
                     [mod = mod](const shape& s, const inputs& in, int) { described(s, in, false, 1, 0, mod); }, prefill});
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
  shapes.push_back({16, 256, 256, 64, true});    // a square problem of the window's size (below)
  shapes.push_back({1, 4096, 4096, 64, true});   // a long causal prefill: attnkern_window256's
  shapes.push_back({16, 1, 4096, 64, false});    // decoding: one query per head against a key cache
  shapes.push_back({32, 1, 4096, 128, false});   // decoding, 32 heads (the GQA variants: 8 and 4 K/V heads)
  for (std::size_t kv : {512, 1024, 2048, 8192})  // decoding, shorter and longer caches (the report's decode panel)
    shapes.push_back({32, 1, kv, 128, false});
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
        if (impl.applies(s))
        benchmarks().add(bench_name("sdpa", impl.id, s.label(), t), s.flops() / (50e9 * t),
                         [&impl, s, largest, t](benchmark::State& st) { run_bench(st, impl, s, largest, t); });
  }
}

}  // namespace attnkern_bench
