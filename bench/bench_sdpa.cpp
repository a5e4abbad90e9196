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
// keys, batch 16 at head_dim 64 and 32 at head_dim 128; 32 x 1 x {512 .. 8192} x 128 decoding;
// 8 speculative rows (32 x 8 x 4096 x 128) and a 512-row prefill chunk after 4096 keys (16 x 64),
// each contiguous and over the paged cache (attnkern_paged_*: blocks of 64 positions handed out in a
// shuffled order); and the paged cache's mixed batch (16 sequences of 100 to 8000 keys, one decode
// row each, GQA 32/8) beside read_kv_paged, the read probe over its blocks.
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
  // A mixed batch over the paged cache (attnkern_paged_* and its probe only): `seqs` sequences of
  // mixed_lengths(seqs, kv_len) keys, one decode row each, batch query heads over batch / 4 K/V heads.
  std::size_t seqs = 0;
  double flops() const {
    const double all = 4.0 * static_cast<double>(batch * q_len) * static_cast<double>(kv_len) * static_cast<double>(head_dim);
    if (causal && q_len != kv_len) {  // bottom-right: row i sees kv_len - q_len + i + 1 keys
      const double q = static_cast<double>(q_len), seen = q * static_cast<double>(kv_len - q_len) + q * (q + 1) / 2;
      return 4.0 * static_cast<double>(batch) * seen * static_cast<double>(head_dim);
    }
    return causal ? all / 2 : all;
  }
  std::string label() const {
    if (seqs) return "mixed" + std::to_string(seqs) + "x1x100-" + std::to_string(kv_len) + "x" + std::to_string(head_dim) + "-gqa4";
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
  bool mixed = false;  // runs the mixed-batch shapes (seqs > 0), and only those
};

// The key counts of a mixed batch of n sequences, from 100 to `longest`, evenly spread.
std::vector<int32_t> mixed_lengths(std::size_t n, std::size_t longest) {
  std::vector<int32_t> l(n);
  for (std::size_t i = 0; i < n; ++i)
    l[i] = static_cast<int32_t>(100 + (longest - 100) * i / (n > 1 ? n - 1 : 1));
  return l;
}

// A paged cache (attnkern_kv_cache, blocks of 64 positions, handed out in a shuffled order as an
// engine's free list would after a while) holding the keys and values of a shape: one sequence of
// kv_len keys for s.batch heads (decode, speculative rows, a prefill chunk), or the mixed batch's
// sequences over s.batch / 4 heads (values taken from the inputs, cyclically). Made once per shape
// and type, and kept.
struct paged_world {
  std::size_t kv_heads = 0, table_stride = 0;
  std::vector<int32_t> tables, kv_lens, cu_q;
  std::vector<char> k_pool, v_pool;
  attnkern_kv_cache cache;
};
const paged_world& paged_for(const shape& s, const inputs& in, int32_t type) {
  static std::map<std::pair<std::string, int32_t>, paged_world> worlds;
  paged_world& w = worlds[{s.label(), type}];
  if (w.kv_heads) return w;
  constexpr std::size_t bt = 64;
  w.kv_heads = s.seqs ? s.batch / 4 : s.batch;
  w.kv_lens = s.seqs ? mixed_lengths(s.seqs, s.kv_len) : std::vector<int32_t>{static_cast<int32_t>(s.kv_len)};
  const std::size_t n = w.kv_lens.size(), d = s.head_dim;
  w.cu_q.assign(1, 0);
  for (std::size_t i = 0; i < n; ++i) w.cu_q.push_back(w.cu_q.back() + static_cast<int32_t>(s.seqs ? 1 : s.q_len));
  std::size_t blocks = 0;
  for (int32_t len : w.kv_lens) {
    w.table_stride = std::max(w.table_stride, (static_cast<std::size_t>(len) + bt - 1) / bt);
    blocks += (static_cast<std::size_t>(len) + bt - 1) / bt;
  }
  std::vector<int32_t> order(blocks);
  for (std::size_t i = 0; i < blocks; ++i) order[i] = static_cast<int32_t>(i);
  std::uint32_t state = 12345;  // (a fixed shuffle: the same placement in every run)
  for (std::size_t i = blocks; i > 1; --i) {
    state = state * 1664525u + 1013904223u;
    std::swap(order[i - 1], order[state % i]);
  }
  const std::size_t block_bytes = attnkern_kv_block_bytes(type, w.kv_heads, bt, d);
  w.k_pool.assign(blocks * block_bytes, 0);
  w.v_pool.assign(blocks * block_bytes, 0);
  attnkern_kv_cache_init(&w.cache);
  w.cache.num_blocks = blocks, w.cache.block_tokens = bt, w.cache.kv_heads = w.kv_heads;
  w.cache.head_dim = w.cache.value_dim = d, w.cache.k_dtype = w.cache.v_dtype = type;
  w.cache.k_blocks = w.k_pool.data(), w.cache.v_blocks = w.v_pool.data();
  w.tables.assign(n * w.table_stride, 0);
  std::size_t next = 0;
  for (std::size_t q = 0; q < n; ++q) {
    const std::size_t len = static_cast<std::size_t>(w.kv_lens[q]);
    std::vector<int64_t> slots(len);
    for (std::size_t p = 0; p < len; ++p) {
      if (p % bt == 0) w.tables[q * w.table_stride + p / bt] = order[next++];
      slots[p] = static_cast<int64_t>(w.tables[q * w.table_stride + p / bt]) * static_cast<int64_t>(bt) + static_cast<int64_t>(p % bt);
    }
    // token p of head g: the inputs' BHSD element (g, p) of a sequence of kv_len keys (the mixed
    // batch's sequences: the first `len` keys of it)
    attnkern_kv_append_args a{};
    a.struct_size = sizeof a;
    a.cache = &w.cache, a.tokens = len, a.slots = slots.data();
    a.k = in.k, a.v = in.v, a.k_dtype = a.v_dtype = ATTNKERN_F32;
    a.k_token_stride = a.v_token_stride = static_cast<int64_t>(d);
    a.k_head_stride = a.v_head_stride = static_cast<int64_t>(s.kv_len * d);
    attnkern_kv_append(&a);
  }
  return w;
}

