// attnkern_attention (the described call) and attnkern_attention_merge, on every ISA path this CPU
// has, against the float64 reference (attnkern::reference::attention):
//  - random combinations of layouts (BHSD, BSHD, packed QKV, padded strides), grouped-query heads,
//    causal masks aligned top-left and bottom-right, sliding windows, key starts and lengths at their
//    edges, q_len != kv_len both ways, and the log-sum-exp: every row within its documented bound,
//    keys outside [start, length) poisoned with NaN (never read). Seeded; a failure prints the case;
//  - bits: a row is the same whatever the thread count, the batch around it, the query rows in the
//    call, and the other heads of its group; decoded alone it equals the row of a prefill; and
//    attnkern_sdpa_f32 equals the described call bit for bit;
//  - a key hidden by the causal mask or the window, holding inf or NaN in K and V, changes no bit of
//    the rows it is hidden from;
//  - merge: two parts of the keys (either empty too) in any strides and batch merge within the
//    documented bound of the float64 reference over all the keys, with and without lse; empty sides
//    are exact; a NaN lse makes its row NaN; bad arguments return their status and write nothing;
//  - the bad-input table: every refusal returns its status, names the field and writes nothing.
#include <attnkern/attnkern.hpp>
#include <attnkern/bounds.hpp>
#include <attnkern/reference.hpp>

#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace attnkern_test;
using namespace attnkern::bounds;

namespace {

const float not_a_number = std::numeric_limits<float>::quiet_NaN();

enum class layout { bhsd, bshd, packed, padded };
const char* layout_name(layout l) {
  return l == layout::bhsd ? "BHSD" : l == layout::bshd ? "BSHD" : l == layout::packed ? "packed QKV" : "padded";
}

// A tensor [batch, heads, seq, dim] inside a buffer, by its offset and strides.
struct placed {
  std::size_t offset = 0;
  attnkern_strides strides{0, 0, 0};
  std::size_t at(std::size_t b, std::size_t h, std::size_t s) const {
    return offset + b * static_cast<std::size_t>(strides.batch) + h * static_cast<std::size_t>(strides.head) +
           s * static_cast<std::size_t>(strides.seq);
  }
  // the elements of a buffer up to the end of the tensor's last row
  std::size_t span(std::size_t batch, std::size_t heads, std::size_t seq, std::size_t dim) const {
    return at(batch - 1, heads - 1, seq - 1) + dim;
  }
};

// The strides of an output [batch, heads, seq, dim] by where it goes: 0 BHSD, contiguous; 1 BSHD;
// 2 padded (gaps after every row, head and item).
attnkern_strides output_strides(int place, std::size_t heads, std::size_t seq, std::size_t dim) {
  if (place == 0) return attnkern_strides_bhsd(heads, seq, dim);
  if (place == 1) return attnkern_strides_bshd(heads, seq, dim);
  const std::size_t row = dim + 3, head = seq * row + 5;
  return {static_cast<int64_t>(heads * head + 2), static_cast<int64_t>(head), static_cast<int64_t>(row)};
}

// What an output buffer holds before the call, where the call must not write: a NaN of its own
// payload, as float or as f16/bf16 bits.
const float untouched = from_bits(0x7fc0beef);
const uint16_t untouched_half = 0x7ebe;

// How many elements of `buf` outside the tensor t [batch, heads, seq, dim] no longer hold `sentinel`
// (bit for bit).
template <class E>
std::size_t written_outside(const std::vector<E>& buf, const placed& t, std::size_t batch, std::size_t heads,
                            std::size_t seq, std::size_t dim, E sentinel) {
  std::vector<char> inside(buf.size(), 0);
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t i = 0; i < seq; ++i)
        for (std::size_t x = 0; x < dim; ++x) inside[t.at(b, h, i) + x] = 1;
  std::size_t n = 0;
  for (std::size_t e = 0; e < buf.size(); ++e) n += !inside[e] && std::memcmp(&buf[e], &sentinel, sizeof(E)) != 0;
  return n;
}

struct attention_case {
  std::size_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 1, kv_len = 1, head_dim = 1, value_dim = 1;
  layout lay = layout::bhsd;
  bool causal = false, bottom_right = false, window = false;
  std::size_t left = 0, right = 0;
  std::vector<int32_t> starts, lengths;  // empty: none
  float scale = 0;                       // as passed (0: the default)
  // score modifiers: off when empty / 0
  float softcap = 0;
  std::vector<float> bias, bias_scales, slopes, sinks;
  attnkern_strides bias_strides{0, 0, 0}, mask_strides{0, 0, 0};
  std::vector<unsigned char> mask;
  // element types (attnkern_dtype); the inputs' values are representable in every type the case uses
  int32_t q_type = ATTNKERN_F32, k_type = ATTNKERN_F32, v_type = ATTNKERN_F32, out_type = ATTNKERN_F32;
  int32_t bias_type = ATTNKERN_F32;  // (the bias's values are representable in it)
  bool modified() const { return softcap > 0 || !bias.empty() || !slopes.empty(); }
  // q, k and v live in `in` (one buffer: packed QKV shares it), out in its own.
  std::vector<float> in;
  placed q, k, v;
  std::size_t out_size = 0;
  mutable std::vector<double> bias_d, scales_d, slopes_d, sinks_d;  // (the oracle's copies)

  std::string describe() const {
    std::ostringstream o;
    o << layout_name(lay) << " batch " << batch << " heads " << q_heads << "/" << kv_heads << " q_len " << q_len
      << " kv_len " << kv_len << " d " << head_dim << "/" << value_dim << (causal ? " causal" : "")
      << (bottom_right ? " bottom-right" : " top-left");
    if (window) o << " window [" << left << ", " << right << "]";
    if (!starts.empty()) {
      o << " starts";
      for (int32_t s : starts) o << " " << s;
    }
    if (!lengths.empty()) {
      o << " lengths";
      for (int32_t s : lengths) o << " " << s;
    }
    if (softcap > 0) o << " softcap " << softcap;
    if (!bias.empty())
      o << " bias (strides " << bias_strides.batch << " " << bias_strides.head << " " << bias_strides.seq << ")"
        << (bias_scales.empty() ? "" : " scaled per head");
    if (!slopes.empty()) o << " ALiBi";
    if (!mask.empty()) o << " mask (strides " << mask_strides.batch << " " << mask_strides.head << " " << mask_strides.seq << ")";
    if (!sinks.empty()) o << " sinks";
    const char* places[] = {"BHSD", "BSHD", "padded"};
    o << " out " << places[out_place] << " lse " << places[lse_place];
    const char* names[] = {"f32", "f16", "bf16"};
    o << " types q " << names[q_type] << " k " << names[k_type] << " v " << names[v_type] << " out " << names[out_type];
    if (!bias.empty()) o << " bias " << names[bias_type];
    return o.str();
  }

