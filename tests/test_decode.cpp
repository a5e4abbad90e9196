// The decode shape of attnkern_attention (kernels/isa/attention/attention_decode.hpp: units of a few query rows,
// head_dim across the lanes) against the query-rows shape (isa/attention/attention_kernel.hpp), on every ISA path:
//  - bits: every row of a causal prefill of T rows equals, bit for bit, the same row computed in
//    calls of 1 to 17 rows (decode, speculative decoding, small chunks), with GQA ratios 1 to 32,
//    batches of 1 and 2, key lengths around the block (64) and the chunk (512), BHSD and BSHD, and
//    every modifier: softcap, bias (f32, f16 or bf16, with -inf, scaled per head or not), ALiBi,
//    mask, sinks, sliding window, key starts and lengths (the keys outside them NaN); lse included;
//    q, K/V and out in f32, f16 or bf16;
//  - a key that a mask or a -inf bias hides from some rows of a decode unit (the heads of a GQA
//    group), or that window_right hides from all of them, holding inf and NaN in K and V (f32, f16
//    or bf16), changes no bit of those rows.
// (The accuracy of both shapes against the float64 reference: test_attention_api.cpp's random cases,
// whose q_len and group sizes make units of both shapes.)
#include <attnkern/attnkern.h>

#include "support.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

using namespace attnkern_test;

namespace {

const float not_a_number = std::numeric_limits<float>::quiet_NaN();

struct decode_case {
  std::size_t B = 1, Hq = 1, Hk = 1, T = 20, K = 100, d = 64, dv = 64;
  bool bshd = false, window = false;
  std::size_t left = 0;
  std::vector<int32_t> starts;   // [B]
  std::vector<int32_t> lengths;  // [B] or empty: each item's keys end at its own length L_b <= K
  float softcap = 0;
  std::vector<float> q, k, v, bias, bias_scales, slopes, sinks;
  std::vector<unsigned char> mask;
  int32_t q_type = ATTNKERN_F32, kv_type = ATTNKERN_F32, out_type = ATTNKERN_F32;  // (attnkern_dtype)
  int32_t bias_type = ATTNKERN_F32;
  std::vector<uint16_t> q_half, k_half, v_half, bias_half;  // in their half type, when they have one

  std::string describe() const {
    std::ostringstream o;
    o << (bshd ? "BSHD" : "BHSD") << " batch " << B << " heads " << Hq << "/" << Hk << " T " << T << " kv_len " << K
      << " d " << d << "/" << dv << " starts";
    for (int32_t x : starts) o << " " << x;
    if (!lengths.empty()) o << " lengths";
    for (int32_t x : lengths) o << " " << x;
    if (window) o << " window " << left;
    if (softcap > 0) o << " softcap " << softcap;
    const char* names[] = {"f32", "f16", "bf16"};
    if (!bias.empty()) o << " bias " << names[bias_type] << (bias_scales.empty() ? "" : " scaled per head");
    if (!slopes.empty()) o << " ALiBi";
    if (!mask.empty()) o << " mask";
    if (!sinks.empty()) o << " sinks";
    o << " q " << names[q_type] << " k, v " << names[kv_type] << " out " << names[out_type];
    return o.str();
  }

  attnkern_strides strides(std::size_t heads, std::size_t seq, std::size_t dim) const {
    return bshd ? attnkern_strides_bshd(heads, seq, dim) : attnkern_strides_bhsd(heads, seq, dim);
  }

