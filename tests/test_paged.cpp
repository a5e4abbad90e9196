// The paged K/V cache (attnkern_kv_append, attnkern_paged_attention), on every ISA path:
//  - append: rows from f32, f16 or bf16 sources with any strides land in their slots, converted to
//    the cache's type (rounded to nearest even), negative slots skipped, nothing else written;
//  - bits: every row of a mixed batch (sequences of 0 to 1100 keys with 0 to 33 query rows, GQA,
//    every modifier, f32/f16/bf16 caches, blocks of 64 to 192 positions placed at random, shared
//    prefix blocks) equals attnkern_attention's row over a contiguous float32 copy of the widened
//    keys and values, bit for bit, out and lse; on 1 and 2 threads; a prefill cut into chunks equals
//    the prefill in one call; the float64 reference within sdpa_max_error;
//  - guard pages after every block, and on the blocks no table names: never touched;
//  - bad input (a block index out of range, a table shorter than the keys, a slot written twice or
//    past the cache, a block size that is not a multiple of 64, decreasing cu_q): its status, and
//    nothing written.
#include <attnkern/attnkern.h>
#include <attnkern/bounds.hpp>

#include "support.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

using namespace attnkern_test;

namespace {

std::size_t type_size(int32_t t) { return t == ATTNKERN_F32 ? 4 : 2; }

// A pool of blocks: packed in a vector, or each block against a PROT_NONE page (guarded), with the
// blocks no sequence uses made PROT_NONE whole.
class pool {
 public:
  pool(std::size_t blocks, std::size_t block_bytes, bool guarded) : blocks_(blocks), bytes_(block_bytes), guarded_(guarded) {
    if (!guarded) {
      plain_.assign(blocks * block_bytes + 1, 0);
      base_ = plain_.data();
      stride_ = block_bytes;
      return;
    }
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t rounded = (block_bytes + page_ - 1) / page_ * page_;
    stride_ = rounded + page_;
    map_bytes_ = blocks * stride_ + page_;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    map_ = static_cast<char*>(m);
    base_ = map_ + (rounded - block_bytes);  // each block ends where its guard page begins
    for (std::size_t b = 0; b < blocks; ++b) REQUIRE(mprotect(map_ + b * stride_ + rounded, page_, PROT_NONE) == 0);
  }
  ~pool() {
    if (map_) munmap(map_, map_bytes_);
  }
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  char* data() { return base_; }
  std::size_t stride() const { return stride_; }  // k_block_bytes / v_block_bytes
  // Makes block b inaccessible (guarded pools only).
  void forbid(std::size_t b) {
    if (guarded_) REQUIRE(mprotect(map_ + b * stride_, stride_ - page_, PROT_NONE) == 0);
  }
  std::vector<unsigned char> snapshot() const {
    std::vector<unsigned char> s;
    for (std::size_t b = 0; b < blocks_; ++b) s.insert(s.end(), base_ + b * stride_, base_ + b * stride_ + bytes_);
    return s;
  }

 private:
  std::size_t blocks_, bytes_;
  bool guarded_;
  std::vector<char> plain_;
  char* map_ = nullptr;
  char* base_ = nullptr;
  std::size_t map_bytes_ = 0, page_ = 0, stride_ = 0;
};

// A mixed batch over a paged cache, and what the test needs to rebuild each sequence contiguously.
struct batch_case {
  std::size_t kv_heads = 1, group = 1, d = 64, dv = 64, bt = 64;
  int32_t k_type = ATTNKERN_F32, v_type = ATTNKERN_F32, q_type = ATTNKERN_F32, bias_type = ATTNKERN_F32;
  std::vector<int32_t> kv_lens, cu_q;
  bool causal = true, window = false, guarded = false;
  int64_t left = 0, right = 0;
  float softcap = 0;
  bool alibi = false, sinks = false, bias = false, mask = false;
  uint32_t seed = 1, placement = 0;  // the values' seed; the blocks' shuffle (0: the seed's)