  float used_scale() const { return scale != 0 ? scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim))); }

  attnkern::reference::attention_problem<double> problem(const std::vector<double>& d) const {
    attnkern::reference::attention_problem<double> p{};
    auto t = [&](const placed& x) {
      return attnkern::reference::attention_problem<double>::tensor{
          d.data() + x.offset, static_cast<std::size_t>(x.strides.batch), static_cast<std::size_t>(x.strides.head),
          static_cast<std::size_t>(x.strides.seq)};
    };
    p.q = t(q);
    p.k = t(k);
    p.v = t(v);
    p.batch = batch, p.q_heads = q_heads, p.kv_heads = kv_heads, p.q_len = q_len, p.kv_len = kv_len;
    p.head_dim = head_dim, p.value_dim = value_dim;
    p.scale = static_cast<double>(used_scale());
    p.kv_starts = starts.empty() ? nullptr : starts.data();
    p.kv_lengths = lengths.empty() ? nullptr : lengths.data();
    p.causal = causal, p.bottom_right = bottom_right, p.window = window, p.window_left = left, p.window_right = right;
    p.softcap = softcap;
    if (!bias.empty()) {
      bias_d.assign(bias.begin(), bias.end());
      p.bias = bias_d.data();
      p.bias_batch_stride = static_cast<std::size_t>(bias_strides.batch);
      p.bias_head_stride = static_cast<std::size_t>(bias_strides.head);
      p.bias_row_stride = static_cast<std::size_t>(bias_strides.seq);
    }
    if (!bias_scales.empty()) {
      scales_d.assign(bias_scales.begin(), bias_scales.end());
      p.bias_head_scales = scales_d.data();
    }
    if (!slopes.empty()) {
      slopes_d.assign(slopes.begin(), slopes.end());
      p.alibi_slopes = slopes_d.data();
    }
    if (!mask.empty()) {
      p.mask = mask.data();
      p.mask_batch_stride = static_cast<std::size_t>(mask_strides.batch);
      p.mask_head_stride = static_cast<std::size_t>(mask_strides.head);
      p.mask_row_stride = static_cast<std::size_t>(mask_strides.seq);
    }
    if (!sinks.empty()) {
      sinks_d.assign(sinks.begin(), sinks.end());
      p.sinks = sinks_d.data();
    }
    return p;
  }

  // Where out [batch, q_heads, q_len, value_dim] and lse [batch, q_heads, q_len] go (output_strides).
  int out_place = 0, lse_place = 0;
  attnkern_strides out_strides() const { return output_strides(out_place, q_heads, q_len, value_dim); }
  attnkern_strides lse_strides() const { return output_strides(lse_place, q_heads, q_len, 1); }

  // The call's arguments, writing out and lse where out_place and lse_place put them.
  attnkern_attention_args args(void* out, float* lse) const {
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = batch, a.q_heads = q_heads, a.kv_heads = kv_heads, a.q_len = q_len, a.kv_len = kv_len;
    a.head_dim = head_dim, a.value_dim = value_dim;
    a.q = in.data() + q.offset, a.q_strides = q.strides;
    a.k = in.data() + k.offset, a.k_strides = k.strides;
    a.v = in.data() + v.offset, a.v_strides = v.strides;
    a.out = out, a.out_strides = out_strides();
    a.lse = lse, a.lse_strides = lse_strides();
    a.scale = scale;
    a.causal = causal;
    a.align = bottom_right ? ATTNKERN_ALIGN_BOTTOM_RIGHT : ATTNKERN_ALIGN_TOP_LEFT;
    a.window = window;
    a.window_left = static_cast<int64_t>(left), a.window_right = static_cast<int64_t>(right);
    a.kv_starts = starts.empty() ? nullptr : starts.data();
    a.kv_lengths = lengths.empty() ? nullptr : lengths.data();
    a.softcap = softcap;
    a.bias = bias.empty() ? nullptr : bias.data(), a.bias_strides = bias_strides;
    a.bias_head_scales = bias_scales.empty() ? nullptr : bias_scales.data();
    a.alibi_slopes = slopes.empty() ? nullptr : slopes.data();
    a.mask = mask.empty() ? nullptr : mask.data(), a.mask_strides = mask_strides;
    a.sinks = sinks.empty() ? nullptr : sinks.data();
    return a;
  }

  // The call, with q, k, v and out in their types (copies of `in` in each half type used): out
  // widened back to float and lse, both gathered into BHSD order. Every element of their buffers
  // that is not part of the tensors must keep its sentinel.
  void run(std::vector<float>& out, std::vector<float>& lse) const {
    out.assign(batch * q_heads * q_len * value_dim, not_a_number);
    lse.assign(batch * q_heads * q_len, not_a_number);
    const placed os{0, out_strides()}, ls{0, lse_strides()};
    const std::size_t out_span = os.span(batch, q_heads, q_len, value_dim);
    std::vector<float> out_buf(out_type == ATTNKERN_F32 ? out_span : 0, untouched);
    std::vector<float> lse_buf(ls.span(batch, q_heads, q_len, 1), untouched);
    std::vector<uint16_t> halves[3], out_half(out_type == ATTNKERN_F32 ? 0 : out_span, untouched_half);
    auto typed = [&](int32_t t) -> const void* {
      if (t == ATTNKERN_F32) return in.data();
      if (halves[t].empty()) halves[t] = to_half(in, t);
      return halves[t].data();
    };
    attnkern_attention_args a = args(out_half.empty() ? static_cast<void*>(out_buf.data()) : out_half.data(), lse_buf.data());
    a.q_dtype = q_type, a.k_dtype = k_type, a.v_dtype = v_type, a.out_dtype = out_type;
    a.q = static_cast<const char*>(typed(q_type)) + (q.offset * (q_type == ATTNKERN_F32 ? 4 : 2));
    a.k = static_cast<const char*>(typed(k_type)) + (k.offset * (k_type == ATTNKERN_F32 ? 4 : 2));
    a.v = static_cast<const char*>(typed(v_type)) + (v.offset * (v_type == ATTNKERN_F32 ? 4 : 2));
    std::vector<uint16_t> bias_half;
    if (!bias.empty() && bias_type != ATTNKERN_F32) {
      bias_half = to_half(bias, bias_type);
      a.bias = bias_half.data(), a.bias_dtype = bias_type;
    }
    const attnkern_status status = attnkern_attention(&a);
    INFO(attnkern_last_error_message());
    REQUIRE(status == ATTNKERN_OK);
    std::vector<float> out_wide(out_half.size());
    from_half(out_half, out_type, out_wide);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t h = 0; h < q_heads; ++h)
        for (std::size_t i = 0; i < q_len; ++i) {
          const std::size_t row = (b * q_heads + h) * q_len + i, o = os.at(b, h, i);
          for (std::size_t x = 0; x < value_dim; ++x) out[row * value_dim + x] = out_half.empty() ? out_buf[o + x] : out_wide[o + x];
          lse[row] = lse_buf[ls.at(b, h, i)];
        }
    REQUIRE((out_half.empty() ? written_outside(out_buf, os, batch, q_heads, q_len, value_dim, untouched)
                              : written_outside(out_half, os, batch, q_heads, q_len, value_dim, untouched_half)) == 0);
    REQUIRE(written_outside(lse_buf, ls, batch, q_heads, q_len, 1, untouched) == 0);
  }
};

// Places q, k and v in one buffer by the layout; every element outside them is NaN.
void place(attention_case& c, std::mt19937& rng) {
  const std::size_t B = c.batch, Hq = c.q_heads, Hk = c.kv_heads, d = c.head_dim, dv = c.value_dim;
  std::size_t size = 0;
  auto bhsd = [&](placed& t, std::size_t heads, std::size_t seq, std::size_t dim, std::size_t pad_row,
                  std::size_t pad_head, std::size_t pad_batch) {
    t.offset = size;
    const std::size_t row = dim + pad_row, head = seq * row + pad_head, batch = heads * head + pad_batch;
    t.strides = {static_cast<int64_t>(batch), static_cast<int64_t>(head), static_cast<int64_t>(row)};
    size += B * batch;
  };
  switch (c.lay) {
    case layout::bhsd:
      bhsd(c.q, Hq, c.q_len, d, 0, 0, 0);
      bhsd(c.k, Hk, c.kv_len, d, 0, 0, 0);
      bhsd(c.v, Hk, c.kv_len, dv, 0, 0, 0);
      break;
    case layout::padded: {
      std::uniform_int_distribution<std::size_t> pad(0, 5);
      bhsd(c.q, Hq, c.q_len, d, pad(rng), pad(rng), pad(rng));
      bhsd(c.k, Hk, c.kv_len, d, pad(rng), pad(rng), pad(rng));
      bhsd(c.v, Hk, c.kv_len, dv, pad(rng), pad(rng), pad(rng));
      break;
    }
    case layout::bshd: {
      auto bshd = [&](placed& t, std::size_t heads, std::size_t seq, std::size_t dim) {
        t.offset = size;
        t.strides = attnkern_strides_bshd(heads, seq, dim);
        size += B * heads * seq * dim;
      };
      bshd(c.q, Hq, c.q_len, d);
      bshd(c.k, Hk, c.kv_len, d);
      bshd(c.v, Hk, c.kv_len, dv);
      break;
    }
    case layout::packed: {  // [batch, seq, Hq + 2 Hk, d]: q_len == kv_len, head_dim == value_dim
      const std::size_t heads = Hq + 2 * Hk, seq_stride = heads * d;
      const attnkern_strides s{static_cast<int64_t>(c.q_len * seq_stride), static_cast<int64_t>(d),
                               static_cast<int64_t>(seq_stride)};
      c.q = {0, s};
      c.k = {Hq * d, s};
      c.v = {(Hq + Hk) * d, s};
      size = B * c.q_len * seq_stride;
      break;
    }
  }
  c.in.assign(size, not_a_number);
  std::uniform_real_distribution<float> unit_f(-1.0f, 1.0f), value_f(-2.0f, 2.0f);
  // values representable in each type the case uses (bf16 first, then f16: a bf16 value at or
  // above 2^-14 in magnitude is an f16 one too; smaller ones become 0)
  bool any_bf16 = false, any_f16 = false;
  for (int32_t t : {c.q_type, c.k_type, c.v_type}) any_bf16 |= t == ATTNKERN_BF16, any_f16 |= t == ATTNKERN_F16;
  auto representable = [&](float x) {
    using namespace attnkern::kernels;
    if (any_bf16) x = to_float(bf16_t{float_to_bf16_bits(x)});
    if (any_f16) x = std::fabs(x) < 0x1p-14f ? 0.0f : to_float(f16_t{float_to_f16_bits(x)});
    return x;
  };
  auto unit = [&](std::mt19937& g) { return representable(unit_f(g)); };
  auto value = [&](std::mt19937& g) { return representable(value_f(g)); };
  for (std::size_t b = 0; b < B; ++b) {
    for (std::size_t h = 0; h < Hq; ++h)
      for (std::size_t i = 0; i < c.q_len; ++i)
        for (std::size_t x = 0; x < d; ++x) c.in[c.q.at(b, h, i) + x] = unit(rng);
    const std::size_t start = c.starts.empty() ? 0 : static_cast<std::size_t>(c.starts[b]);
    const std::size_t end = c.lengths.empty() ? c.kv_len : static_cast<std::size_t>(c.lengths[b]);
    for (std::size_t h = 0; h < Hk; ++h)
      for (std::size_t j = start; j < end; ++j) {  // (keys outside [start, end) stay NaN: never read)
        for (std::size_t x = 0; x < d; ++x) c.in[c.k.at(b, h, j) + x] = unit(rng);
        for (std::size_t x = 0; x < dv; ++x) c.in[c.v.at(b, h, j) + x] = value(rng);
      }
  }
}

