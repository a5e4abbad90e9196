// Shared by fuzz_attention_api.cpp and fuzz_merge.cpp: an attnkern_attention call decoded from the
// fuzzer's bytes (every field of attnkern_attention_args), its tensors in their element types inside
// buffers whose gaps hold NaN, the float64 reference (attnkern::reference::attention) and each row's
// documented bound (attnkern/bounds.hpp; attnkern.h and docs/numerics.md say which applies).
//
// What the bytes choose: the ISA path; batch, q_heads / kv_heads (GQA ratios 1 to 8), q_len, kv_len,
// head_dim, value_dim (zeros included; one input in eight long: several 512-key chunks); per tensor
// its layout (BHSD, BSHD, padded BHSD or BSHD with odd strides, broadcast strides of 0 for the
// inputs, or q, K and V packed in one buffer) and its type (f32, f16, bf16: q, k, v, out and the
// bias each their own); the scale (0: the default); causal, aligned top-left or bottom-right; a
// window (left, right); kv_starts and kv_lengths at their edges; a byte mask and a bias (either type,
// -inf entries, broadcast strides) with bias_head_scales; ALiBi slopes; a softcap; sinks; lse (NULL
// or strided). Values: the fuzzer's bytes while they last (with NaN, +-0, denormals, +-1e4 among
// them), then a generator seeded by the input. K and V rows that no row sees (outside a batch item's
// [start, end), hidden by the mask, the window, the causal diagonal or a -inf bias) may hold NaN or
// +-inf: they may be read but change nothing.
#pragma once

#include <attnkern/attnkern.h>
#include <attnkern/bounds.hpp>
#include <attnkern/reference.hpp>

#include "simd/dtype.hpp"  // (kernels/: the exact conversions to and from f16 and bf16)
#include "fuzz_input.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace attnkern_fuzz {

// Values: the fuzzer's bytes while they last (input::value, specials included), then a xorshift
// generator seeded by the whole input (uniform, no specials: a NaN in every few hundred values would
// make nearly every row NaN). The call's other fields come from input::byte, past the input's end
// from its random_tail.
class value_source {
 public:
  value_source(input& in, const uint8_t* data, std::size_t size) : in_(in) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
    state_ = h | 1;
  }
  float next(float range) {
    if (in_.left() >= 3) return in_.value(range, true);
    return range * (static_cast<float>(random() >> 40) * 0x1p-23f - 1.0f);  // 2^24 steps in [-range, range)
  }
  uint64_t random() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

 private:
  input& in_;
  uint64_t state_;
};

inline bool is_half(int32_t t) { return t == ATTNKERN_F16 || t == ATTNKERN_BF16; }
inline std::size_t type_bytes(int32_t t) { return is_half(t) ? 2 : 4; }

// x rounded to nearest even in type t (attnkern_dtype), widened back to float: the value a tensor of
// that type holds.
inline uint16_t half_bits(float x, int32_t t) {
  using namespace attnkern::kernels;
  return t == ATTNKERN_F16 ? float_to_f16_bits(x) : float_to_bf16_bits(x);
}
inline float half_value(uint16_t h, int32_t t) {
  using namespace attnkern::kernels;
  return t == ATTNKERN_F16 ? to_float(f16_t{h}) : to_float(bf16_t{h});
}
inline float in_type(float x, int32_t t) { return is_half(t) ? half_value(half_bits(x, t), t) : x; }

// A buffer of elements of one type: the values as floats (f, what the tensor holds) and, for f16 and
// bf16, their bits (h).
struct buffer {
  int32_t type = ATTNKERN_F32;
  std::vector<float> f;
  std::vector<uint16_t> h;
  std::vector<double> d;  // (the oracle's copy, made by finish())
  void init(std::size_t n, int32_t t, float fill) {
    type = t;
    n = std::max<std::size_t>(n, 1);
    f.assign(n, in_type(fill, t));
    h.assign(is_half(t) ? n : 0, is_half(t) ? half_bits(fill, t) : 0);
  }
  void set(std::size_t i, float x) {
    if (is_half(type)) {
      h[i] = half_bits(x, type);
      f[i] = half_value(h[i], type);
    } else {
      f[i] = x;
    }
  }
  float get(std::size_t i) const { return is_half(type) ? half_value(h[i], type) : f[i]; }
  const void* data() const { return is_half(type) ? static_cast<const void*>(h.data()) : f.data(); }
  void* data() { return is_half(type) ? static_cast<void*>(h.data()) : f.data(); }
  std::size_t bytes() const { return is_half(type) ? h.size() * 2 : f.size() * 4; }
  void finish() { d.assign(f.begin(), f.end()); }
};