  std::size_t q_heads() const { return kv_heads * group; }
  std::size_t seqs() const { return kv_lens.size(); }
  std::string describe() const {
    std::ostringstream o;
    const char* names[] = {"f32", "f16", "bf16"};
    o << "seed " << seed << " heads " << q_heads() << "/" << kv_heads << " d " << d << "/" << dv << " block_tokens " << bt
      << " k " << names[k_type] << " v " << names[v_type] << " q " << names[q_type] << " seqs (rows, keys):";
    for (std::size_t s = 0; s < seqs(); ++s) o << " (" << cu_q[s + 1] - cu_q[s] << ", " << kv_lens[s] << ")";
    if (causal) o << " causal";
    if (window) o << " window " << left << "/" << right;
    if (softcap > 0) o << " softcap";
    if (alibi) o << " ALiBi";
    if (sinks) o << " sinks";
    if (bias) o << " bias " << names[bias_type];
    if (mask) o << " mask";
    return o.str();
  }
};

// A cache filled through attnkern_kv_append, and the batch's inputs.
struct built {
  attnkern_kv_cache cache;
  std::unique_ptr<pool> k, v;
  std::vector<int32_t> tables;
  std::size_t table_stride = 0, num_blocks = 0;
  std::vector<float> q;  // [rows, q_heads, d] (as floats; q_half holds them in q_type)
  std::vector<uint16_t> q_half;
  std::vector<float> bias;  // [rows, q_heads, max_keys]
  std::vector<uint16_t> bias_half;
  std::vector<unsigned char> mask;
  std::vector<float> slopes, sinks;
  std::size_t max_keys = 0;
};

void build(const batch_case& c, built& x) {
  std::mt19937 rng(c.seed), shuffle(c.placement ? c.placement : c.seed);
  const std::size_t S = c.seqs();
  x.table_stride = 1;
  std::size_t needed = 0;
  for (int32_t len : c.kv_lens) {
    const std::size_t blocks = (static_cast<std::size_t>(len) + c.bt - 1) / c.bt;
    x.table_stride = std::max(x.table_stride, blocks + 1);
    needed += blocks;
    x.max_keys = std::max(x.max_keys, static_cast<std::size_t>(len));
  }
  x.num_blocks = needed + 3;  // some blocks no table names
  std::vector<int32_t> order(x.num_blocks);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), shuffle);
  x.tables.assign(S * x.table_stride, -1);
  std::size_t next = 0;
  std::vector<bool> used(x.num_blocks, false);
  for (std::size_t s = 0; s < S; ++s)
    for (std::size_t i = 0; i < (static_cast<std::size_t>(c.kv_lens[s]) + c.bt - 1) / c.bt; ++i) {
      x.tables[s * x.table_stride + i] = order[next++];
      used[static_cast<std::size_t>(x.tables[s * x.table_stride + i])] = true;
    }
  const std::size_t kb = attnkern_kv_block_bytes(c.k_type, c.kv_heads, c.bt, c.d);
  const std::size_t vb = attnkern_kv_block_bytes(c.v_type, c.kv_heads, c.bt, c.dv);
  x.k = std::make_unique<pool>(x.num_blocks, kb, c.guarded);
  x.v = std::make_unique<pool>(x.num_blocks, vb, c.guarded);
  attnkern_kv_cache_init(&x.cache);
  x.cache.num_blocks = x.num_blocks;
  x.cache.block_tokens = c.bt;
  x.cache.kv_heads = c.kv_heads;
  x.cache.head_dim = c.d;
  x.cache.value_dim = c.dv;
  x.cache.k_dtype = c.k_type;
  x.cache.v_dtype = c.v_type;
  x.cache.k_blocks = x.k->data();
  x.cache.k_block_bytes = x.k->stride();
  x.cache.v_blocks = x.v->data();
  x.cache.v_block_bytes = x.v->stride();
  // each sequence's keys appended in a few calls, from float32 [tokens, heads, dim] rows
  for (std::size_t s = 0; s < S; ++s) {
    std::size_t done = 0;
    const std::size_t len = static_cast<std::size_t>(c.kv_lens[s]);
    while (done < len) {
      const std::size_t n = std::min<std::size_t>(len - done, 1 + rng() % 300);
      const std::vector<float> k = uniform(n * c.kv_heads * c.d, -1, 1, c.seed * 7919 + static_cast<uint32_t>(s * 131 + done));
      const std::vector<float> v = uniform(n * c.kv_heads * c.dv, -1, 1, c.seed * 104729 + static_cast<uint32_t>(s * 131 + done));
      std::vector<int64_t> slots(n);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t p = done + i;
        slots[i] = static_cast<int64_t>(x.tables[s * x.table_stride + p / c.bt]) * static_cast<int64_t>(c.bt) +
                   static_cast<int64_t>(p % c.bt);
      }
      attnkern_kv_append_args a{};
      a.struct_size = sizeof a;
      a.cache = &x.cache;
      a.tokens = n;
      a.slots = slots.data();
      a.k = k.data();
      a.k_dtype = ATTNKERN_F32;
      a.k_token_stride = static_cast<int64_t>(c.kv_heads * c.d);
      a.k_head_stride = static_cast<int64_t>(c.d);
      a.v = v.data();
      a.v_dtype = ATTNKERN_F32;
      a.v_token_stride = static_cast<int64_t>(c.kv_heads * c.dv);
      a.v_head_stride = static_cast<int64_t>(c.dv);
      REQUIRE(attnkern_kv_append(&a) == ATTNKERN_OK);
      done += n;
    }
  }
  for (std::size_t b = 0; b < x.num_blocks; ++b)
    if (!used[b]) {
      x.k->forbid(b);
      x.v->forbid(b);
    }
  const std::size_t rows = static_cast<std::size_t>(c.cu_q[S]), H = c.q_heads();
  x.q = uniform(rows * H * c.d, -1, 1, c.seed * 31 + 5);
  if (c.q_type != ATTNKERN_F32) {
    x.q_half = to_half(x.q, c.q_type);
    from_half(x.q_half, c.q_type, x.q);
  }
  const std::size_t bias_n = rows * H * std::max<std::size_t>(x.max_keys, 1);
  if (c.bias) {
    x.bias = uniform(bias_n, -2, 2, c.seed * 37 + 1);
    for (std::size_t i = 0; i < bias_n; i += 11) x.bias[i] = -std::numeric_limits<float>::infinity();
    if (c.bias_type != ATTNKERN_F32) {
      x.bias_half = to_half(x.bias, c.bias_type);
      from_half(x.bias_half, c.bias_type, x.bias);
    }
  }
  if (c.mask) {
    x.mask.resize(bias_n);
    for (std::size_t i = 0; i < bias_n; ++i) x.mask[i] = (rng() % 5) != 0;
  }
  if (c.alibi) x.slopes = uniform(H, 0.01f, 0.5f, c.seed * 41 + 2);
  if (c.sinks) x.sinks = uniform(H, -1, 3, c.seed * 43 + 3);
}