attention_case random_case(uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng); };
  attention_case c;
  c.lay = static_cast<layout>(pick(0, 3));
  c.batch = pick(1, 3);
  c.kv_heads = pick(1, 3);
  const std::size_t groups[] = {1, 2, 3, 4, 8};
  c.q_heads = c.kv_heads * groups[pick(0, 4)];
  c.head_dim = pick(1, 80);
  c.value_dim = c.lay == layout::packed ? c.head_dim : pick(1, 80);
  const std::size_t lens[] = {1, 2, 7, 31, 64, 65, 130, 511, 513, 1100};
  c.q_len = lens[pick(0, 8)];
  c.kv_len = c.lay == layout::packed ? c.q_len : lens[pick(0, 9)];
  // (the float64 reference and the scalar path are slow: at most about 10^8 multiply-adds per case)
  while (c.batch * c.q_heads * c.q_len * c.kv_len * (c.head_dim + c.value_dim) > 100000000 && c.q_len > 1) {
    c.q_len /= 2;
    if (c.lay == layout::packed) c.kv_len = c.q_len;
  }
  c.causal = pick(0, 1) == 1;
  c.bottom_right = pick(0, 1) == 1;
  if (pick(0, 2) == 0) {
    c.window = true;
    const std::size_t widths[] = {0, 1, 5, 63, 64, 200, 700};
    c.left = widths[pick(0, 6)];
    c.right = widths[pick(0, 6)];
  }
  auto edges = [&](std::vector<int32_t>& v, std::size_t lo, std::size_t hi) {
    v.resize(c.batch);
    for (auto& x : v) {
      const std::size_t r = pick(0, 3);
      x = static_cast<int32_t>(r == 0 ? lo : r == 1 ? hi : pick(lo, hi));
    }
  };
  const std::size_t kind = pick(0, 3);
  if (kind == 1 || kind == 3) edges(c.lengths, 0, c.kv_len);
  if (kind == 2 || kind == 3) {
    std::vector<int32_t> s;
    edges(s, 0, c.kv_len);
    for (std::size_t b = 0; b < c.batch; ++b) {
      const int32_t end = c.lengths.empty() ? static_cast<int32_t>(c.kv_len) : c.lengths[b];
      s[b] = std::min(s[b], end);
    }
    c.starts = s;
  }
  c.scale = pick(0, 1) ? 0.0f : 0.3f;
  // score modifiers, each in about a third of the cases; bias and mask with broadcast strides
  std::uniform_real_distribution<float> small(-2.0f, 2.0f);
  auto strides_for = [&](attnkern_strides& st) {  // [batch, q_heads, q_len, kv_len], some dimensions broadcast
    const std::size_t row = c.kv_len + pick(0, 3), head = c.q_len * row, batch = c.q_heads * head;
    st = {pick(0, 2) ? static_cast<int64_t>(batch) : 0, pick(0, 2) ? static_cast<int64_t>(head) : 0,
          pick(0, 3) ? static_cast<int64_t>(row) : 0};
    return c.batch * batch;
  };
  if (pick(0, 2) == 0) c.softcap = std::uniform_real_distribution<float>(0.5f, 30.0f)(rng);
  if (pick(0, 2) == 0) {
    c.bias.resize(strides_for(c.bias_strides));
    c.bias_type = static_cast<int32_t>(pick(0, 2));
    for (auto& x : c.bias) {
      x = pick(0, 9) == 0 ? -INFINITY : small(rng);
      using namespace attnkern::kernels;  // (values the bias's type holds; tiny ones as 0)
      if (c.bias_type != ATTNKERN_F32 && std::fabs(x) < 0x1p-14f) x = 0.0f;
      if (c.bias_type == ATTNKERN_F16) x = to_float(f16_t{float_to_f16_bits(x)});
      if (c.bias_type == ATTNKERN_BF16) x = to_float(bf16_t{float_to_bf16_bits(x)});
    }
    if (pick(0, 1)) {
      c.bias_scales.resize(c.q_heads);
      for (auto& x : c.bias_scales) x = std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
    }
  }
  if (pick(0, 2) == 0) {
    c.slopes.resize(c.q_heads);
    for (std::size_t h = 0; h < c.q_heads; ++h) c.slopes[h] = std::pow(2.0f, -8.0f * static_cast<float>(h + 1) / static_cast<float>(c.q_heads));
  }
  if (pick(0, 2) == 0) {
    c.mask.resize(strides_for(c.mask_strides));
    for (auto& x : c.mask) x = pick(0, 4) == 0 ? 0 : static_cast<unsigned char>(pick(1, 255));
  }
  if (pick(0, 2) == 0) {
    c.sinks.resize(c.q_heads);
    for (auto& x : c.sinks) x = small(rng);
  }
  if (pick(0, 2) == 0) {  // half precision in a third of the cases, each tensor's type its own
    auto type = [&] { return static_cast<int32_t>(pick(0, 2)); };
    c.q_type = type(), c.k_type = type(), c.v_type = type(), c.out_type = type();
  }
  place(c, rng);
  std::mt19937 where(seed ^ 0x5eedu);  // (its own generator: the draws above stay those of earlier versions)
  c.out_place = static_cast<int>(std::uniform_int_distribution<int>(0, 2)(where));
  c.lse_place = static_cast<int>(std::uniform_int_distribution<int>(0, 2)(where));
  return c;
}

// The worst errors seen (ATTNKERN_TEST_REPORT=1 prints them): outputs over max|v|, lse absolute,
// and each as a fraction of its bound; with modifiers and without.
struct worst_errors {
  double out = 0, out_of_bound = 0, lse = 0, lse_of_bound = 0;
};
worst_errors worst[3];  // without modifiers, with them (both with a float32 out), and with an f16 or bf16 out

// What a row's bounds depend on: sigma (the largest |scale q.k| + |bias term| + |ALiBi term| over the
// keys it sees), n (how many it sees) and max|v| over them.
struct row_stats {
  double sigma = 0, max_v = 0;
  std::size_t n = 0;
};
row_stats stats_of(const attnkern::reference::attention_problem<double>& p, std::size_t b, std::size_t h, std::size_t i) {
  row_stats r;
  const std::size_t g = h / (p.q_heads / p.kv_heads);
  for (std::size_t j = 0; j < p.kv_len; ++j) {
    if (!p.sees(b, h, i, j)) continue;
    ++r.n;
    double dot = 0;
    for (std::size_t x = 0; x < p.head_dim; ++x) dot += std::fabs(p.q.row(b, h, i)[x] * p.k.row(b, g, j)[x]);
    double extra = 0;  // the modifiers' terms
    if (p.bias) extra += std::fabs(p.bias_at(b, h, i, j) * (p.bias_head_scales ? p.bias_head_scales[h] : 1.0));
    if (p.alibi_slopes) extra += std::fabs(p.alibi_slopes[h] * static_cast<double>(static_cast<long long>(j) - p.diagonal(b, i)));
    r.sigma = std::max(r.sigma, p.scale * dot + extra);
    for (std::size_t x = 0; x < p.value_dim; ++x) r.max_v = std::max(r.max_v, std::fabs(p.v.row(b, g, j)[x]));
  }
  return r;
}

// Checks every row of `out` and `lse` against the oracle: within the documented bounds (and
// sdpa_random_input_error, inputs being random); rows that see no key exactly 0 and -inf.
void check_rows(const attention_case& c, const std::vector<float>& out, const std::vector<float>& lse) {
  std::vector<double> d(c.in.begin(), c.in.end());
  const auto p = c.problem(d);
  std::vector<double> want(out.size()), want_lse(lse.size());
  attnkern::reference::attention(p, want.data(), want_lse.data());
  for (std::size_t b = 0; b < c.batch; ++b)
    for (std::size_t h = 0; h < c.q_heads; ++h)
      for (std::size_t i = 0; i < c.q_len; ++i) {
        const std::size_t row = (b * c.q_heads + h) * c.q_len + i;
        const row_stats st = stats_of(p, b, h, i);
        const double sigma = st.sigma, max_v = st.max_v;
        const std::size_t n = st.n;
        const bool mod = c.modified() || !c.sinks.empty();
        const double bound = mod ? attention_max_error(c.head_dim, sigma, n) : sdpa_max_error(c.head_dim, sigma, n);
        const double lse_bound = lse_max_error(mod ? c.head_dim + 7 : c.head_dim, sigma, n + (c.sinks.empty() ? 0 : 1));
        // (sdpa_random_input_error is for random q and k: a bias or ALiBi makes the scores larger, up to
        // hundreds here, and those cases are held to the derived bound only)
        double allowed = (mod ? bound : std::min(bound, sdpa_random_input_error)) * max_v + attention_abs_floor;
        if (c.out_type != ATTNKERN_F32) allowed += half_out_error(c.out_type == ATTNKERN_BF16) * max_v + f16_out_floor;
        // (plain comparisons, one assertion per row: the cases hold millions of elements)
        std::ostringstream why;
        if (n == 0) {
          const float empty_lse = c.sinks.empty() ? -std::numeric_limits<float>::infinity() : c.sinks[h];
          for (std::size_t x = 0; x < c.value_dim; ++x)
            if (bits(out[row * c.value_dim + x]) != 0) why << "element " << x << " = " << out[row * c.value_dim + x] << ", not +0; ";
          if (bits(lse[row]) != bits(empty_lse)) why << "lse = " << lse[row] << ", not " << empty_lse;
        } else {
          const bool half_out = c.out_type != ATTNKERN_F32;
          worst_errors& w = worst[half_out ? 2 : mod ? 1 : 0];
          const double lse_err = std::fabs(lse[row] - want_lse[row]);
          w.lse = std::max(w.lse, lse_err);
          w.lse_of_bound = std::max(w.lse_of_bound, lse_err / lse_bound);
          for (std::size_t x = 0; x < c.value_dim; ++x) {
            const double err = std::fabs(out[row * c.value_dim + x] - want[row * c.value_dim + x]);
            if (max_v > 0) w.out = std::max(w.out, err / max_v);
            // (a half out: against its whole allowance, the rounding to f16 or bf16 included)
            w.out_of_bound = std::max(w.out_of_bound, err / (half_out ? allowed : bound * max_v + attention_abs_floor));
            if (!(err <= allowed))
              why << "element " << x << ": got " << out[row * c.value_dim + x] << " want " << want[row * c.value_dim + x]
                  << " allowed " << allowed << "; ";
          }
          if (!(std::fabs(lse[row] - want_lse[row]) <= lse_bound))
            why << "lse: got " << lse[row] << " want " << want_lse[row] << " allowed " << lse_bound;
        }
        if (!why.str().empty()) {
          INFO("row b=" << b << " h=" << h << " i=" << i << " sees " << n << " keys: " << why.str());
          REQUIRE(why.str().empty());
        }
      }
}

}  // namespace