// attnkern_paged_attention over the shape's paged cache: s.batch query heads (s.q_len rows of the one
// sequence, causal, or the mixed batch's decode rows).
void paged(const shape& s, const inputs& in, int32_t type) {
  const paged_world& w = paged_for(s, in, type);
  attnkern_paged_attention_args a;
  attnkern_paged_attention_args_init(&a);
  a.cache = &w.cache, a.num_seqs = w.kv_lens.size(), a.q_heads = s.batch;
  a.cu_q = w.cu_q.data(), a.kv_lens = w.kv_lens.data(), a.block_tables = w.tables.data(), a.block_table_stride = w.table_stride;
  a.q = in.q, a.q_row_stride = static_cast<int64_t>(s.batch * s.head_dim), a.q_head_stride = static_cast<int64_t>(s.head_dim);
  a.out = in.out, a.out_row_stride = a.q_row_stride, a.out_head_stride = a.q_head_stride;
  a.scale = scale_of(s);
  a.causal = 1;
  attnkern_paged_attention(&a);
}

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
                              (s.causal && s.head_dim == 64 && s.q_len == 1024 && s.batch == 16) ||
                              (s.q_len == 8 && s.kv_len == 4096) || (s.q_len == 512 && s.kv_len == 4608);
                     }});
    impls.push_back({std::string("attnkern_gqa4_") + id, std::string("attnkern_attention, GQA 4, K and V in ") + id,
                     [type = type](const shape& s, const inputs& in, int) { described(s, in, false, 4, 0, modifier::none, type); },
                     [sweep_only](const shape& s) { return s.q_len == 1 && s.batch % 4 == 0 && !sweep_only(s); }});
  }
  // the paged cache (attnkern_paged_attention, blocks of 64 positions in shuffled order): decoding at
  // 32 x 1 x {1024, 4096, 8192} x 128, 8 speculative rows at 4096 keys, a 512-row prefill chunk
  // against 4096 cached keys; and the mixed batch (f16)
  auto paged_shape = [](const shape& s) {
    return (s.batch == 32 && s.head_dim == 128 && ((s.q_len == 1 && (s.kv_len == 1024 || s.kv_len == 4096 || s.kv_len == 8192)) ||
                                                   (s.q_len == 8 && s.kv_len == 4096))) ||
           (s.q_len == 512 && s.kv_len == 4608);
  };
  for (const auto& [id, type] : {std::pair<const char*, int32_t>{"f16", ATTNKERN_F16}, {"bf16", ATTNKERN_BF16}})
    impls.push_back({std::string("attnkern_paged_") + id, std::string("attnkern_paged_attention, a paged ") + id + " cache",
                     [type = type](const shape& s, const inputs& in, int) { paged(s, in, type); }, paged_shape});
  {
    implementation mixed{"attnkern_paged_mixed", "attnkern_paged_attention, a mixed batch of decode rows, f16 cache",
                         [](const shape& s, const inputs& in, int) { paged(s, in, ATTNKERN_F16); }};
    mixed.mixed = true;
    impls.push_back(mixed);
    implementation probe{"read_kv_paged", "the read probe over the mixed batch's K and V blocks (f16)",
                         [](const shape& s, const inputs& in, int threads) {
                           const paged_world& w = paged_for(s, in, ATTNKERN_F16);
                           benchmark::DoNotOptimize(probe_read(reinterpret_cast<const float*>(w.k_pool.data()), w.k_pool.size() / 4, threads) +
                                                    probe_read(reinterpret_cast<const float*>(w.v_pool.data()), w.v_pool.size() / 4, threads));
                         }};
    probe.mixed = true;
    impls.push_back(probe);
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
  shapes.push_back({32, 8, 4096, 128, true});    // speculative decoding: 8 rows (paged and f16 only)
  shapes.push_back({16, 512, 4608, 64, true});   // a prefill chunk of 512 rows after 4096 cached keys
  shape mixed{32, 1, 8000, 128, true};           // the paged cache's mixed batch: 16 sequences, 100 .. 8000 keys
  mixed.seqs = 16;
  shapes.push_back(mixed);
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
        if ((s.seqs != 0) == impl.mixed && impl.applies(s))
        benchmarks().add(bench_name("sdpa", impl.id, s.label(), t), s.flops() / (50e9 * t),
                         [&impl, s, largest, t](benchmark::State& st) { run_bench(st, impl, s, largest, t); });
  }
}

}  // namespace attnkern_bench