attnkern_paged_attention_args paged_args(const batch_case& c, built& x, void* out, float* lse) {
  attnkern_paged_attention_args a;
  attnkern_paged_attention_args_init(&a);
  const std::size_t H = c.q_heads();
  a.cache = &x.cache;
  a.num_seqs = c.seqs();
  a.q_heads = H;
  a.cu_q = c.cu_q.data();
  a.kv_lens = c.kv_lens.data();
  a.block_tables = x.tables.data();
  a.block_table_stride = x.table_stride;
  a.q = c.q_type == ATTNKERN_F32 ? static_cast<const void*>(x.q.data()) : static_cast<const void*>(x.q_half.data());
  a.q_dtype = c.q_type;
  a.q_row_stride = static_cast<int64_t>(H * c.d);
  a.q_head_stride = static_cast<int64_t>(c.d);
  a.out = out;
  a.out_dtype = ATTNKERN_F32;
  a.out_row_stride = static_cast<int64_t>(H * c.dv);
  a.out_head_stride = static_cast<int64_t>(c.dv);
  a.lse = lse;
  a.lse_row_stride = static_cast<int64_t>(H);
  a.lse_head_stride = 1;
  a.causal = c.causal;
  a.window = c.window;
  a.window_left = c.left;
  a.window_right = c.right;
  a.softcap = c.softcap;
  a.alibi_slopes = c.alibi ? x.slopes.data() : nullptr;
  a.sinks = c.sinks ? x.sinks.data() : nullptr;
  const std::size_t mk = std::max<std::size_t>(x.max_keys, 1);
  if (c.bias) {
    a.bias = c.bias_type == ATTNKERN_F32 ? static_cast<const void*>(x.bias.data()) : static_cast<const void*>(x.bias_half.data());
    a.bias_dtype = c.bias_type;
    a.bias_row_stride = static_cast<int64_t>(H * mk);
    a.bias_head_stride = static_cast<int64_t>(mk);
  }
  if (c.mask) {
    a.mask = x.mask.data();
    a.mask_row_stride = static_cast<int64_t>(H * mk);
    a.mask_head_stride = static_cast<int64_t>(mk);
  }
  return a;
}