TEST_CASE("attention: random layouts, heads, masks, windows and key ranges, every path, within the bounds",
          "[attention_api]") {
  const int cases = reduced(120, 16);
  for (int n = 0; n < cases; ++n) {
    const uint32_t seed = 7000u + static_cast<uint32_t>(n);
    const attention_case c = random_case(seed);
    INFO("seed " << seed << ": " << c.describe());
    std::vector<float> first_out, first_lse;
    for (const auto& isa : available_isas()) {
      INFO("path " << isa);
      isa_scope scope(isa);
      std::vector<float> out, lse;
      {
        threads_scope two(2);
        c.run(out, lse);
      }
      check_rows(c, out, lse);
      // (threads: the same bits at 1 and 3 as at 2, whatever the machine's or OMP_NUM_THREADS's default)
      for (int threads : {1, 3}) {
        INFO(threads << " threads");
        threads_scope t(threads);
        std::vector<float> other_out, other_lse;
        c.run(other_out, other_lse);
        REQUIRE(same_bits(out, other_out));
        REQUIRE(same_bits(lse, other_lse));
      }
    }
  }
  if (std::getenv("ATTNKERN_TEST_REPORT"))
    for (int m = 0; m < 3; ++m)
      std::printf("attention, random cases %s: out %.2e max|v| (%.4f of its bound), lse %.2e (%.4f of its bound)\n",
                  m == 0 ? "without modifiers" : m == 1 ? "with modifiers" : "with an f16 or bf16 out", worst[m].out,
                  worst[m].out_of_bound, worst[m].lse, worst[m].lse_of_bound);
}

namespace {

// A causal prefill of T rows against kv_len keys (bottom-right), BSHD, GQA 8/2, on the active path.
struct prefill {
  std::size_t T = 200, kv_len = 1100, Hq = 8, Hk = 2, d = 64;
  std::vector<float> q, k, v;
  prefill() {
    q = uniform(T * Hq * d, -1, 1, 11);
    k = uniform(kv_len * Hk * d, -1, 1, 12);
    v = uniform(kv_len * Hk * d, -2, 2, 13);
  }
  // Rows [i0, i0 + rows) of head range [h0, h0 + heads) against keys [0, kv_len - T + i0 + rows), as
  // their own call (bottom-right, so the last row sits on the last key), with `kv_heads` K/V heads
  // (kv_heads = heads with head stride 0 on K and V: every head its own "group" of one).
  std::vector<float> rows(std::size_t i0, std::size_t n, std::size_t h0, std::size_t heads, bool split_groups) const {
    std::vector<float> out(heads * n * d, not_a_number);
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = 1, a.q_heads = heads, a.kv_heads = split_groups ? heads : heads * Hk / Hq, a.q_len = n;
    a.kv_len = kv_len - T + i0 + n, a.head_dim = a.value_dim = d;
    a.q = q.data() + i0 * Hq * d + h0 * d, a.q_strides = attnkern_strides_bshd(Hq, T, d);
    const std::size_t g0 = h0 / (Hq / Hk);
    a.k = k.data() + g0 * d, a.k_strides = attnkern_strides_bshd(Hk, kv_len, d);
    a.v = v.data() + g0 * d, a.v_strides = attnkern_strides_bshd(Hk, kv_len, d);
    if (split_groups) a.k_strides.head = a.v_strides.head = 0;  // (all heads of the call share one K/V head)
    a.out = out.data(), a.out_strides = attnkern_strides_bhsd(heads, n, d);
    a.causal = 1;
    a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
    REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
    return out;
  }
};

}  // namespace

TEST_CASE("attention: a row's bits do not depend on the rows, heads, batch or threads around it; decode equals prefill",
          "[attention_api][invariance]") {
  const prefill p;
  const std::size_t G = p.Hq / p.Hk;
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    const std::vector<float> full = [&] {  // [Hq, T, d], on 2 threads (1 and 3: below)
      threads_scope two(2);
      return p.rows(0, p.T, 0, p.Hq, false);
    }();
    auto row_of_full = [&](std::size_t h, std::size_t i) {
      return std::vector<float>(full.begin() + static_cast<std::ptrdiff_t>((h * p.T + i) * p.d),
                                full.begin() + static_cast<std::ptrdiff_t>((h * p.T + i + 1) * p.d));
    };
    for (std::size_t i : {std::size_t(0), std::size_t(1), std::size_t(63), std::size_t(64), std::size_t(137), p.T - 1}) {
      for (std::size_t h : {std::size_t(0), G - 1, G, p.Hq - 1}) {
        INFO("row " << i << " head " << h);
        // decoded alone: one query head, its group's K/V head
        REQUIRE(same_bits(p.rows(i, 1, h, 1, true), row_of_full(h, i)));
        // decoded with its whole group (G query heads against one K/V head)
        const std::vector<float> group = p.rows(i, 1, h / G * G, G, false);
        const std::size_t k = h % G;
        REQUIRE(same_bits(std::vector<float>(group.begin() + static_cast<std::ptrdiff_t>(k * p.d),
                                             group.begin() + static_cast<std::ptrdiff_t>((k + 1) * p.d)),
                          row_of_full(h, i)));
      }
    }
    // a 64-row chunk of the prefill, as its own call
    const std::vector<float> chunk = p.rows(64, 64, 0, p.Hq, false);
    for (std::size_t h = 0; h < p.Hq; ++h)
      for (std::size_t r = 0; r < 64; r += 21)
        REQUIRE(same_bits(std::vector<float>(chunk.begin() + static_cast<std::ptrdiff_t>((h * 64 + r) * p.d),
                                             chunk.begin() + static_cast<std::ptrdiff_t>((h * 64 + r + 1) * p.d)),
                          row_of_full(h, 64 + r)));
    // one thread, and three
    for (int threads : {1, 3}) {
      INFO(threads << " threads");
      threads_scope t(threads);
      REQUIRE(same_bits(p.rows(0, p.T, 0, p.Hq, false), full));
    }
  }
}

TEST_CASE("attention: the item inside a batch equals the item alone, and attnkern_sdpa_f32 equals the described call",
          "[attention_api][invariance]") {
  const std::size_t B = 3, T = 97, K = 600, d = 40;
  const auto q = uniform(B * T * d, -1, 1, 21), k = uniform(B * K * d, -1, 1, 22), v = uniform(B * K * d, -2, 2, 23);
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    for (int causal : {0, 1}) {
      std::vector<float> old_api(B * T * d), described(B * T * d), alone(T * d);
      REQUIRE(attnkern_sdpa_f32(q.data(), k.data(), v.data(), nullptr, B, T, K, d, d, 0.125f, causal, old_api.data()) ==
              ATTNKERN_OK);
      attnkern_attention_args a;
      attnkern_attention_args_init(&a);
      a.batch = B, a.q_heads = a.kv_heads = 1, a.q_len = T, a.kv_len = K, a.head_dim = a.value_dim = d;
      a.q = q.data(), a.q_strides = attnkern_strides_bhsd(1, T, d);
      a.k = k.data(), a.k_strides = attnkern_strides_bhsd(1, K, d);
      a.v = v.data(), a.v_strides = attnkern_strides_bhsd(1, K, d);
      a.out = described.data(), a.out_strides = attnkern_strides_bhsd(1, T, d);
      a.scale = 0.125f, a.causal = causal, a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
      REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
      REQUIRE(same_bits(old_api, described));
      a.batch = 1, a.q = q.data() + T * d, a.k = k.data() + K * d, a.v = v.data() + K * d, a.out = alone.data();
      REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
      REQUIRE(same_bits(alone, std::vector<float>(described.begin() + static_cast<std::ptrdiff_t>(T * d),
                                                  described.begin() + static_cast<std::ptrdiff_t>(2 * T * d))));
    }
  }
}