  // Query rows [i0, i0 + n) of every item and head, as their own causal call aligned bottom-right
  // against the keys [0, K - T + i0 + n) (item b's against [starts[b], L_b - T + i0 + n), so that
  // each row keeps its diagonal): out [B, Hq, n, dv] and lse [B, Hq, n].
  void rows(std::size_t i0, std::size_t n, std::vector<float>& out, std::vector<float>& lse) const {
    out.assign(B * Hq * n * dv, not_a_number);
    lse.assign(B * Hq * n, not_a_number);
    std::vector<uint16_t> out_half(out_type == ATTNKERN_F32 ? 0 : out.size());
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = B, a.q_heads = Hq, a.kv_heads = Hk, a.q_len = n, a.kv_len = K - T + i0 + n;
    a.head_dim = d, a.value_dim = dv;
    a.q_strides = strides(Hq, T, d);
    const std::size_t q0 = i0 * static_cast<std::size_t>(a.q_strides.seq);
    a.q = q_half.empty() ? static_cast<const void*>(q.data() + q0) : q_half.data() + q0;
    a.k = k_half.empty() ? static_cast<const void*>(k.data()) : k_half.data(), a.k_strides = strides(Hk, K, d);
    a.v = v_half.empty() ? static_cast<const void*>(v.data()) : v_half.data(), a.v_strides = strides(Hk, K, dv);
    a.out = out_half.empty() ? static_cast<void*>(out.data()) : out_half.data();
    a.out_strides = attnkern_strides_bhsd(Hq, n, dv);
    a.q_dtype = q_type, a.k_dtype = a.v_dtype = kv_type, a.out_dtype = out_type;
    a.lse = lse.data(), a.lse_strides = attnkern_strides_bhsd(Hq, n, 1);
    a.causal = 1, a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
    a.window = window, a.window_left = static_cast<int64_t>(left);
    a.kv_starts = starts.data();
    std::vector<int32_t> ends;
    for (int32_t L : lengths) ends.push_back(L - static_cast<int32_t>(T - i0 - n));
    a.kv_lengths = ends.empty() ? nullptr : ends.data();
    a.softcap = softcap;
    const attnkern_strides scores{static_cast<int64_t>(Hq * T * K), static_cast<int64_t>(T * K), static_cast<int64_t>(K)};
    if (!bias.empty()) {
      a.bias = bias_half.empty() ? static_cast<const void*>(bias.data() + i0 * K) : bias_half.data() + i0 * K;
      a.bias_strides = scores, a.bias_dtype = bias_type;
    }
    if (!bias_scales.empty()) a.bias_head_scales = bias_scales.data();
    if (!mask.empty()) a.mask = mask.data() + i0 * K, a.mask_strides = scores;
    if (!slopes.empty()) a.alibi_slopes = slopes.data();
    if (!sinks.empty()) a.sinks = sinks.data();
    const attnkern_status status = attnkern_attention(&a);
    INFO(attnkern_last_error_message());
    REQUIRE(status == ATTNKERN_OK);
    from_half(out_half, out_type, out);
  }
};

decode_case random_decode_case(uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t lo, std::size_t hi) { return std::uniform_int_distribution<std::size_t>(lo, hi)(rng); };
  decode_case c;
  const std::size_t groups[] = {1, 2, 4, 8, 32};
  c.B = pick(0, 2) == 0 ? 2 : 1;
  c.Hk = pick(1, 2);
  c.Hq = c.Hk * groups[pick(0, 4)];
  c.T = pick(18, 40);
  const std::size_t lens[] = {1, 63, 64, 65, 511, 512, 513, 1100};
  c.K = c.T + lens[pick(0, 7)] - 1;
  c.d = pick(1, 130);
  c.dv = pick(1, 130);
  c.bshd = pick(0, 1) == 1;
  const bool with_lengths = pick(0, 2) == 0;
  for (std::size_t b = 0; b < c.B; ++b) {
    c.starts.push_back(pick(0, 3) == 0 ? static_cast<int32_t>(pick(0, c.K - c.T)) : 0);
    // (a length keeps every call's range non-empty: L_b >= starts[b] + T - 1)
    if (with_lengths) c.lengths.push_back(static_cast<int32_t>(pick(static_cast<std::size_t>(c.starts[b]) + c.T - 1, c.K)));
  }
  if (pick(0, 2) == 0) c.window = true, c.left = pick(0, 700);
  std::uniform_real_distribution<float> small(-2.0f, 2.0f);
  if (pick(0, 2) == 0) c.softcap = std::uniform_real_distribution<float>(0.5f, 30.0f)(rng);
  if (pick(0, 2) == 0) {
    c.bias.resize(c.B * c.Hq * c.T * c.K);
    c.bias_type = static_cast<int32_t>(pick(0, 2));
    for (auto& x : c.bias) x = pick(0, 9) == 0 ? -INFINITY : small(rng);
    if (c.bias_type != ATTNKERN_F32) c.bias_half = to_half(c.bias, c.bias_type);
    if (pick(0, 1)) {
      c.bias_scales.resize(c.Hq);
      for (auto& x : c.bias_scales) x = std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
    }
  }
  if (pick(0, 2) == 0) {
    c.slopes.resize(c.Hq);
    for (std::size_t h = 0; h < c.Hq; ++h) c.slopes[h] = std::pow(2.0f, -8.0f * static_cast<float>(h + 1) / static_cast<float>(c.Hq));
  }
  if (pick(0, 2) == 0) {
    c.mask.resize(c.B * c.Hq * c.T * c.K);
    for (auto& x : c.mask) x = pick(0, 4) == 0 ? 0 : 1;
  }
  if (pick(0, 2) == 0) {
    c.sinks.resize(c.Hq);
    for (auto& x : c.sinks) x = small(rng);
  }
  c.q = uniform(c.B * c.Hq * c.T * c.d, -1, 1, seed + 1);
  c.k = uniform(c.B * c.Hk * c.K * c.d, -1, 1, seed + 2);
  c.v = uniform(c.B * c.Hk * c.K * c.dv, -2, 2, seed + 3);
  // keys outside an item's [start, length) are never read: NaN there
  const attnkern_strides ks = c.strides(c.Hk, c.K, c.d), vs = c.strides(c.Hk, c.K, c.dv);
  for (std::size_t b = 0; b < c.B; ++b)
    for (std::size_t j = 0; j < c.K; ++j) {
      if (j >= static_cast<std::size_t>(c.starts[b]) && (c.lengths.empty() || j < static_cast<std::size_t>(c.lengths[b])))
        continue;
      for (std::size_t h = 0; h < c.Hk; ++h) {
        for (std::size_t x = 0; x < c.d; ++x) c.k[b * ks.batch + h * ks.head + j * ks.seq + x] = not_a_number;
        for (std::size_t x = 0; x < c.dv; ++x) c.v[b * vs.batch + h * vs.head + j * vs.seq + x] = not_a_number;
      }
    }
  if (pick(0, 1) == 0) {  // half precision in half the cases
    c.q_type = static_cast<int32_t>(pick(0, 2)), c.kv_type = static_cast<int32_t>(pick(1, 2));
    c.out_type = static_cast<int32_t>(pick(0, 2));
    if (c.q_type != ATTNKERN_F32) c.q_half = to_half(c.q, c.q_type);
    c.k_half = to_half(c.k, c.kv_type);
    c.v_half = to_half(c.v, c.kv_type);
  }
  return c;
}

}  // namespace