// Sequence s's keys (or values) read back from the cache through its table, widened: [heads, len, dim].
std::vector<float> read_back(const batch_case& c, const built& x, std::size_t s, bool values) {
  const std::size_t len = static_cast<std::size_t>(c.kv_lens[s]), dim = values ? c.dv : c.d;
  const int32_t t = values ? c.v_type : c.k_type;
  const char* base = static_cast<const char*>(values ? x.cache.v_blocks : x.cache.k_blocks);
  const std::size_t stride = values ? x.cache.v_block_bytes : x.cache.k_block_bytes, es = type_size(t);
  std::vector<float> out(c.kv_heads * len * dim);
  for (std::size_t g = 0; g < c.kv_heads; ++g)
    for (std::size_t p = 0; p < len; ++p) {
      const std::size_t block = static_cast<std::size_t>(x.tables[s * x.table_stride + p / c.bt]);
      REQUIRE(block < x.num_blocks);
      const char* row = base + block * stride + (g * c.bt + p % c.bt) * dim * es;
      for (std::size_t e = 0; e < dim; ++e) {
        float f;
        if (t == ATTNKERN_F32) {
          std::memcpy(&f, row + e * 4, 4);
        } else {
          uint16_t h;
          std::memcpy(&h, row + e * 2, 2);
          std::vector<float> one(1);
          from_half(std::vector<uint16_t>{h}, t, one);
          f = one[0];
        }
        out[(g * len + p) * dim + e] = f;
      }
    }
  return out;
}

// The rows of sequence s by attnkern_attention over contiguous float32 copies of its keys and values.
void contiguous(const batch_case& c, const built& x, std::size_t s, std::vector<float>& out, std::vector<float>& lse) {
  const std::size_t H = c.q_heads(), n = static_cast<std::size_t>(c.cu_q[s + 1] - c.cu_q[s]);
  const std::size_t len = static_cast<std::size_t>(c.kv_lens[s]), r0 = static_cast<std::size_t>(c.cu_q[s]);
  const std::size_t mk = std::max<std::size_t>(x.max_keys, 1);
  const std::vector<float> k = read_back(c, x, s, false), v = read_back(c, x, s, true);
  out.assign(n * H * c.dv, -7.0f);
  lse.assign(n * H, -7.0f);
  attnkern_attention_args a;
  attnkern_attention_args_init(&a);
  a.batch = 1;
  a.q_heads = H;
  a.kv_heads = c.kv_heads;
  a.q_len = n;
  a.kv_len = len;
  a.head_dim = c.d;
  a.value_dim = c.dv;
  a.q = x.q.data() + r0 * H * c.d;
  a.q_strides = {0, static_cast<int64_t>(c.d), static_cast<int64_t>(H * c.d)};
  a.k = k.data();
  a.k_strides = attnkern_strides_bhsd(c.kv_heads, len, c.d);
  a.v = v.data();
  a.v_strides = attnkern_strides_bhsd(c.kv_heads, len, c.dv);
  a.out = out.data();
  a.out_strides = {0, static_cast<int64_t>(c.dv), static_cast<int64_t>(H * c.dv)};
  a.lse = lse.data();
  a.lse_strides = {0, 1, static_cast<int64_t>(H)};
  a.causal = c.causal;
  a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
  a.window = c.window;
  a.window_left = c.left;
  a.window_right = c.right;
  a.softcap = c.softcap;
  a.alibi_slopes = c.alibi ? x.slopes.data() : nullptr;
  a.sinks = c.sinks ? x.sinks.data() : nullptr;
  if (c.bias) {  // (the widened bias: exact, so the same as the half one)
    a.bias = x.bias.data() + r0 * H * mk;
    a.bias_strides = {0, static_cast<int64_t>(mk), static_cast<int64_t>(H * mk)};
  }
  if (c.mask) {
    a.mask = x.mask.data() + r0 * H * mk;
    a.mask_strides = {0, static_cast<int64_t>(mk), static_cast<int64_t>(H * mk)};
  }
  REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
}