TEST_CASE("attention: a key that the causal mask, the window, the mask or a -inf bias hides never changes a row, even with inf and NaN in K and V (f32, f16, bf16)",
          "[attention_api]") {
  const std::size_t T = 150, d = 24, dv = 40;
  const auto q = uniform(T * d, -1, 1, 31), k = uniform(T * d, -1, 1, 32), v = uniform(T * dv, -2, 2, 33);
  const char* const how[] = {"causal", "causal + window_left", "mask", "bias", "window_right (not causal)"};
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    for (int32_t kv_type : {ATTNKERN_F32, ATTNKERN_F16, ATTNKERN_BF16}) {
      // how the key is hidden: 0 causal, 1 causal + window [9, 0], 2 a mask, 3 a -inf bias (from the
      // odd rows), 4 a window [T, 3] without causal (from the rows more than 3 before it)
      for (int window : {0, 1, 2, 3, 4}) {
        std::vector<unsigned char> mask(T * T, 1);
        std::vector<float> bias(T * T, 0.5f);
        for (std::size_t hidden : {std::size_t(5), std::size_t(66), std::size_t(127)}) {
          INFO("hidden by " << how[window] << ", key " << hidden << " holds inf and NaN, K/V "
                            << (kv_type == ATTNKERN_F32 ? "f32" : kv_type == ATTNKERN_F16 ? "f16" : "bf16"));
          for (std::size_t i = 0; i < T; ++i) {
            mask[i * T + hidden] = i % 2 ? 0 : 1;
            bias[i * T + hidden] = i % 2 ? -INFINITY : 0.5f;
          }
          auto run = [&](const std::vector<float>& kk, const std::vector<float>& vv) {
            std::vector<float> out(T * dv, not_a_number);
            const std::vector<uint16_t> kh = kv_type == ATTNKERN_F32 ? std::vector<uint16_t>{} : to_half(kk, kv_type);
            const std::vector<uint16_t> vh = kv_type == ATTNKERN_F32 ? std::vector<uint16_t>{} : to_half(vv, kv_type);
            attnkern_attention_args a;
            attnkern_attention_args_init(&a);
            a.batch = a.q_heads = a.kv_heads = 1, a.q_len = a.kv_len = T, a.head_dim = d, a.value_dim = dv;
            a.q = q.data(), a.q_strides = attnkern_strides_bhsd(1, T, d);
            a.k = kh.empty() ? static_cast<const void*>(kk.data()) : kh.data(), a.k_strides = attnkern_strides_bhsd(1, T, d);
            a.v = vh.empty() ? static_cast<const void*>(vv.data()) : vh.data(), a.v_strides = attnkern_strides_bhsd(1, T, dv);
            a.k_dtype = a.v_dtype = kv_type;
            a.out = out.data(), a.out_strides = attnkern_strides_bhsd(1, T, dv);
            a.causal = window < 2, a.window = window == 1 || window == 4;
            a.window_left = window == 4 ? static_cast<int64_t>(T) : 9, a.window_right = window == 4 ? 3 : 0;
            if (window == 2) a.mask = mask.data(), a.mask_strides = attnkern_strides_bhsd(1, T, T);
            if (window == 3) a.bias = bias.data(), a.bias_strides = attnkern_strides_bhsd(1, T, T);
            REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
            return out;
          };
          std::vector<float> k2 = k, v2 = v;
          for (std::size_t x = 0; x < d; ++x) k2[hidden * d + x] = x % 2 ? not_a_number : std::numeric_limits<float>::infinity();
          for (std::size_t x = 0; x < dv; ++x) v2[hidden * dv + x] = x % 2 ? std::numeric_limits<float>::infinity() : not_a_number;
          const auto clean = run(k, v), poisoned = run(k2, v2);
          for (std::size_t i = 0; i < T; ++i) {
            const bool sees = window == 4   ? i + 3 >= hidden
                              : window >= 2 ? i % 2 == 0
                                            : i >= hidden && (window == 0 || i <= hidden + 9);
            const std::vector<float> a(clean.begin() + static_cast<std::ptrdiff_t>(i * dv), clean.begin() + static_cast<std::ptrdiff_t>((i + 1) * dv));
            const std::vector<float> b(poisoned.begin() + static_cast<std::ptrdiff_t>(i * dv), poisoned.begin() + static_cast<std::ptrdiff_t>((i + 1) * dv));
            INFO("row " << i);
            if (sees) {
              REQUIRE(std::isnan(b[0]));
            } else {
              REQUIRE(same_bits(a, b));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("attention merge: empty sides are exact, in place equals out of place",
          "[attention_api][merge]") {
  const std::size_t H = 3, T = 40, K = 700, d = 32;
  const auto q = uniform(H * T * d, -1, 1, 41), k = uniform(H * K * d, -1, 1, 42), v = uniform(H * K * d, -2, 2, 43);
  auto call = [&](int32_t start, int32_t end, std::vector<float>& out, std::vector<float>& lse) {
    out.assign(H * T * d, not_a_number);
    lse.assign(H * T, not_a_number);
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = 1, a.q_heads = a.kv_heads = H, a.q_len = T, a.kv_len = K, a.head_dim = a.value_dim = d;
    a.q = q.data(), a.q_strides = attnkern_strides_bhsd(H, T, d);
    a.k = k.data(), a.k_strides = attnkern_strides_bhsd(H, K, d);
    a.v = v.data(), a.v_strides = attnkern_strides_bhsd(H, K, d);
    a.out = out.data(), a.out_strides = attnkern_strides_bhsd(H, T, d);
    a.lse = lse.data(), a.lse_strides = attnkern_strides_bhsd(H, T, 1);
    a.kv_starts = &start, a.kv_lengths = &end;
    REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
  };
  auto merge = [&](const std::vector<float>& oa, const std::vector<float>& la, const std::vector<float>& ob,
                   const std::vector<float>& lb, float* out, float* lse) {
    attnkern_merge_args m{};
    m.struct_size = sizeof m;
    m.batch = 1, m.heads = H, m.rows = T, m.value_dim = d;
    m.out_a = oa.data(), m.out_a_strides = attnkern_strides_bhsd(H, T, d);
    m.lse_a = la.data(), m.lse_a_strides = attnkern_strides_bhsd(H, T, 1);
    m.out_b = ob.data(), m.out_b_strides = attnkern_strides_bhsd(H, T, d);
    m.lse_b = lb.data(), m.lse_b_strides = attnkern_strides_bhsd(H, T, 1);
    m.out = out, m.out_strides = attnkern_strides_bhsd(H, T, d);
    m.lse = lse, m.lse_strides = attnkern_strides_bhsd(H, T, 1);
    return attnkern_attention_merge(&m);
  };
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    std::vector<float> whole, whole_lse, a, la, b, lb, none, lnone;
    call(0, static_cast<int32_t>(K), whole, whole_lse);
    call(0, 300, a, la);
    call(300, static_cast<int32_t>(K), b, lb);
    call(0, 0, none, lnone);
    // (against the float64 reference within the documented bound: the next test case)
    std::vector<float> merged(H * T * d), merged_lse(H * T);
    REQUIRE(merge(a, la, b, lb, merged.data(), merged_lse.data()) == ATTNKERN_OK);
    // an empty side: the other copied bit for bit
    std::vector<float> same(H * T * d), same_lse(H * T);
    REQUIRE(merge(a, la, none, lnone, same.data(), same_lse.data()) == ATTNKERN_OK);
    REQUIRE(same_bits(same, a));
    REQUIRE(same_bits(same_lse, la));
    REQUIRE(merge(none, lnone, none, lnone, same.data(), same_lse.data()) == ATTNKERN_OK);
    REQUIRE(same_bits(same, none));  // zeros ...
    for (float e : same) REQUIRE(bits(e) == 0);
    for (float e : same_lse) REQUIRE(e == -std::numeric_limits<float>::infinity());  // ... and -inf
    // in place (out = out_a) gives the same bits as out of place
    std::vector<float> in_place = a, in_place_lse = la;
    REQUIRE(merge(in_place, in_place_lse, b, lb, in_place.data(), in_place_lse.data()) == ATTNKERN_OK);
    REQUIRE(same_bits(in_place, merged));
    REQUIRE(same_bits(in_place_lse, merged_lse));
  }
}

namespace {

// A call refused: what is wrong, its status, a text its message must hold, and the edit of a valid
// argument struct that makes it.
template <class Args>
struct refusal {
  const char* what;
  attnkern_status status;
  const char* names;
  std::function<void(Args&)> edit;
};

// Each refusal of `table`, on base()'s arguments: its status, its message, and out and lse (filled
// with NaN before) unchanged.
template <class Args, class Base, class Call>
void check_refusals(const std::vector<refusal<Args>>& table, Base base, Call call, std::vector<float>& out,
                    std::vector<float>& lse) {
  for (const refusal<Args>& r : table) {
    INFO(r.what);
    Args a = base();
    r.edit(a);
    std::fill(out.begin(), out.end(), not_a_number);
    std::fill(lse.begin(), lse.end(), not_a_number);
    const std::vector<float> before = out, lse_before = lse;
    REQUIRE(call(&a) == r.status);
    INFO(attnkern_last_error_message());
    REQUIRE(std::strstr(attnkern_last_error_message(), r.names) != nullptr);
    REQUIRE(same_bits(out, before));
    REQUIRE(same_bits(lse, lse_before));
  }
}

// attnkern_attention over keys [lo_b, hi_b) of each item: out and lse in the given places.
struct merge_problem {
  std::size_t B = 2, Hq = 6, Hk = 3, T = 37, K = 700, d = 32, dv = 24;
  std::vector<float> q, k, v;
  merge_problem() : q(uniform(B * Hq * T * d, -1, 1, 61)), k(uniform(B * Hk * K * d, -1, 1, 62)), v(uniform(B * Hk * K * dv, -2, 2, 63)) {}
  attnkern_attention_args args(const std::vector<int32_t>& lo, const std::vector<int32_t>& hi) const {
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = B, a.q_heads = Hq, a.kv_heads = Hk, a.q_len = T, a.kv_len = K, a.head_dim = d, a.value_dim = dv;
    a.q = q.data(), a.q_strides = attnkern_strides_bhsd(Hq, T, d);
    a.k = k.data(), a.k_strides = attnkern_strides_bhsd(Hk, K, d);
    a.v = v.data(), a.v_strides = attnkern_strides_bhsd(Hk, K, dv);
    a.kv_starts = lo.data(), a.kv_lengths = hi.data();
    return a;
  }
  // the float64 reference over [lo_b, hi_b): out and lse in BHSD order, and each row's stats
  void reference(const std::vector<int32_t>& lo, const std::vector<int32_t>& hi, std::vector<double>& out,
                 std::vector<double>& lse, std::vector<row_stats>& stats) const {
    const std::vector<double> qd(q.begin(), q.end()), kd(k.begin(), k.end()), vd(v.begin(), v.end());
    attnkern::reference::attention_problem<double> p{};
    p.q = {qd.data(), Hq * T * d, T * d, d};
    p.k = {kd.data(), Hk * K * d, K * d, d};
    p.v = {vd.data(), Hk * K * dv, K * dv, dv};
    p.batch = B, p.q_heads = Hq, p.kv_heads = Hk, p.q_len = T, p.kv_len = K, p.head_dim = d, p.value_dim = dv;
    p.scale = 1.0 / std::sqrt(static_cast<double>(d));
    p.kv_starts = lo.data(), p.kv_lengths = hi.data();
    out.assign(B * Hq * T * dv, 0.0);
    lse.assign(B * Hq * T, 0.0);
    attnkern::reference::attention(p, out.data(), lse.data());
    stats.clear();
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t h = 0; h < Hq; ++h)
        for (std::size_t i = 0; i < T; ++i) stats.push_back(stats_of(p, b, h, i));
  }
};

// A tensor [B, H, T, dim] placed by output_strides in a buffer of floats that starts `untouched`.
struct strided : placed {
  std::vector<float> buf;
};
strided make_strided(int place, std::size_t B, std::size_t H, std::size_t T, std::size_t dim) {
  strided s;
  s.strides = output_strides(place, H, T, dim);
  s.buf.assign(s.span(B, H, T, dim), untouched);
  return s;
}

}  // namespace

TEST_CASE("attention merge: two parts of the keys, in any strides and batch, merge within the documented bound of the float64 reference",
          "[attention_api][merge]") {
  const merge_problem mp;
  const std::size_t B = mp.B, H = mp.Hq, T = mp.T, dv = mp.dv;
  // where each item's keys split; {0, 700} and {700, 0}: one side empty
  const std::vector<std::vector<int32_t>> splits = reduced<std::vector<std::vector<int32_t>>>(
      {{300, 517}, {1, 699}, {0, 700}, {700, 64}}, {{300, 517}, {700, 64}});  // (under qemu-user: two)
  const std::vector<int32_t> zero(B, 0), whole(B, static_cast<int32_t>(mp.K));
  std::vector<double> want, want_lse;
  std::vector<row_stats> whole_stats;
  mp.reference(zero, whole, want, want_lse, whole_stats);
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    for (std::size_t s = 0; s < splits.size(); ++s) {
      const std::vector<int32_t>& cut = splits[s];
      INFO("split at " << cut[0] << " and " << cut[1]);
      // part a in BSHD with padded lse, part b padded with BSHD lse, the merge into padded out and BHSD lse
      const int pa = static_cast<int>(s % 3), pb = static_cast<int>((s + 1) % 3), po = static_cast<int>((s + 2) % 3);
      strided oa = make_strided(pa, B, H, T, dv), la = make_strided(pb, B, H, T, 1);
      strided ob = make_strided(pb, B, H, T, dv), lb = make_strided(po, B, H, T, 1);
      strided out = make_strided(po, B, H, T, dv), lse = make_strided(pa, B, H, T, 1);
      attnkern_attention_args a = mp.args(zero, cut);
      a.out = oa.buf.data(), a.out_strides = oa.strides, a.lse = la.buf.data(), a.lse_strides = la.strides;
      REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
      a = mp.args(cut, whole);
      a.out = ob.buf.data(), a.out_strides = ob.strides, a.lse = lb.buf.data(), a.lse_strides = lb.strides;
      REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
      std::vector<double> ra, rla, rb, rlb;
      std::vector<row_stats> sa, sb;
      mp.reference(zero, cut, ra, rla, sa);
      mp.reference(cut, whole, rb, rlb, sb);
      attnkern_merge_args m{};
      m.struct_size = sizeof m;
      m.batch = B, m.heads = H, m.rows = T, m.value_dim = dv;
      m.out_a = oa.buf.data(), m.out_a_strides = oa.strides, m.lse_a = la.buf.data(), m.lse_a_strides = la.strides;
      m.out_b = ob.buf.data(), m.out_b_strides = ob.strides, m.lse_b = lb.buf.data(), m.lse_b_strides = lb.strides;
      m.out = out.buf.data(), m.out_strides = out.strides, m.lse = lse.buf.data(), m.lse_strides = lse.strides;
      REQUIRE(attnkern_attention_merge(&m) == ATTNKERN_OK);
      // without lse: the same out
      strided out2 = make_strided(po, B, H, T, dv);
      m.out = out2.buf.data(), m.lse = nullptr;
      REQUIRE(attnkern_attention_merge(&m) == ATTNKERN_OK);
      REQUIRE(same_bits(out.buf, out2.buf));
      // every row within the merge's bound, from its parts' own bounds; nothing outside the tensors written
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t h = 0; h < H; ++h)
          for (std::size_t i = 0; i < T; ++i) {
            const std::size_t row = (b * H + h) * T + i;
            auto part_error = [&](const row_stats& st) {
              return st.n == 0 ? 0.0 : sdpa_max_error(mp.d, st.sigma, st.n) * st.max_v + attention_abs_floor;
            };
            auto part_lse_error = [&](const row_stats& st) { return st.n == 0 ? 0.0 : lse_max_error(mp.d, st.sigma, st.n); };
            double max_out = 0;
            for (std::size_t x = 0; x < dv; ++x)
              max_out = std::max({max_out, std::fabs(static_cast<double>(oa.buf[oa.at(b, h, i) + x])), std::fabs(static_cast<double>(ob.buf[ob.at(b, h, i) + x]))});
            const double allowed = merge_out_max_error(part_error(sa[row]), part_error(sb[row]), part_lse_error(sa[row]),
                                                       part_lse_error(sb[row]), max_out);
            const double lse_allowed = merge_lse_max_error(part_lse_error(sa[row]), part_lse_error(sb[row]), want_lse[row]);
            std::ostringstream why;
            for (std::size_t x = 0; x < dv; ++x) {
              const float got = out.buf[out.at(b, h, i) + x];
              if (!(std::fabs(got - want[row * dv + x]) <= allowed))
                why << "element " << x << ": got " << got << " want " << want[row * dv + x] << " allowed " << allowed << "; ";
            }
            const float got_lse = lse.buf[lse.at(b, h, i)];
            if (!(std::fabs(got_lse - want_lse[row]) <= lse_allowed))
              why << "lse: got " << got_lse << " want " << want_lse[row] << " allowed " << lse_allowed;
            if (!why.str().empty()) {
              INFO("row b=" << b << " h=" << h << " i=" << i << ": " << why.str());
              REQUIRE(why.str().empty());
            }
          }
      REQUIRE(written_outside(out.buf, out, B, H, T, dv, untouched) == 0);
      REQUIRE(written_outside(lse.buf, lse, B, H, T, 1, untouched) == 0);
    }
  }
}

TEST_CASE("attention merge: a NaN lse makes exactly its row NaN; bad arguments return their status, name the field and write nothing",
          "[attention_api][merge][bad_input]") {
  const std::size_t B = 2, H = 3, T = 5, dv = 4, n = B * H * T;
  std::vector<float> oa = uniform(n * dv, -1, 1, 71), ob = uniform(n * dv, -1, 1, 72), la = uniform(n, -3, 3, 73),
                     lb = uniform(n, -3, 3, 74);
  std::vector<float> out(n * dv, not_a_number), lse(n, not_a_number);
  auto base = [&] {
    attnkern_merge_args m{};
    m.struct_size = sizeof m;
    m.batch = B, m.heads = H, m.rows = T, m.value_dim = dv;
    m.out_a = oa.data(), m.out_a_strides = attnkern_strides_bhsd(H, T, dv);
    m.lse_a = la.data(), m.lse_a_strides = attnkern_strides_bhsd(H, T, 1);
    m.out_b = ob.data(), m.out_b_strides = attnkern_strides_bhsd(H, T, dv);
    m.lse_b = lb.data(), m.lse_b_strides = attnkern_strides_bhsd(H, T, 1);
    m.out = out.data(), m.out_strides = attnkern_strides_bhsd(H, T, dv);
    m.lse = lse.data(), m.lse_strides = attnkern_strides_bhsd(H, T, 1);
    return m;
  };
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    {  // a NaN lse on either side: that row NaN (out and lse), the others as without it
      attnkern_merge_args m = base();
      REQUIRE(attnkern_attention_merge(&m) == ATTNKERN_OK);
      const std::vector<float> clean = out, clean_lse = lse;
      // (sides 2 and 3: the other side empty, lse -inf, which must not hide the NaN)
      for (std::size_t side = 0; side < 4; ++side) {
        std::vector<float>& l = side % 2 ? lb : la;
        std::vector<float>& other = side % 2 ? la : lb;
        const std::size_t row = 7;
        const float keep = l[row], keep_other = other[row];
        l[row] = not_a_number;
        if (side >= 2) other[row] = -std::numeric_limits<float>::infinity();
        REQUIRE(attnkern_attention_merge(&m) == ATTNKERN_OK);
        l[row] = keep, other[row] = keep_other;
        INFO("NaN in lse_" << (side % 2 ? "b" : "a") << " of row " << row << (side >= 2 ? ", the other side empty" : ""));
        for (std::size_t r = 0; r < n; ++r) {
          INFO("row " << r);
          if (r == row) {
            for (std::size_t x = 0; x < dv; ++x) REQUIRE(std::isnan(out[r * dv + x]));
            REQUIRE(std::isnan(lse[r]));
          } else {
            for (std::size_t x = 0; x < dv; ++x) REQUIRE(bits(out[r * dv + x]) == bits(clean[r * dv + x]));
            REQUIRE(bits(lse[r]) == bits(clean_lse[r]));
          }
        }
      }
    }
    {  // one side empty (lse -inf), the other's lse +inf (a +inf sink on a row that saw no key): copied as it is
      attnkern_merge_args m = base();
      const float keep_a = la[3], keep_b = lb[3];
      la[3] = -std::numeric_limits<float>::infinity(), lb[3] = std::numeric_limits<float>::infinity();
      REQUIRE(attnkern_attention_merge(&m) == ATTNKERN_OK);
      la[3] = keep_a, lb[3] = keep_b;
      REQUIRE(lse[3] == std::numeric_limits<float>::infinity());
      for (std::size_t x = 0; x < dv; ++x) REQUIRE(bits(out[3 * dv + x]) == bits(ob[3 * dv + x]));
    }
    int64_t big = INT64_MAX / 4;
    const std::vector<refusal<attnkern_merge_args>> table = {
        {"a null out_a", ATTNKERN_ERROR_NULL_POINTER, "out_a", [](auto& m) { m.out_a = nullptr; }},
        {"a null lse_b", ATTNKERN_ERROR_NULL_POINTER, "lse_b", [](auto& m) { m.lse_b = nullptr; }},
        {"a null out", ATTNKERN_ERROR_NULL_POINTER, "out", [](auto& m) { m.out = nullptr; }},
        {"out overlapping out_b", ATTNKERN_ERROR_ALIASING, "out overlaps out_b", [&](auto& m) { m.out_b = out.data() + 3; }},
        {"out equal to out_a with other strides", ATTNKERN_ERROR_ALIASING, "out overlaps out_a",
         [&](auto& m) { m.out_a = out.data(), m.out_a_strides = attnkern_strides_bshd(H, T, dv); }},
        {"lse overlapping lse_b", ATTNKERN_ERROR_ALIASING, "lse overlaps lse_b", [&](auto& m) { m.lse_b = lse.data(); }},
        {"lse overlapping out", ATTNKERN_ERROR_ALIASING, "lse overlaps out", [&](auto& m) { m.lse = out.data() + 1; }},
        {"an out row stride of 0", ATTNKERN_ERROR_ALIASING, "out_strides.seq", [](auto& m) { m.out_strides.seq = 0; }},
        {"an lse head stride of 0", ATTNKERN_ERROR_ALIASING, "lse_strides.head", [](auto& m) { m.lse_strides.head = 0; }},
        {"a negative stride", ATTNKERN_ERROR_INVALID_ARGUMENT, "out_b_strides.seq", [](auto& m) { m.out_b_strides.seq = -4; }},
        {"a stride whose span passes PTRDIFF_MAX bytes", ATTNKERN_ERROR_INVALID_SIZE, "lse_a spans",
         [&](auto& m) { m.lse_a_strides.batch = big; }},
        {"a stride whose span overflows", ATTNKERN_ERROR_INVALID_SIZE, "out_b spans",
         [](auto& m) { m.out_b_strides.head = INT64_MAX / 2; }},
        {"struct_size 0", ATTNKERN_ERROR_INVALID_ARGUMENT, "struct_size", [](auto& m) { m.struct_size = 0; }},
        {"a struct_size of no version", ATTNKERN_ERROR_INVALID_ARGUMENT, "struct_size",
         [](auto& m) { m.struct_size = sizeof m - 8; }},
    };
    check_refusals(table, base, attnkern_attention_merge, out, lse);
    REQUIRE(attnkern_attention_merge(nullptr) == ATTNKERN_ERROR_NULL_POINTER);
  }
}

TEST_CASE("attention: bad arguments return their status, name the field and write nothing", "[attention_api][bad_input]") {
  const std::size_t H = 4, T = 8, d = 16;
  std::vector<float> q = uniform(H * T * d, -1, 1, 51), k = uniform(H * T * d, -1, 1, 52), v = uniform(H * T * d, -1, 1, 53);
  std::vector<float> out(H * T * d, not_a_number), lse(H * T, not_a_number);
  auto base = [&] {
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = 1, a.q_heads = a.kv_heads = H, a.q_len = a.kv_len = T, a.head_dim = a.value_dim = d;
    a.q = q.data(), a.q_strides = attnkern_strides_bhsd(H, T, d);
    a.k = k.data(), a.k_strides = attnkern_strides_bhsd(H, T, d);
    a.v = v.data(), a.v_strides = attnkern_strides_bhsd(H, T, d);
    a.out = out.data(), a.out_strides = attnkern_strides_bhsd(H, T, d);
    a.lse = lse.data(), a.lse_strides = attnkern_strides_bhsd(H, T, 1);
    return a;
  };
  int32_t too_long = static_cast<int32_t>(T + 1), start = 5, end = 3;
  const std::vector<refusal<attnkern_attention_args>> table = {
      {"heads that do not divide", ATTNKERN_ERROR_INVALID_ARGUMENT, "kv_heads", [](auto& a) { a.kv_heads = 3; }},
      {"no K/V heads", ATTNKERN_ERROR_INVALID_ARGUMENT, "kv_heads", [](auto& a) { a.kv_heads = 0; }},
      {"strides that overlap the output", ATTNKERN_ERROR_ALIASING, "out_strides.seq", [](auto& a) { a.out_strides.seq = 3; }},
      {"an output head stride of 0", ATTNKERN_ERROR_ALIASING, "out_strides.head", [](auto& a) { a.out_strides.head = 0; }},
      {"a negative stride", ATTNKERN_ERROR_INVALID_ARGUMENT, "k_strides.seq", [](auto& a) { a.k_strides.seq = -16; }},
      {"a window with left < 0", ATTNKERN_ERROR_INVALID_ARGUMENT, "window_left",
       [](auto& a) { a.window = 1, a.window_left = -1; }},
      {"a NaN scale", ATTNKERN_ERROR_INVALID_ARGUMENT, "scale", [](auto& a) { a.scale = not_a_number; }},
      {"a negative softcap (0 is none)", ATTNKERN_ERROR_INVALID_ARGUMENT, "softcap", [](auto& a) { a.softcap = -1.0f; }},
      {"a NaN softcap", ATTNKERN_ERROR_INVALID_ARGUMENT, "softcap", [](auto& a) { a.softcap = not_a_number; }},
      {"bias_head_scales without a bias", ATTNKERN_ERROR_INVALID_ARGUMENT, "bias_head_scales",
       [&](auto& a) { a.bias_head_scales = q.data(); }},
      {"a negative bias stride", ATTNKERN_ERROR_INVALID_ARGUMENT, "bias_strides.seq",
       [&](auto& a) { a.bias = k.data(), a.bias_strides.seq = -1; }},
      {"out overlapping the mask", ATTNKERN_ERROR_ALIASING, "out overlaps mask",
       [&](auto& a) { a.mask = reinterpret_cast<const uint8_t*>(out.data()), a.mask_strides = {0, 0, 0}; }},
      {"an infinite scale", ATTNKERN_ERROR_INVALID_ARGUMENT, "scale", [](auto& a) { a.scale = INFINITY; }},
      {"an unknown alignment", ATTNKERN_ERROR_INVALID_ARGUMENT, "align", [](auto& a) { a.align = 7; }},
      {"a negative dtype", ATTNKERN_ERROR_INVALID_ARGUMENT, "k_dtype", [](auto& a) { a.k_dtype = -1; }},
      {"an unknown bias dtype", ATTNKERN_ERROR_INVALID_ARGUMENT, "bias_dtype", [](auto& a) { a.bias_dtype = 3; }},
      {"an unknown dtype", ATTNKERN_ERROR_INVALID_ARGUMENT, "out_dtype", [](auto& a) { a.out_dtype = 9; }},
      {"struct_size 0", ATTNKERN_ERROR_INVALID_ARGUMENT, "struct_size", [](auto& a) { a.struct_size = 0; }},
      {"a struct_size of no version (not read past)", ATTNKERN_ERROR_INVALID_ARGUMENT, "struct_size",
       [](auto& a) { a.struct_size = std::size_t(1) << 40; }},
      {"a null K", ATTNKERN_ERROR_NULL_POINTER, "k", [](auto& a) { a.k = nullptr; }},
      {"out overlapping q", ATTNKERN_ERROR_ALIASING, "out overlaps q", [&](auto& a) { a.out = q.data(); }},
      {"a length past kv_len", ATTNKERN_ERROR_INVALID_LENGTH, "kv_lengths[0]", [&](auto& a) { a.kv_lengths = &too_long; }},
      {"a start past the length", ATTNKERN_ERROR_INVALID_LENGTH, "kv_starts[0]",
       [&](auto& a) { a.kv_starts = &start, a.kv_lengths = &end; }},
      {"a stride whose span overflows", ATTNKERN_ERROR_INVALID_SIZE, "q spans",
       [](auto& a) { a.q_strides.head = INT64_MAX / 2; }},
      {"an lse row stride of 0", ATTNKERN_ERROR_ALIASING, "lse_strides.seq", [](auto& a) { a.lse_strides.seq = 0; }},
      {"an lse head stride of 0", ATTNKERN_ERROR_ALIASING, "lse_strides.head", [](auto& a) { a.lse_strides.head = 0; }},
      {"lse strides whose rows overlap", ATTNKERN_ERROR_ALIASING, "lse_strides.head",
       [](auto& a) { a.lse_strides.head = static_cast<int64_t>(T) - 1; }},
      {"a negative lse stride", ATTNKERN_ERROR_INVALID_ARGUMENT, "lse_strides.seq", [](auto& a) { a.lse_strides.seq = -1; }},
      {"lse overlapping out", ATTNKERN_ERROR_ALIASING, "lse overlaps out", [&](auto& a) { a.lse = out.data() + 5; }},
      {"lse overlapping q", ATTNKERN_ERROR_ALIASING, "lse overlaps q", [&](auto& a) { a.lse = q.data(); }},
      {"lse overlapping k", ATTNKERN_ERROR_ALIASING, "lse overlaps k", [&](auto& a) { a.lse = k.data() + 3; }},
      {"lse overlapping the bias", ATTNKERN_ERROR_ALIASING, "lse overlaps bias",
       [&](auto& a) { a.bias = lse.data(), a.bias_strides = {0, 0, 0}; }},
  };
  check_refusals(table, base, attnkern_attention, out, lse);
  // a window of any width (INT64_MAX: no window at all) gives the unwindowed bits
  {
    std::vector<float> plain(out.size()), wide(out.size());
    attnkern_attention_args a = base();
    a.out = plain.data();
    REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
    a.out = wide.data(), a.window = 1, a.window_left = a.window_right = INT64_MAX;
    REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
    REQUIRE(same_bits(plain, wide));
    // and the reference sees every key through it (d +- INT64_MAX overflowed there: UndefinedBehaviorSanitizer)
    attnkern::reference::attention_problem<double> p{};
    p.batch = 1, p.q_len = p.kv_len = T, p.window = true, p.bottom_right = true;
    p.window_left = p.window_right = static_cast<std::size_t>(INT64_MAX);
    for (std::size_t i = 0; i < T; ++i)
      for (std::size_t j = 0; j < T; ++j) REQUIRE(p.sees(0, i, j));
  }
  // a larger struct (a newer header's): zeros past this version's fields are fine, anything else is not
  struct newer {
    attnkern_attention_args a;
    int64_t future;
  } n{};
  n.a = base();
  n.a.struct_size = sizeof n;
  REQUIRE(attnkern_attention(&n.a) == ATTNKERN_OK);
  n.future = 1;
  REQUIRE(attnkern_attention(&n.a) == ATTNKERN_ERROR_UNSUPPORTED);
  REQUIRE(attnkern_attention(nullptr) == ATTNKERN_ERROR_NULL_POINTER);
  // the C++ wrapper throws the failure in full
  attnkern_attention_args a = base();
  a.kv_heads = 3;
  try {
    attnkern::attention(a);
    FAIL("no exception");
  } catch (const attnkern::error& e) {
    REQUIRE(e.status() == ATTNKERN_ERROR_INVALID_ARGUMENT);
    REQUIRE(std::string(e.what()).find("q_heads = 4 is not a multiple of kv_heads = 3") != std::string::npos);
  }
}

TEST_CASE("sdpa: values near FLT_MAX do not overflow where the result is finite, every path", "[attention_api][sdpa]") {
  // (the defect: the SIMD paths summed p v in float and gave +inf for two keys of 3e38)
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    for (std::size_t keys : {std::size_t(2), std::size_t(64), std::size_t(511), std::size_t(512), std::size_t(1100)}) {
      for (float big : {3e38f, -3e38f, std::numeric_limits<float>::max()}) {
        INFO(keys << " keys of equal score, v = " << big);
        const std::vector<float> q(1, 0.0f), k(keys, 0.0f), v(keys, big);
        float out = 0;
        REQUIRE(attnkern_sdpa_f32(q.data(), k.data(), v.data(), nullptr, 1, 1, keys, 1, 1, 1.0f, 0, &out) == ATTNKERN_OK);
        REQUIRE(std::isfinite(out));
        REQUIRE(std::fabs(out - big) <= sdpa_max_error(1, 0.0, keys) * std::fabs(big));
      }
    }
  }
}