TEST_CASE("decode: rows computed 1 to 17 at a time equal the prefill's rows bit for bit, every modifier, every path",
          "[attention_api][invariance][decode]") {
  const uint32_t cases = reduced(40u, 20u);  // (under qemu-user: half of them)
  for (uint32_t n = 0; n < cases; ++n) {
    const uint32_t seed = 9100u + n;
    const decode_case c = random_decode_case(seed);
    INFO("seed " << seed << ": " << c.describe());
    for (const auto& isa : available_isas()) {
      INFO("path " << isa);
      isa_scope scope(isa);
      std::vector<float> full, full_lse;
      c.rows(0, c.T, full, full_lse);
      std::mt19937 rng(seed);
      for (std::size_t rows = 1; rows <= 17; ++rows) {
        const std::size_t i0 = std::uniform_int_distribution<std::size_t>(0, c.T - rows)(rng);
        INFO("rows [" << i0 << ", " << i0 + rows << ")");
        std::vector<float> out, lse;
        c.rows(i0, rows, out, lse);
        for (std::size_t b = 0; b < c.B; ++b)
          for (std::size_t h = 0; h < c.Hq; ++h)
            for (std::size_t i = 0; i < rows; ++i) {
            INFO("item " << b << " head " << h << " row " << i0 + i);
            const std::size_t got_row = (b * c.Hq + h) * rows + i, want_row = (b * c.Hq + h) * c.T + i0 + i;
            const float* got = out.data() + got_row * c.dv;
            const float* want = full.data() + want_row * c.dv;
            REQUIRE(same_bits(std::vector<float>(got, got + c.dv), std::vector<float>(want, want + c.dv)));
            REQUIRE(bits(lse[got_row]) == bits(full_lse[want_row]));
          }
      }
    }
  }
}