batch_case random_case(uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::initializer_list<std::size_t> xs) { return *(xs.begin() + rng() % xs.size()); };
  batch_case c;
  c.seed = seed;
  c.kv_heads = pick({1, 2});
  c.group = pick({1, 1, 2, 4, 8});
  c.d = pick({8, 64, 80, 128});
  c.dv = rng() % 3 == 0 ? 48 : c.d;
  c.bt = pick({64, 64, 128, 192});
  const int32_t types[] = {ATTNKERN_F32, ATTNKERN_F16, ATTNKERN_BF16};
  c.k_type = types[rng() % 3];
  c.v_type = rng() % 2 ? c.k_type : types[rng() % 3];
  c.q_type = rng() % 4 == 0 ? ATTNKERN_BF16 : ATTNKERN_F32;
  const std::size_t S = 1 + rng() % 5;
  c.cu_q.push_back(0);
  for (std::size_t s = 0; s < S; ++s) {
    const int32_t len = static_cast<int32_t>(pick({0, 1, 5, 63, 64, 65, 200, 511, 512, 513, 700, 1100}));
    const int32_t rows = static_cast<int32_t>(std::min<std::size_t>(pick({0, 1, 1, 2, 3, 8, 17, 33}), static_cast<std::size_t>(len) + 1));
    c.kv_lens.push_back(len);
    c.cu_q.push_back(c.cu_q.back() + rows);
  }
  c.causal = rng() % 5 != 0;
  if (rng() % 4 == 0) {
    c.window = true;
    c.left = static_cast<int64_t>(rng() % 300);
    c.right = static_cast<int64_t>(rng() % 3);
  }
  if (rng() % 4 == 0) c.softcap = 5;
  c.alibi = rng() % 4 == 0;
  c.sinks = rng() % 4 == 0;
  c.bias = rng() % 5 == 0;
  c.bias_type = rng() % 2 ? ATTNKERN_F32 : ATTNKERN_F16;
  c.mask = rng() % 5 == 0;
  return c;
}

// Runs the case on the active path and checks every row against attnkern_attention's, bit for bit.
void check_rows(const batch_case& c, built& x) {
  const std::size_t H = c.q_heads(), rows = static_cast<std::size_t>(c.cu_q[c.seqs()]);
  std::vector<float> out(rows * H * c.dv, -5.0f), lse(rows * H, -5.0f);
  attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
  REQUIRE(attnkern_paged_attention(&a) == ATTNKERN_OK);
  for (std::size_t s = 0; s < c.seqs(); ++s) {
    std::vector<float> want, want_lse;
    contiguous(c, x, s, want, want_lse);
    const std::size_t r0 = static_cast<std::size_t>(c.cu_q[s]);
    const std::vector<float> got(out.begin() + static_cast<std::ptrdiff_t>(r0 * H * c.dv),
                                 out.begin() + static_cast<std::ptrdiff_t>(r0 * H * c.dv + want.size()));
    const std::vector<float> got_lse(lse.begin() + static_cast<std::ptrdiff_t>(r0 * H),
                                     lse.begin() + static_cast<std::ptrdiff_t>(r0 * H + want_lse.size()));
    INFO("sequence " << s);
    CHECK(same_bits(got, want));
    CHECK(same_bits(got_lse, want_lse));
  }
}

}  // namespace

TEST_CASE("paged: mixed batches over a paged cache equal attnkern_attention on contiguous copies, bit for bit, every path",
          "[paged]") {
  const int cases = reduced(40, 8);
  for (const std::string& isa : available_isas()) {
    isa_scope path(isa.c_str());
    for (int i = 0; i < cases; ++i) {
      const batch_case c = random_case(static_cast<uint32_t>(1000 + i));
      INFO(isa << ": " << c.describe());
      built x;
      build(c, x);
      check_rows(c, x);
    }
  }
}

TEST_CASE("paged: the bits do not depend on the thread count, the batch around a sequence or the block placement",
          "[paged][threads]") {
  batch_case c;
  c.kv_heads = 2;
  c.group = 4;
  c.d = c.dv = 128;
  c.k_type = c.v_type = ATTNKERN_F16;
  c.kv_lens = {3000, 70, 1500, 0, 2100};
  c.cu_q = {0, 1, 2, 10, 10, 11};
  for (const std::string& isa : available_isas()) {
    isa_scope path(isa.c_str());
    INFO(isa);
    std::vector<std::vector<float>> results;
    for (uint32_t placement : {1u, 2u})
      for (int threads : {1, 2}) {
        c.placement = placement;  // another shuffle of the blocks, the same values
        built x;
        build(c, x);
        threads_scope t(threads);
        const std::size_t H = c.q_heads(), rows = static_cast<std::size_t>(c.cu_q.back());
        std::vector<float> out(rows * H * c.dv), lse(rows * H);
        attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
        REQUIRE(attnkern_paged_attention(&a) == ATTNKERN_OK);
        out.insert(out.end(), lse.begin(), lse.end());
        results.push_back(out);
      }
    for (std::size_t i = 1; i < results.size(); ++i) CHECK(same_bits(results[i], results[0]));
    // (the batch around a sequence: the mixed-batch case checks each sequence's rows against
    // attnkern_attention on that sequence alone)
  }
}