// A tensor [batch, heads, seq, dim] inside a buffer: offset and element strides.
struct view {
  std::size_t offset = 0;
  attnkern_strides st{0, 0, 0};
  std::size_t at(std::size_t b, std::size_t h, std::size_t s) const {
    return offset + b * static_cast<std::size_t>(st.batch) + h * static_cast<std::size_t>(st.head) +
           s * static_cast<std::size_t>(st.seq);
  }
};

// Elements from the first to the last of a tensor with these counts and strides (0 when empty).
inline std::size_t span(std::size_t batch, std::size_t heads, std::size_t seq, std::size_t dim, const attnkern_strides& s) {
  if (batch == 0 || heads == 0 || seq == 0 || dim == 0) return 0;
  return (batch - 1) * static_cast<std::size_t>(s.batch) + (heads - 1) * static_cast<std::size_t>(s.head) +
         (seq - 1) * static_cast<std::size_t>(s.seq) + dim;
}

enum layout_kind { bhsd, bshd, padded_bhsd, padded_bshd, broadcast, layout_kinds };
inline const char* layout_name(int l) {
  static const char* const names[] = {"BHSD", "BSHD", "padded BHSD", "padded BSHD", "broadcast"};
  return names[l];
}

// The strides of a layout (broadcast: an input's batch and/or head stride 0, else BHSD), pads 0 to 5
// elements per dimension for the padded ones.
inline attnkern_strides layout_strides(input& in, int kind, std::size_t heads, std::size_t seq, std::size_t dim) {
  std::size_t p0 = 0, p1 = 0, p2 = 0;
  if (kind == padded_bhsd || kind == padded_bshd) p0 = in.byte() % 6, p1 = in.byte() % 6, p2 = in.byte() % 6;
  if (kind == bshd || kind == padded_bshd) {
    const std::size_t head = dim + p0, row = heads * head + p1, batch = seq * row + p2;
    return {static_cast<int64_t>(batch), static_cast<int64_t>(head), static_cast<int64_t>(row)};
  }
  const std::size_t row = dim + p0, head = seq * row + p1, batch = heads * head + p2;
  attnkern_strides s{static_cast<int64_t>(batch), static_cast<int64_t>(head), static_cast<int64_t>(row)};
  if (kind == broadcast) {
    const uint8_t which = in.byte() % 3;
    if (which != 1) s.batch = 0;
    if (which != 0) s.head = 0;
  }
  return s;
}

// The documented bound of a row (attnkern.h, bounds.hpp), from the keys it sees: n of them, sigma =
// the largest |scale q.k| + |bias term| + |ALiBi term|, max_v = the largest |v| among their values.
struct row_stats {
  std::size_t n = 0;
  double sigma = 0, max_v = 0;
};

struct attention_case {
  // the call
  std::size_t batch = 1, q_heads = 1, kv_heads = 1, q_len = 0, kv_len = 0, head_dim = 0, value_dim = 0;
  int lq = bhsd, lk = bhsd, lv = bhsd, lo = bhsd, ll = bhsd;  // layouts (ll: lse's)
  bool packed = false;
  int32_t q_type = ATTNKERN_F32, k_type = ATTNKERN_F32, v_type = ATTNKERN_F32, out_type = ATTNKERN_F32,
          bias_type = ATTNKERN_F32;
  float scale = 0;
  bool causal = false, bottom_right = false, window = false;
  int64_t left = 0, right = 0;
  std::vector<int32_t> starts, lengths;  // empty: none
  float softcap = 0;
  bool has_bias = false, has_mask = false, has_lse = false;
  std::vector<float> bias_scales, slopes, sinks;  // empty: none
  // the tensors
  std::shared_ptr<buffer> qb, kb, vb;  // (one shared buffer when packed)
  view q, k, v;
  buffer bias;
  attnkern_strides bias_st{0, 0, 0}, mask_st{0, 0, 0};
  std::vector<uint8_t> mask;
  buffer out;  // (sentinel-filled)
  view o;
  std::vector<float> lse;
  view l;
  std::vector<double> scales_d, slopes_d, sinks_d;
  static constexpr float sentinel = 7.25f;