TEST_CASE("decode: a key hidden from some heads of a GQA group by a mask, a -inf bias or window_right, holding inf and NaN in f32, f16 or bf16, changes none of their bits",
          "[attention_api][decode]") {
  const std::size_t G = 4, K = 150, d = 24, dv = 40;
  const auto q = uniform(G * d, -1, 1, 41), k = uniform(K * d, -1, 1, 42), v = uniform(K * dv, -2, 2, 43);
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    for (int32_t kv_type : {ATTNKERN_F32, ATTNKERN_F16, ATTNKERN_BF16}) {
      // how the key is hidden: 0 a mask, 1 a -inf bias (from the odd heads), 2 window_right (from every head)
      for (int by : {0, 1, 2}) {
        for (std::size_t hidden : {std::size_t(0), std::size_t(1), std::size_t(66), std::size_t(127), K - 1}) {
          if (by == 2 && hidden == 0) continue;  // (key 0 is the row's diagonal: always in its window)
          INFO((by == 0 ? "mask" : by == 1 ? "bias" : "window_right") << " hides key " << hidden << ", K/V "
                                                                        << (kv_type == ATTNKERN_F32 ? "f32" : kv_type == ATTNKERN_F16 ? "f16" : "bf16"));
          std::vector<unsigned char> mask(G * K, 1);
          std::vector<float> bias(G * K, 0.25f);
          for (std::size_t h = 1; h < G; h += 2) mask[h * K + hidden] = 0, bias[h * K + hidden] = -INFINITY;
          // window_right: one query row aligned top-left sits on key 0 and sees keys [0, right]
          auto run = [&](const std::vector<float>& kk, const std::vector<float>& vv, std::size_t right) {
            std::vector<float> out(G * dv, not_a_number);
            const std::vector<uint16_t> kh = kv_type == ATTNKERN_F32 ? std::vector<uint16_t>{} : to_half(kk, kv_type);
            const std::vector<uint16_t> vh = kv_type == ATTNKERN_F32 ? std::vector<uint16_t>{} : to_half(vv, kv_type);
            attnkern_attention_args a;
            attnkern_attention_args_init(&a);
            a.batch = 1, a.q_heads = G, a.kv_heads = 1, a.q_len = 1, a.kv_len = K, a.head_dim = d, a.value_dim = dv;
            a.q = q.data(), a.q_strides = attnkern_strides_bhsd(G, 1, d);
            a.k = kh.empty() ? static_cast<const void*>(kk.data()) : kh.data(), a.k_strides = attnkern_strides_bhsd(1, K, d);
            a.v = vh.empty() ? static_cast<const void*>(vv.data()) : vh.data(), a.v_strides = attnkern_strides_bhsd(1, K, dv);
            a.k_dtype = a.v_dtype = kv_type;
            a.out = out.data(), a.out_strides = attnkern_strides_bhsd(G, 1, dv);
            const attnkern_strides per_head{0, static_cast<int64_t>(K), 0};
            if (by == 0) a.mask = mask.data(), a.mask_strides = per_head;
            if (by == 1) a.bias = bias.data(), a.bias_strides = per_head;
            if (by == 2) a.window = 1, a.window_left = 0, a.window_right = static_cast<int64_t>(right);
            REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
            return out;
          };
          std::vector<float> k2 = k, v2 = v;
          for (std::size_t x = 0; x < d; ++x) k2[hidden * d + x] = x % 2 ? not_a_number : INFINITY;
          for (std::size_t x = 0; x < dv; ++x) v2[hidden * dv + x] = x % 2 ? INFINITY : not_a_number;
          const auto clean = run(k, v, hidden - 1), poisoned = run(k2, v2, hidden - 1);
          for (std::size_t h = 0; h < G; ++h) {
            INFO("head " << h);
            const std::vector<float> a(clean.begin() + static_cast<std::ptrdiff_t>(h * dv), clean.begin() + static_cast<std::ptrdiff_t>((h + 1) * dv));
            const std::vector<float> b(poisoned.begin() + static_cast<std::ptrdiff_t>(h * dv), poisoned.begin() + static_cast<std::ptrdiff_t>((h + 1) * dv));
            if (by == 2 || h % 2) {
              REQUIRE(same_bits(a, b));
            } else {
              REQUIRE(std::isnan(b[0]));
            }
          }
          if (by == 2) {  // (and a window that reaches the key sees it)
            const auto seen = run(k2, v2, hidden);
            for (std::size_t h = 0; h < G; ++h) REQUIRE(std::isnan(seen[h * dv]));
          }
        }
      }
    }
  }
}