TEST_CASE("paged: a prefill cut into chunks (keys appended as it goes) equals the prefill in one call", "[paged]") {
  batch_case c;
  c.kv_heads = 1;
  c.group = 2;
  c.d = c.dv = 64;
  c.bt = 128;
  c.k_type = c.v_type = ATTNKERN_BF16;
  c.kv_lens = {700};
  c.cu_q = {0, 700};
  c.window = true;
  c.left = 200;
  c.alibi = true;
  for (const std::string& isa : available_isas()) {
    isa_scope path(isa.c_str());
    INFO(isa);
    built x;
    build(c, x);
    const std::size_t H = c.q_heads();
    std::vector<float> whole(700 * H * c.dv), whole_lse(700 * H);
    attnkern_paged_attention_args a = paged_args(c, x, whole.data(), whole_lse.data());
    REQUIRE(attnkern_paged_attention(&a) == ATTNKERN_OK);
    // chunks [0, 100), [100, 357), [357, 358), [358, 700): rows [p, e) against keys [0, e)
    const int32_t cuts[] = {0, 100, 357, 358, 700};
    for (int i = 0; i + 1 < 5; ++i) {
      const int32_t p = cuts[i], e = cuts[i + 1];
      std::vector<int32_t> cu = {0, e - p}, lens = {e};
      std::vector<float> out(static_cast<std::size_t>(e - p) * H * c.dv), lse(static_cast<std::size_t>(e - p) * H);
      attnkern_paged_attention_args b = a;
      b.cu_q = cu.data();
      b.kv_lens = lens.data();
      b.q = x.q.data() + static_cast<std::size_t>(p) * H * c.d;
      b.out = out.data();
      b.lse = lse.data();
      REQUIRE(attnkern_paged_attention(&b) == ATTNKERN_OK);
      INFO("chunk [" << p << ", " << e << ")");
      CHECK(same_bits(out, std::vector<float>(whole.begin() + p * static_cast<std::ptrdiff_t>(H * c.dv),
                                              whole.begin() + e * static_cast<std::ptrdiff_t>(H * c.dv))));
      CHECK(same_bits(lse, std::vector<float>(whole_lse.begin() + p * static_cast<std::ptrdiff_t>(H),
                                              whole_lse.begin() + e * static_cast<std::ptrdiff_t>(H))));
    }
  }
}

TEST_CASE("paged: decode rows against the float64 reference, within sdpa_max_error", "[paged]") {
  batch_case c;
  c.kv_heads = 2;
  c.group = 2;
  c.d = c.dv = 64;
  c.k_type = ATTNKERN_F16;
  c.v_type = ATTNKERN_BF16;
  c.kv_lens = {1, 300, 1100};
  c.cu_q = {0, 1, 2, 5};
  for (const std::string& isa : available_isas()) {
    isa_scope path(isa.c_str());
    INFO(isa);
    built x;
    build(c, x);
    const std::size_t H = c.q_heads();
    std::vector<float> out(5 * H * c.dv), lse(5 * H);
    attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
    REQUIRE(attnkern_paged_attention(&a) == ATTNKERN_OK);
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.d));
    double worst = 0;
    for (std::size_t s = 0; s < c.seqs(); ++s) {
      const std::vector<float> k = read_back(c, x, s, false), v = read_back(c, x, s, true);
      const std::size_t len = static_cast<std::size_t>(c.kv_lens[s]), n = static_cast<std::size_t>(c.cu_q[s + 1] - c.cu_q[s]);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t h = 0; h < H; ++h) {
          const std::size_t g = h / c.group, r = static_cast<std::size_t>(c.cu_q[s]) + i;
          const std::size_t seen = len - n + i + 1;  // causal, bottom-right
          std::vector<double> sc(seen);
          double m = -INFINITY, sigma = 0, vmax = 0;
          for (std::size_t j = 0; j < seen; ++j) {
            double dot = 0, abs = 0;
            for (std::size_t e = 0; e < c.d; ++e) {
              const double p = static_cast<double>(x.q[(r * H + h) * c.d + e]) * k[(g * len + j) * c.d + e];
              dot += p;
              abs += std::fabs(p);
            }
            sc[j] = scale * dot;
            sigma = std::max(sigma, scale * abs);
            m = std::max(m, sc[j]);
          }
          double l = 0;
          for (std::size_t j = 0; j < seen; ++j) l += std::exp(sc[j] - m);
          for (std::size_t e = 0; e < c.dv; ++e) {
            double acc = 0;
            for (std::size_t j = 0; j < seen; ++j) {
              acc += std::exp(sc[j] - m) * v[(g * len + j) * c.dv + e];
              vmax = std::max(vmax, std::fabs(static_cast<double>(v[(g * len + j) * c.dv + e])));
            }
            const double err = std::fabs(out[(r * H + h) * c.dv + e] - acc / l);
            worst = worse(worst, err / (vmax * attnkern::bounds::sdpa_max_error(c.d, sigma, seen) + attnkern::bounds::attention_abs_floor));
          }
          const double lse_err = std::fabs(lse[r * H + h] - (m + std::log(l)));
          worst = worse(worst, lse_err / attnkern::bounds::lse_max_error(c.d, sigma, seen));
        }
    }
    CHECK(worst <= 1.0);
  }
}