  bool modified() const { return softcap > 0 || has_bias || !slopes.empty(); }
  std::size_t group() const { return q_heads / kv_heads; }
  float used_scale() const {
    return scale != 0 ? scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim ? head_dim : 1)));
  }
  int64_t start_of(std::size_t b) const { return starts.empty() ? 0 : starts[b]; }
  int64_t end_of(std::size_t b) const { return lengths.empty() ? static_cast<int64_t>(kv_len) : lengths[b]; }

  std::string describe() const {
    static const char* const types[] = {"f32", "f16", "bf16"};
    std::string s = "batch " + std::to_string(batch) + " heads " + std::to_string(q_heads) + "/" + std::to_string(kv_heads) +
                    " q_len " + std::to_string(q_len) + " kv_len " + std::to_string(kv_len) + " d " +
                    std::to_string(head_dim) + "/" + std::to_string(value_dim);
    s += packed ? " packed QKV" : std::string(" q ") + layout_name(lq) + " k " + layout_name(lk) + " v " + layout_name(lv);
    s += std::string(" out ") + layout_name(lo) + " types " + types[q_type] + " " + types[k_type] + " " + types[v_type] +
         " out " + types[out_type];
    if (scale != 0) s += " scale " + std::to_string(scale);
    if (causal) s += bottom_right ? " causal bottom-right" : " causal top-left";
    if (window) s += " window " + std::to_string(left) + " " + std::to_string(right);
    if (!starts.empty()) s += " kv_starts";
    if (!lengths.empty()) s += " kv_lengths";
    if (softcap > 0) s += " softcap " + std::to_string(softcap);
    if (has_bias) s += std::string(" bias ") + types[bias_type] + (bias_scales.empty() ? "" : " scaled");
    if (!slopes.empty()) s += " ALiBi";
    if (has_mask) s += " mask";
    if (!sinks.empty()) s += " sinks";
    if (has_lse) s += std::string(" lse ") + layout_name(ll);
    return s;
  }

  // The call's arguments.
  attnkern_attention_args args() {
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = batch, a.q_heads = q_heads, a.kv_heads = kv_heads, a.q_len = q_len, a.kv_len = kv_len;
    a.head_dim = head_dim, a.value_dim = value_dim;
    a.q = static_cast<const char*>(qb->data()) + q.offset * type_bytes(q_type), a.q_strides = q.st;
    a.k = static_cast<const char*>(kb->data()) + k.offset * type_bytes(k_type), a.k_strides = k.st;
    a.v = static_cast<const char*>(vb->data()) + v.offset * type_bytes(v_type), a.v_strides = v.st;
    a.out = out.data(), a.out_strides = o.st;
    a.q_dtype = q_type, a.k_dtype = k_type, a.v_dtype = v_type, a.out_dtype = out_type;
    a.scale = scale;
    a.causal = causal;
    a.align = bottom_right ? ATTNKERN_ALIGN_BOTTOM_RIGHT : ATTNKERN_ALIGN_TOP_LEFT;
    a.window = window, a.window_left = left, a.window_right = right;
    a.kv_starts = starts.empty() ? nullptr : starts.data();
    a.kv_lengths = lengths.empty() ? nullptr : lengths.data();
    a.lse = has_lse ? lse.data() : nullptr, a.lse_strides = l.st;
    a.softcap = softcap;
    if (has_bias) a.bias = bias.data(), a.bias_strides = bias_st, a.bias_dtype = bias_type;
    a.bias_head_scales = bias_scales.empty() ? nullptr : bias_scales.data();
    a.alibi_slopes = slopes.empty() ? nullptr : slopes.data();
    if (has_mask) a.mask = mask.data(), a.mask_strides = mask_st;
    a.sinks = sinks.empty() ? nullptr : sinks.data();
    return a;
  }

  // The float64 reference's problem (the buffers' oracle copies must be made: finish()).
  attnkern::reference::attention_problem<double> problem() const {
    attnkern::reference::attention_problem<double> p{};
    auto t = [](const buffer& buf, const view& x) {
      return attnkern::reference::attention_problem<double>::tensor{
          buf.d.data() + x.offset, static_cast<std::size_t>(x.st.batch), static_cast<std::size_t>(x.st.head),
          static_cast<std::size_t>(x.st.seq)};
    };
    p.q = t(*qb, q), p.k = t(*kb, k), p.v = t(*vb, v);
    p.batch = batch, p.q_heads = q_heads, p.kv_heads = kv_heads, p.q_len = q_len, p.kv_len = kv_len;
    p.head_dim = head_dim, p.value_dim = value_dim;
    p.scale = static_cast<double>(used_scale());
    p.kv_starts = starts.empty() ? nullptr : starts.data();
    p.kv_lengths = lengths.empty() ? nullptr : lengths.data();
    p.causal = causal, p.bottom_right = bottom_right, p.window = window;
    // (clamped as the C API clamps them, to a width past every key: the reference's d + right would
    // overflow at INT64_MAX)
    const int64_t widest = static_cast<int64_t>(kv_len + q_len);
    p.window_left = static_cast<std::size_t>(std::min(left, widest)), p.window_right = static_cast<std::size_t>(std::min(right, widest));
    p.softcap = softcap;
    if (has_bias) {
      p.bias = bias.d.data();
      p.bias_batch_stride = static_cast<std::size_t>(bias_st.batch);
      p.bias_head_stride = static_cast<std::size_t>(bias_st.head);
      p.bias_row_stride = static_cast<std::size_t>(bias_st.seq);
    }
    p.bias_head_scales = scales_d.empty() ? nullptr : scales_d.data();
    p.alibi_slopes = slopes_d.empty() ? nullptr : slopes_d.data();
    if (has_mask) {
      p.mask = mask.data();
      p.mask_batch_stride = static_cast<std::size_t>(mask_st.batch);
      p.mask_head_stride = static_cast<std::size_t>(mask_st.head);
      p.mask_row_stride = static_cast<std::size_t>(mask_st.seq);
    }
    p.sinks = sinks_d.empty() ? nullptr : sinks_d.data();
    return p;
  }

  // n, sigma and max|v| of row (b, h, i) over the keys it sees for which `part(j)` holds.
  template <class Part>
  row_stats stats(const attnkern::reference::attention_problem<double>& p, std::size_t b, std::size_t h, std::size_t i,
                  Part part) const {
    row_stats r;
    const std::size_t g = h / group();
    const double sc = std::fabs(p.scale);
    for (std::size_t j = 0; j < kv_len; ++j) {
      if (!p.sees(b, h, i, j) || !part(j)) continue;
      ++r.n;
      double dot = 0;
      for (std::size_t c = 0; c < head_dim; ++c) dot += std::fabs(p.q.row(b, h, i)[c] * p.k.row(b, g, j)[c]);
      double term = sc * dot;
      if (p.bias) term += std::fabs(p.bias_at(b, h, i, j) * (p.bias_head_scales ? p.bias_head_scales[h] : 1.0));
      if (p.alibi_slopes)
        term += std::fabs(p.alibi_slopes[h] * static_cast<double>(static_cast<long long>(j) - p.diagonal(b, i)));
      if (!std::isnan(r.sigma) && !(term <= r.sigma)) r.sigma = term;  // (NaN stays: the row is NaN, and so is its bound)
      for (std::size_t e = 0; e < value_dim; ++e) r.max_v = std::max(r.max_v, std::fabs(p.v.row(b, g, j)[e]));
    }
    return r;
  }

  // A row's documented bounds, with or without its sink (`sink`: the sink counts as a key of this
  // call): without a softcap, bias or ALiBi, sdpa_max_error(head_dim, sigma, n) max|v| (a sink one more
  // key); with them attention_max_error (head_dim + 7, one more key for a sink); plus
  // attention_abs_floor; lse within lse_max_error (head_dim + 7 with them), a sink one more key.
  double out_bound(const row_stats& r, bool sink) const {
    const double e = modified() ? attnkern::bounds::attention_max_error(head_dim, r.sigma, r.n)
                                : attnkern::bounds::sdpa_max_error(head_dim, r.sigma, r.n + (sink ? 1 : 0));
    return e * r.max_v + attnkern::bounds::attention_abs_floor;
  }
  double lse_bound(const row_stats& r, bool sink) const {
    return attnkern::bounds::lse_max_error(modified() ? head_dim + 7 : head_dim, r.sigma, r.n + (sink ? 1 : 0));
  }
  // The rounding of an f16 or bf16 out (half_out_error max|v|, plus f16_out_floor for f16).
  double half_out_bound(const row_stats& r) const {
    if (!is_half(out_type)) return 0;
    return attnkern::bounds::half_out_error(out_type == ATTNKERN_BF16) * r.max_v +
           (out_type == ATTNKERN_F16 ? attnkern::bounds::f16_out_floor : 0.0);
  }

  float out_at(std::size_t b, std::size_t h, std::size_t i, std::size_t e) const { return out.get(o.at(b, h, i) + e); }
  float& lse_at(std::size_t b, std::size_t h, std::size_t i) { return lse[l.at(b, h, i)]; }
};