namespace {

// ALiBi's slopes for n heads and a maximum bias (the ALiBi paper's geometric sequence, as ggml's
// max_bias defines it): with n2 the largest power of two <= n, head h < n2 gets m0^(h + 1), m0 =
// 2^(-max_bias / n2); the others m1^(2 (h - n2) + 1), m1 = 2^(-max_bias / 2 / n2).
std::vector<float> alibi_slopes(std::size_t n, float max_bias) {
  std::size_t n2 = 1;
  while (n2 * 2 <= n) n2 *= 2;
  const double m0 = std::pow(2.0, -static_cast<double>(max_bias) / static_cast<double>(n2));
  const double m1 = std::pow(2.0, -static_cast<double>(max_bias) / 2.0 / static_cast<double>(n2));
  std::vector<float> s(n);
  for (std::size_t h = 0; h < n; ++h)
    s[h] = static_cast<float>(h < n2 ? std::pow(m0, static_cast<double>(h + 1)) : std::pow(m1, static_cast<double>(2 * (h - n2) + 1)));
  return s;
}

}  // namespace

TEST_CASE("attention: ggml's flash_attn_ext geometries in one call each (f32 and f16 K/V and mask): mask, ALiBi, softcap, sinks, GQA",
          "[attention_api][peers]") {
  // ggml's tensors: q [head_dim, n_q, heads, 1] and k, v [head_dim, n_kv, kv_heads, 1] (BHSD), the
  // mask [n_kv, n_q] shared by every head (a bias with head stride 0), ALiBi as per-head scales of
  // that mask, the output [head_dim, heads, n_q] (heads inside a row: BSHD).
  int cases = 0, index = 0;
  const int every = reduced(1, 9);  // (reduced: every 9th case, 43 of them, every variant among them)
  for (std::size_t hs : {40, 64, 72, 128})
    for (std::size_t nr : {1, 4})
      for (std::size_t kv : {113, 512})
        for (std::size_t nb : {1, 3, 32})
          for (int variant = 0; variant < 8; ++variant) {
            if (index++ % every != 0) continue;
            const bool f16 = variant >= 4;  // (ggml's f16 path: K, V and the mask in f16)
            const bool mask = variant % 4 != 0, alibi = variant % 4 == 2, softcap = variant % 4 == 3, sinks = variant % 4 >= 2;
            const std::size_t nh = 4, H = nh * nr;
            const uint32_t seed = static_cast<uint32_t>(hs * 1000 + nr * 100 + kv + nb * 7 + static_cast<std::size_t>(variant));
            INFO("hs " << hs << " heads " << H << "/" << nh << " kv " << kv << " n_q " << nb << (mask ? " mask" : "")
                       << (alibi ? " max_bias 8" : "") << (softcap ? " softcap 10" : "") << (sinks ? " sinks" : "")
                       << (f16 ? " f16" : " f32"));
            const auto q = uniform(H * nb * hs, -1, 1, seed);
            auto k = uniform(nh * kv * hs, -1, 1, seed + 1), v = uniform(nh * kv * hs, -1, 1, seed + 2);
            std::vector<float> bias = uniform(nb * kv, -1, 1, seed + 3);
            for (std::size_t i = 0; i < bias.size(); i += 11) bias[i] = -INFINITY;
            std::vector<uint16_t> k16, v16, bias16;
            auto to_f16 = [](std::vector<float>& x, std::vector<uint16_t>& h) {  // (x becomes the values h holds)
              using namespace attnkern::kernels;
              for (float& e : x) {
                h.push_back(float_to_f16_bits(e));
                e = to_float(f16_t{h.back()});
              }
            };
            if (f16) to_f16(k, k16), to_f16(v, v16), to_f16(bias, bias16);
            const std::vector<float> slopes = alibi_slopes(H, 8.0f), sink = uniform(H, -2, 2, seed + 4);
            std::vector<float> out(nb * H * hs), lse(H * nb);
            attnkern_attention_args a;
            attnkern_attention_args_init(&a);
            a.batch = 1, a.q_heads = H, a.kv_heads = nh, a.q_len = nb, a.kv_len = kv, a.head_dim = a.value_dim = hs;
            a.q = q.data(), a.q_strides = attnkern_strides_bhsd(H, nb, hs);
            a.k = k.data(), a.k_strides = attnkern_strides_bhsd(nh, kv, hs);
            a.v = v.data(), a.v_strides = attnkern_strides_bhsd(nh, kv, hs);
            a.out = out.data(), a.out_strides = attnkern_strides_bshd(H, nb, hs);
            a.lse = lse.data(), a.lse_strides = attnkern_strides_bhsd(H, nb, 1);
            a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hs)));
            if (mask) a.bias = bias.data(), a.bias_strides = {0, 0, static_cast<int64_t>(kv)};
            if (f16) {
              a.k = k16.data(), a.v = v16.data(), a.k_dtype = a.v_dtype = ATTNKERN_F16;
              if (mask) a.bias = bias16.data(), a.bias_dtype = ATTNKERN_F16;
            }
            if (alibi) a.bias_head_scales = slopes.data();
            if (softcap) a.softcap = 10.0f;
            if (sinks) a.sinks = sink.data();
            REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
            // the oracle, in BHSD order
            const std::vector<double> qd(q.begin(), q.end()), kd(k.begin(), k.end()), vd(v.begin(), v.end()),
                bd(bias.begin(), bias.end()), sd(slopes.begin(), slopes.end()), snd(sink.begin(), sink.end());
            attnkern::reference::attention_problem<double> p{};
            p.q = {qd.data(), H * nb * hs, nb * hs, hs};
            p.k = {kd.data(), nh * kv * hs, kv * hs, hs};
            p.v = {vd.data(), nh * kv * hs, kv * hs, hs};
            p.batch = 1, p.q_heads = H, p.kv_heads = nh, p.q_len = nb, p.kv_len = kv, p.head_dim = p.value_dim = hs;
            p.scale = a.scale;
            if (mask) p.bias = bd.data(), p.bias_row_stride = kv;
            if (alibi) p.bias_head_scales = sd.data();
            if (softcap) p.softcap = 10.0;
            if (sinks) p.sinks = snd.data();
            std::vector<double> want(H * nb * hs), want_lse(H * nb);
            attnkern::reference::attention(p, want.data(), want_lse.data());
            double worst = 0;
            for (std::size_t h = 0; h < H; ++h)
              for (std::size_t i = 0; i < nb; ++i) {
                std::size_t n = 0;
                double sigma = 0;
                for (std::size_t j = 0; j < kv; ++j) {
                  if (!p.sees(0, h, i, j)) continue;
                  ++n;
                  double dot = 0;
                  for (std::size_t x = 0; x < hs; ++x) dot += std::fabs(qd[(h * nb + i) * hs + x] * kd[(h / nr * kv + j) * hs + x]);
                  sigma = std::max(sigma, a.scale * dot + (mask ? std::fabs(bd[i * kv + j] * (alibi ? sd[h] : 1.0)) : 0.0));
                }
                const double allowed = attention_max_error(hs, sigma, n) + attention_abs_floor;  // (max|v| <= 1)
                for (std::size_t x = 0; x < hs; ++x)
                  worst = worse(worst, std::fabs(out[(i * H + h) * hs + x] - want[(h * nb + i) * hs + x]) / allowed);
                worst = worse(worst, std::fabs(lse[h * nb + i] - want_lse[h * nb + i]) / lse_max_error(hs + 7, sigma, n + 1));
              }
            INFO("worst error: " << worst << " of the bound");
            REQUIRE(worst <= 1.0);
            ++cases;
          }
  REQUIRE(cases == (384 + every - 1) / every);
}