TEST_CASE("paged: guard pages after every block and on the blocks no table names are never touched", "[paged][guard]") {
  for (const std::string& isa : available_isas()) {
    isa_scope path(isa.c_str());
    for (uint32_t seed : {7u, 8u, 9u}) {
      batch_case c = random_case(seed);
      c.guarded = true;
      INFO(isa << ": " << c.describe());
      built x;
      build(c, x);
      check_rows(c, x);
    }
  }
}

TEST_CASE("paged: attnkern_kv_append converts each source type into each cache type, skips negative slots, writes nothing else",
          "[paged]") {
  const int32_t types[] = {ATTNKERN_F32, ATTNKERN_F16, ATTNKERN_BF16};
  for (int32_t cache_type : types)
    for (int32_t src_type : types) {
      INFO("cache " << cache_type << " source " << src_type);
      const std::size_t heads = 3, d = 20, bt = 64, blocks = 4, tokens = 9;
      std::vector<unsigned char> kp(attnkern_kv_block_bytes(cache_type, heads, bt, d) * blocks, 0xAB);
      std::vector<unsigned char> vp(attnkern_kv_block_bytes(cache_type, heads, bt, d) * blocks, 0xCD);
      attnkern_kv_cache cache;
      attnkern_kv_cache_init(&cache);
      cache.num_blocks = blocks;
      cache.block_tokens = bt;
      cache.kv_heads = heads;
      cache.head_dim = cache.value_dim = d;
      cache.k_dtype = cache.v_dtype = cache_type;
      cache.k_blocks = kp.data();
      cache.v_blocks = vp.data();
      // the source: [tokens, heads, d] with padding (token stride heads * d + 5, head stride d + 1),
      // values across the ranges that round, overflow (f16) and NaN
      const std::size_t ts = heads * d + 5 + heads, hs = d + 1;
      std::vector<float> src = uniform(tokens * ts, -70000.0f, 70000.0f, 99);
      for (std::size_t i = 0; i < src.size(); i += 3) src[i] *= 1e-4f;
      src[7] = std::numeric_limits<float>::quiet_NaN();
      std::vector<uint16_t> src_half;
      if (src_type != ATTNKERN_F32) {
        src_half = to_half(src, src_type);
        from_half(src_half, src_type, src);
      }
      const void* sp = src_type == ATTNKERN_F32 ? static_cast<const void*>(src.data()) : static_cast<const void*>(src_half.data());
      const std::vector<int64_t> slots = {5, 64 * 3 + 63, -1, 0, 64 * 2 + 1, -7, 64 + 20, 64 * 3, 100};
      attnkern_kv_append_args a{};
      a.struct_size = sizeof a;
      a.cache = &cache;
      a.tokens = tokens;
      a.slots = slots.data();
      a.k = a.v = sp;
      a.k_dtype = a.v_dtype = src_type;
      a.k_token_stride = a.v_token_stride = static_cast<int64_t>(ts);
      a.k_head_stride = a.v_head_stride = static_cast<int64_t>(hs);
      const std::vector<unsigned char> k_before = kp;
      REQUIRE(attnkern_kv_append(&a) == ATTNKERN_OK);
      const std::size_t es = type_size(cache_type), bb = attnkern_kv_block_bytes(cache_type, heads, bt, d);
      std::vector<bool> written(kp.size(), false);
      for (std::size_t i = 0; i < tokens; ++i) {
        if (slots[i] < 0) continue;
        const std::size_t block = static_cast<std::size_t>(slots[i]) / bt, t = static_cast<std::size_t>(slots[i]) % bt;
        for (std::size_t g = 0; g < heads; ++g) {
          std::vector<float> row(src.begin() + static_cast<std::ptrdiff_t>(i * ts + g * hs),
                                 src.begin() + static_cast<std::ptrdiff_t>(i * ts + g * hs + d));
          const std::size_t at = block * bb + (g * bt + t) * d * es;
          for (std::size_t e = 0; e < d * es; ++e) written[at + e] = true;
          if (cache_type == ATTNKERN_F32) {
            std::vector<float> got(d);
            std::memcpy(got.data(), kp.data() + at, d * 4);
            CHECK(same_bits(got, row));
          } else {
            std::vector<uint16_t> got(d);
            std::memcpy(got.data(), kp.data() + at, d * 2);
            std::vector<uint16_t> want = to_half(row, cache_type);
            for (std::size_t e = 0; e < d; ++e)  // (NaN: any NaN)
              if (!(std::isnan(row[e]) && ((got[e] & 0x7fff) > (cache_type == ATTNKERN_F16 ? 0x7c00 : 0x7f80)))) CHECK(got[e] == want[e]);
          }
        }
      }
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < kp.size(); ++i) {
        if (!written[i] && (kp[i] != k_before[i] || vp[i] != 0xCD)) ++wrong;  // outside the slots: untouched
        if (written[i] && vp[i] != kp[i]) ++wrong;                              // V got the same rows
      }
      CHECK(wrong == 0);
    }
}