struct decode_options {
  bool half_out = true;      // out may be f16 or bf16 (the merge's parts: float only)
  bool lse_optional = true;  // lse may be NULL (the merge's parts: always there)
};

// Decodes an attention call from the fuzzer's bytes; the buffers filled, their oracle copies made.
inline attention_case decode_case(input& in, value_source& vs, const decode_options& opt) {
  attention_case c;
  const bool long_keys = in.byte() % 8 == 0;
  c.packed = in.byte() % 8 == 0;
  c.batch = long_keys ? 1 : 1 + in.below(3);
  c.kv_heads = 1 + in.below(long_keys ? 2 : 3);
  static const std::size_t groups[] = {1, 2, 3, 4, 8};
  c.q_heads = c.kv_heads * groups[in.below(5)];
  c.q_len = long_keys ? 1 + in.below(4) : in.below(20);
  c.kv_len = long_keys ? 500 + in.below(700) : in.below(100);
  c.head_dim = in.below(long_keys ? 17 : 41);
  c.value_dim = in.byte() % 16 == 0 ? 0 : 1 + in.below(long_keys ? 16 : 40);
  if (c.packed) c.kv_len = c.q_len, c.value_dim = c.head_dim;
  // (the float64 reference costs batch q_heads q_len kv_len (head_dim + value_dim): a few 10^5 at most)
  auto work = [&] { return c.batch * c.q_heads * c.q_len * c.kv_len * (c.head_dim + c.value_dim + 2); };
  while (work() > 400000 && c.q_len > 1) {
    c.q_len /= 2;
    if (c.packed) c.kv_len = c.q_len;
  }
  while (work() > 400000) c.kv_len /= 2;

  // types
  auto type = [&] { return static_cast<int32_t>(in.byte() % 3); };
  const bool halves = in.byte() % 2 == 0;  // (half the inputs keep every tensor in float)
  if (halves) {
    c.q_type = type(), c.k_type = type(), c.v_type = type();
    if (opt.half_out) c.out_type = type();
  }
  if (c.packed) c.k_type = c.v_type = c.q_type;

  // layouts
  const std::size_t B = c.batch, Hq = c.q_heads, Hk = c.kv_heads, d = c.head_dim, dv = c.value_dim;
  c.qb = std::make_shared<buffer>();
  if (c.packed) {  // [batch, seq, Hq + 2 Hk, d], one buffer
    c.kb = c.vb = c.qb;
    const std::size_t heads = Hq + 2 * Hk, row = heads * d + in.byte() % 3;
    const attnkern_strides s{static_cast<int64_t>(c.q_len * row), static_cast<int64_t>(d), static_cast<int64_t>(row)};
    c.q = {0, s}, c.k = {Hq * d, s}, c.v = {(Hq + Hk) * d, s};
    c.qb->init(B * c.q_len * row + heads * d, c.q_type, NAN);
  } else {
    c.kb = std::make_shared<buffer>();
    c.vb = std::make_shared<buffer>();
    c.lq = in.byte() % layout_kinds, c.lk = in.byte() % layout_kinds, c.lv = in.byte() % layout_kinds;
    c.q.st = layout_strides(in, c.lq, Hq, c.q_len, d);
    c.k.st = layout_strides(in, c.lk, Hk, c.kv_len, d);
    c.v.st = layout_strides(in, c.lv, Hk, c.kv_len, dv);
    // (an offset into the buffer now and then: the tensors need not start at its start)
    c.q.offset = in.byte() % 4 == 0 ? 3 : 0;
    c.qb->init(c.q.offset + span(B, Hq, c.q_len, d, c.q.st), c.q_type, NAN);
    c.kb->init(span(B, Hk, c.kv_len, d, c.k.st), c.k_type, NAN);
    c.vb->init(span(B, Hk, c.kv_len, dv, c.v.st), c.v_type, NAN);
  }
  c.lo = in.byte() % (layout_kinds - 1);  // (no broadcast: an output's rows may not overlap)
  c.o.st = layout_strides(in, c.lo, Hq, c.q_len, dv);
  c.out.init(span(B, Hq, c.q_len, dv, c.o.st), c.out_type, attention_case::sentinel);
  c.has_lse = !opt.lse_optional || in.byte() % 4 != 0;
  if (c.has_lse) {
    c.ll = in.byte() % (layout_kinds - 1);
    c.l.st = layout_strides(in, c.ll, Hq, c.q_len, 1);
  }
  c.lse.assign(std::max<std::size_t>(span(B, Hq, c.q_len, 1, c.l.st), 1), attention_case::sentinel);

  // the scale, masks and ranges
  const uint8_t scale_kind = in.byte() % 8;
  c.scale = scale_kind < 3 ? 0.0f
            : scale_kind == 3 ? 1.0f
            : scale_kind == 4 ? -0.5f
            : scale_kind == 5 ? 8.0f
            : scale_kind == 6 ? 1e-3f
                              : static_cast<float>(in.below(1000)) / 250.0f;
  c.causal = in.byte() % 2;
  c.bottom_right = in.byte() % 2;
  c.window = in.byte() % 3 == 0;
  if (c.window) {
    auto width = [&]() -> int64_t {
      const uint8_t w = in.byte() % 8;
      return w < 4 ? w : w == 4 ? 7 : w == 5 ? 64 : w == 6 ? static_cast<int64_t>(in.below(c.kv_len + c.q_len + 2)) : INT64_MAX;
    };
    c.left = width(), c.right = width();
  }
  const uint8_t ranges = in.byte() % 4;  // 1: lengths, 2: starts, 3: both
  auto edge = [&](std::size_t lo, std::size_t hi) {  // in [lo, hi], at an edge one time in two
    const uint8_t e = in.byte() % 4;
    return static_cast<int32_t>(e == 0 ? lo : e == 1 ? hi : lo + in.below(hi - lo + 1));
  };
  if (ranges & 1) {
    c.lengths.resize(B);
    for (auto& x : c.lengths) x = edge(0, c.kv_len);
  }
  if (ranges & 2) {
    c.starts.resize(B);
    for (std::size_t b = 0; b < B; ++b) c.starts[b] = edge(0, static_cast<std::size_t>(c.end_of(b)));
  }

  // the modifiers
  const uint8_t mods = in.byte();  // one bit each: softcap, bias, ALiBi, mask, sinks
  if (mods & 1) {
    static const float caps[] = {0.5f, 1.0f, 5.0f, 20.0f, 50.0f, 1e-2f, 1e3f};
    const uint8_t s = in.byte() % 8;
    c.softcap = s < 7 ? caps[s] : 0.25f + static_cast<float>(in.below(400)) / 8.0f;
  }
  auto broadcast_strides = [&](attnkern_strides& st) {  // [batch, q_heads, q_len, kv_len], dimensions of stride 0 now and then
    const std::size_t row = c.kv_len + in.byte() % 4, head = c.q_len * row, batch = Hq * head;
    const uint8_t z = in.byte();
    st = {z & 1 ? 0 : static_cast<int64_t>(batch), z & 2 ? 0 : static_cast<int64_t>(head), z & 4 ? 0 : static_cast<int64_t>(row)};
    return span(B, Hq, c.q_len, c.kv_len, st);
  };
  if (mods & 2) {
    c.has_bias = true;
    c.bias_type = type();
    const std::size_t n = broadcast_strides(c.bias_st);
    c.bias.init(n, c.bias_type, 0.0f);
    const uint8_t hide = in.byte() % 4;  // -inf: never, 1 in 8, 1 in 2, 7 in 8
    const bool specials = in.byte() % 4 == 0;  // NaN, +inf and large ones among the fuzzer's values
    const float range = in.byte() % 2 ? 2.0f : 30.0f;
    for (std::size_t x = 0; x < c.bias.f.size(); ++x) {
      const uint64_t r = vs.random();
      float value = vs.next(range);
      if (!specials && !std::isfinite(value)) value = 0.0f;
      if (!specials && std::fabs(value) > range) value = std::copysign(range, value);
      if (hide != 0 && r % 8 < (hide == 1 ? 1u : hide == 2 ? 4u : 7u)) value = -INFINITY;
      c.bias.set(x, value);
    }
    if (in.byte() % 2) {
      c.bias_scales.resize(Hq);
      for (auto& s : c.bias_scales) s = std::fabs(vs.next(1.0f)) * (in.byte() % 4 == 0 ? -1.0f : 1.0f);
      for (auto& s : c.bias_scales)
        if (!std::isfinite(s)) s = 0.5f;
    }
  }
  if (mods & 4) {
    c.slopes.resize(Hq);
    const bool geometric = in.byte() % 2;  // ALiBi's 2^(-8 (h + 1) / H), or fuzzed ones
    for (std::size_t h = 0; h < Hq; ++h)
      c.slopes[h] = geometric ? std::pow(2.0f, -8.0f * static_cast<float>(h + 1) / static_cast<float>(Hq)) : vs.next(1.0f);
    for (auto& s : c.slopes)
      if (!std::isfinite(s)) s = 0.25f;
  }
  if (mods & 8) {
    c.has_mask = true;
    c.mask.resize(std::max<std::size_t>(broadcast_strides(c.mask_st), 1));
    const uint8_t zeros = in.byte() % 4;  // 0 bytes: 1 in 8, 1 in 2, 7 in 8, all
    for (auto& m : c.mask) {
      const uint64_t r = vs.random();
      m = (zeros == 3 || r % 8 < (zeros == 0 ? 1u : zeros == 1 ? 4u : 7u)) ? 0 : static_cast<uint8_t>(1 + (r >> 8) % 255);
    }
  }
  if (mods & 16) {
    c.sinks.resize(Hq);
    for (auto& s : c.sinks) s = vs.next(4.0f);  // (NaN and +-1e4 among the fuzzer's values)
    const uint8_t inf_sink = in.byte() % 64;  // (now and then +-inf)
    if (inf_sink < 2) c.sinks[0] = inf_sink ? INFINITY : -INFINITY;
  }
  c.scales_d.assign(c.bias_scales.begin(), c.bias_scales.end());
  c.slopes_d.assign(c.slopes.begin(), c.slopes.end());
  c.sinks_d.assign(c.sinks.begin(), c.sinks.end());
  c.bias.finish();

  // the values: q everywhere; K and V rows that some row sees get values, the others (never read,
  // or hidden from every row that could read them) a poison: NaN, +-inf or values
  const float q_range = in.byte() % 4 == 0 ? 8.0f : 2.0f, v_range = 2.0f;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < Hq; ++h)
      for (std::size_t i = 0; i < c.q_len; ++i)
        for (std::size_t x = 0; x < d; ++x) c.qb->set(c.q.at(b, h, i) + x, vs.next(q_range));
  const uint8_t poison = in.byte() % 4;
  auto poisoned = [&](std::size_t x) -> float {
    if (poison == 0) return NAN;
    if (poison == 1) return x % 2 ? INFINITY : NAN;
    if (poison == 2) return x % 3 == 0 ? -INFINITY : x % 3 == 1 ? INFINITY : NAN;
    return vs.next(1.0f);
  };
  {
    c.qb->finish(), c.kb->finish(), c.vb->finish();  // (the mask and bias decide who sees what; q, K, V do not)
    const auto p = c.problem();
    std::vector<char> seen(Hk * c.kv_len * B, 0);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t h = 0; h < Hq; ++h)
        for (std::size_t i = 0; i < c.q_len; ++i)
          for (std::size_t j = 0; j < c.kv_len; ++j)
            if (p.sees(b, h, i, j)) seen[(b * Hk + h / c.group()) * c.kv_len + j] = 1;
    for (int pass = 0; pass < 2; ++pass)  // (poison first, then the values: broadcast rows shared with a seen one hold values)
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t g = 0; g < Hk; ++g)
          for (std::size_t j = 0; j < c.kv_len; ++j) {
            if ((seen[(b * Hk + g) * c.kv_len + j] != 0) != (pass == 1)) continue;
            for (std::size_t x = 0; x < d; ++x) c.kb->set(c.k.at(b, g, j) + x, pass ? vs.next(q_range) : poisoned(x));
            for (std::size_t x = 0; x < dv; ++x) {
              float value = pass ? vs.next(v_range) : poisoned(x + 1);
              if (pass && std::isinf(value)) value = 0.0f;  // (no infinite values: the order of sums decides between inf and NaN)
              c.vb->set(c.v.at(b, g, j) + x, value);
            }
          }
  }
  c.qb->finish(), c.kb->finish(), c.vb->finish();
  return c;
}

}  // namespace attnkern_fuzz