TEST_CASE("decode: speculative rows (q_len 2 to 8, causal) are not reached by the inf and NaN of a key only later rows see",
          "[attention_api][decode]") {
  const std::size_t K = 140, d = 20, dv = 33;
  const auto q = uniform(8 * d, -1, 1, 51), k = uniform(K * d, -1, 1, 52), v = uniform(K * dv, -2, 2, 53);
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    for (std::size_t T = 2; T <= 8; ++T) {
      INFO("q_len " << T << ": key " << K - 1 << " (seen by the last row only) holds inf and NaN");
      auto run = [&](const std::vector<float>& kk, const std::vector<float>& vv) {
        std::vector<float> out(T * dv, not_a_number);
        attnkern_attention_args a;
        attnkern_attention_args_init(&a);
        a.batch = a.q_heads = a.kv_heads = 1, a.q_len = T, a.kv_len = K, a.head_dim = d, a.value_dim = dv;
        a.q = q.data(), a.q_strides = attnkern_strides_bhsd(1, T, d);
        a.k = kk.data(), a.k_strides = attnkern_strides_bhsd(1, K, d);
        a.v = vv.data(), a.v_strides = attnkern_strides_bhsd(1, K, dv);
        a.out = out.data(), a.out_strides = attnkern_strides_bhsd(1, T, dv);
        a.causal = 1, a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
        REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
        return out;
      };
      std::vector<float> k2 = k, v2 = v;
      for (std::size_t x = 0; x < d; ++x) k2[(K - 1) * d + x] = x % 2 ? not_a_number : INFINITY;
      for (std::size_t x = 0; x < dv; ++x) v2[(K - 1) * dv + x] = x % 2 ? INFINITY : not_a_number;
      const auto clean = run(k, v), poisoned = run(k2, v2);
      for (std::size_t i = 0; i + 1 < T; ++i) {
        INFO("row " << i);
        REQUIRE(same_bits(std::vector<float>(clean.begin() + static_cast<std::ptrdiff_t>(i * dv), clean.begin() + static_cast<std::ptrdiff_t>((i + 1) * dv)),
                          std::vector<float>(poisoned.begin() + static_cast<std::ptrdiff_t>(i * dv), poisoned.begin() + static_cast<std::ptrdiff_t>((i + 1) * dv))));
      }
      REQUIRE(std::isnan(poisoned[(T - 1) * dv]));
    }
  }
}