TEST_CASE("paged: bad input gives its status and writes nothing", "[paged]") {
  batch_case c;
  c.kv_lens = {130, 64};
  c.cu_q = {0, 1, 3};
  built x;
  build(c, x);
  const std::size_t H = c.q_heads();
  std::vector<float> out(3 * H * c.dv, 9.0f), lse(3 * H, 9.0f);
  const std::vector<float> out0 = out, lse0 = lse;
  auto expect = [&](attnkern_paged_attention_args a, attnkern_status want, const char* words) {
    CHECK(attnkern_paged_attention(&a) == want);
    CHECK(std::string(attnkern_last_error_message()).find(words) != std::string::npos);
    CHECK(same_bits(out, out0));
    CHECK(same_bits(lse, lse0));
  };
  {
    std::vector<int32_t> tables = x.tables;
    tables[1] = static_cast<int32_t>(x.num_blocks);
    attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
    a.block_tables = tables.data();
    expect(a, ATTNKERN_ERROR_INVALID_ARGUMENT, "block_tables[0][1]");
  }
  {
    attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
    a.block_table_stride = 2;  // sequence 0 needs 3 blocks of 64
    std::vector<int32_t> lens = {150, 64};
    a.kv_lens = lens.data();
    expect(a, ATTNKERN_ERROR_INVALID_ARGUMENT, "block_table_stride");
  }
  {
    std::vector<int32_t> cu = {0, 2, 1};
    attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
    a.cu_q = cu.data();
    expect(a, ATTNKERN_ERROR_INVALID_LENGTH, "cu_q[2]");
  }
  {
    std::vector<int32_t> lens = {-1, 64};
    attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
    a.kv_lens = lens.data();
    expect(a, ATTNKERN_ERROR_INVALID_LENGTH, "kv_lens[0]");
  }
  {
    attnkern_kv_cache bad = x.cache;
    bad.block_tokens = 100;
    attnkern_paged_attention_args a = paged_args(c, x, out.data(), lse.data());
    a.cache = &bad;
    expect(a, ATTNKERN_ERROR_INVALID_ARGUMENT, "block_tokens");
  }
  // append: a slot twice, a slot past the cache; the cache unchanged
  const std::vector<unsigned char> k_before = x.k->snapshot(), v_before = x.v->snapshot();
  std::vector<float> rows(2 * c.kv_heads * c.d, 1.0f);
  for (const auto& bad : {std::vector<int64_t>{3, 3}, std::vector<int64_t>{0, static_cast<int64_t>(x.num_blocks * 64)}}) {
    attnkern_kv_append_args a{};
    a.struct_size = sizeof a;
    a.cache = &x.cache;
    a.tokens = 2;
    a.slots = bad.data();
    a.k = a.v = rows.data();
    a.k_token_stride = a.v_token_stride = static_cast<int64_t>(c.kv_heads * c.d);
    a.k_head_stride = a.v_head_stride = static_cast<int64_t>(c.d);
    CHECK(attnkern_kv_append(&a) == ATTNKERN_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(attnkern_last_error_message()).find("slots[") != std::string::npos);
  }
  CHECK(x.k->snapshot() == k_before);
  CHECK(x.v->snapshot() == v_before);
}
