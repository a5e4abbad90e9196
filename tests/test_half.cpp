// The widening of f16 and bf16 K and V, value by value: every one of the 65536 bit patterns of each
// type against the scalar conversion of kernels/simd/dtype.hpp (the reference: f16 -> float and
// bf16 -> float are exact, so the bits must be equal; a NaN must stay a NaN).
//  - The SIMD loads themselves (kernels/simd/half.hpp, transpose.hpp), for this file's own
//    architecture: NEON on aarch64 (fcvtl, ushll), SSE2 on x86-64 (the library's avx2 and avx512
//    loads are reached through the API below).
//  - Through attnkern_attention on every path, both kernel shapes: V's values come out unchanged
//    from a row that sees one key (p = 1), K's as that row's lse (a one-hot q picks one column).
#include <attnkern/attnkern.h>

#include "simd/half.hpp"       // (kernels/)
#include "simd/transpose.hpp"  // (kernels/)
#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

using namespace attnkern_test;

namespace {

using attnkern::kernels::bf16_t;
using attnkern::kernels::f16_t;

float reference_value(uint16_t h, int32_t t) {
  return t == ATTNKERN_F16 ? attnkern::kernels::to_float(f16_t{h}) : attnkern::kernels::to_float(bf16_t{h});
}

// got equals the reference for pattern h bit for bit, or both are NaN.
bool widened_right(float got, uint16_t h, int32_t t) {
  const float want = reference_value(h, t);
  return std::isnan(want) ? std::isnan(got) : bits(got) == bits(want);
}

// Every bit pattern of type T (f16_t or bf16_t) through the loads of this file's SIMD architecture.
template <class T>
void check_simd_widening(int32_t t) {
  using V = xsimd::batch<float>;  // the default architecture of this file's flags
  constexpr std::size_t W = V::size;
  std::vector<T> all(65536 + W);
  for (std::size_t i = 0; i < all.size(); ++i) all[i].bits = static_cast<uint16_t>(i);
  alignas(64) float lanes[W];
  std::size_t wrong = 0;
  auto check = [&](float got, std::size_t i, const char* what) {
    if (widened_right(got, all[i].bits, t)) return;
    if (++wrong <= 5)
      FAIL_CHECK(what << ": pattern 0x" << std::hex << all[i].bits << " gave bits 0x" << bits(got) << ", the scalar reference 0x"
                      << bits(reference_value(all[i].bits, t)) << std::dec);
  };
  for (std::size_t i = 0; i < 65536; i += W) {  // whole vectors
    attnkern::simd::load_elems<V>(all.data() + i).store_aligned(lanes);
    for (std::size_t l = 0; l < W; ++l) check(lanes[l], i + l, "load_elems");
  }
  for (std::size_t n = 1; n <= W; ++n)  // partial vectors at every offset modulo W
    for (std::size_t i = n; i < 65536; i += 4 * W + 1) {
      attnkern::simd::load_elems_some<V>(all.data() + i, n).store_aligned(lanes);
      for (std::size_t l = 0; l < W; ++l)
        if (l < n)
          check(lanes[l], i + l, "load_elems_some");
        else if (bits(lanes[l]) != 0)
          FAIL_CHECK("load_elems_some: lane " << l << " of " << n << " is not +0");
    }
  std::vector<float> row(65536);  // a whole row, then its odd tail
  attnkern::simd::widen_row<V>(all.data() + 1, row.data(), 65535);
  for (std::size_t i = 0; i < 65535; ++i) check(row[i], i + 1, "widen_row");
  // tiles of W x W widened elements transposed (the decode shape's sums of its dot products' lanes)
  for (std::size_t base = 0; base + W * W <= 65536; base += W * W) {
    V tile[W];
    for (std::size_t r = 0; r < W; ++r) tile[r] = attnkern::simd::load_elems<V>(all.data() + base + r * W);
    attnkern::simd::transpose(tile);
    for (std::size_t c = 0; c < W; ++c) {
      tile[c].store_aligned(lanes);
      for (std::size_t l = 0; l < W; ++l) check(lanes[l], base + l * W + c, "transpose");
    }
  }
  CHECK(wrong == 0);
}

// The f32 row [b, h, i] of a BHSD tensor of `heads` heads of `seq` rows of `dim`.
attnkern_strides bhsd(std::size_t heads, std::size_t seq, std::size_t dim) { return attnkern_strides_bhsd(heads, seq, dim); }

// V holds every pattern of type t (256 items of 256 values each; one key per item): every row of
// every item sees its one key, so out = V's values, exactly (zeros may lose their sign: the sum
// starts from +0), but for bf16's smallest ones, below 2^-117, which the accumulator holds times
// sdpa_p_scale (2^-9) as subnormals (the tests above have them). q_len 1 takes the decode shape, 32
// (a multiple of every path's query block) the query-rows shape.
void check_values_through_attention(int32_t t, std::size_t q_len) {
  constexpr std::size_t items = 256, dv = 256, d = 4;
  std::vector<uint16_t> v(items * dv);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint16_t>(i);
  // (K zero: every score 0 exactly, on the scalar path too, whose double scores are rounded for the max)
  const std::vector<float> q = uniform(items * q_len * d, -1, 1, 5), k(items * d, 0.0f);
  std::vector<float> out(items * q_len * dv);
  attnkern_attention_args a;
  attnkern_attention_args_init(&a);
  a.batch = items, a.q_heads = a.kv_heads = 1, a.q_len = q_len, a.kv_len = 1, a.head_dim = d, a.value_dim = dv;
  a.q = q.data(), a.q_strides = bhsd(1, q_len, d);
  a.k = k.data(), a.k_strides = bhsd(1, 1, d);
  a.v = v.data(), a.v_strides = bhsd(1, 1, dv), a.v_dtype = t;
  a.out = out.data(), a.out_strides = bhsd(1, q_len, dv);
  a.q_dtype = a.k_dtype = a.out_dtype = ATTNKERN_F32;
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::fill(out.begin(), out.end(), -7.0f);
    REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
    std::size_t wrong = 0;
    for (std::size_t b = 0; b < items; ++b)
      for (std::size_t i = 0; i < q_len; ++i)
        for (std::size_t e = 0; e < dv; ++e) {
          const uint16_t h = v[b * dv + e];
          const float got = out[(b * q_len + i) * dv + e], want = reference_value(h, t);
          if (want != 0 && std::fabs(want) < 0x1p-117f) continue;  // (below, v times sdpa_p_scale is subnormal)
          if (widened_right(got, h, t) || (want == 0 && got == 0)) continue;  // (-0 sums to +0)
          if (++wrong <= 5)
            FAIL_CHECK("isa " << isa << ", q_len " << q_len << ": V pattern 0x" << std::hex << h << " came out as 0x" << bits(got)
                              << ", not 0x" << bits(reference_value(h, t)) << std::dec);
        }
    CHECK(wrong == 0);
  }
}

// K holds every finite pattern of type t, d of them per key; query row c of an item is the one-hot
// e_c and the scale 1, so its one score is K's element c, exactly (0 times a finite value adds
// +0 or -0 to the chain, which changes nothing but a zero's sign), and its lse is that score.
void check_keys_through_attention(int32_t t) {
  constexpr std::size_t d = 32;  // q_len = d rows: the query-rows shape on every path
  std::vector<uint16_t> finite;
  for (uint32_t h = 0; h < 65536; ++h)
    if (std::isfinite(reference_value(static_cast<uint16_t>(h), t))) finite.push_back(static_cast<uint16_t>(h));
  const std::size_t items = (finite.size() + d - 1) / d;
  finite.resize(items * d, 0);
  std::vector<float> q(d * d, 0.0f), v(items, 1.0f), out(items * d), lse(items * d);
  for (std::size_t c = 0; c < d; ++c) q[c * d + c] = 1.0f;
  attnkern_attention_args a;
  attnkern_attention_args_init(&a);
  a.batch = items, a.q_heads = a.kv_heads = 1, a.q_len = d, a.kv_len = 1, a.head_dim = d, a.value_dim = 1;
  a.q = q.data(), a.q_strides = attnkern_strides{0, 0, static_cast<int64_t>(d)};  // the same q for every item
  a.k = finite.data(), a.k_strides = bhsd(1, 1, d), a.k_dtype = t;
  a.v = v.data(), a.v_strides = bhsd(1, 1, 1);
  a.out = out.data(), a.out_strides = bhsd(1, d, 1);
  a.lse = lse.data(), a.lse_strides = bhsd(1, d, 1);
  a.scale = 1.0f;
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::fill(lse.begin(), lse.end(), -7.0f);
    REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < finite.size(); ++i) {
      const float want = reference_value(finite[i], t), got = lse[i];
      if (got == want) continue;  // (a zero key's score may be +0 or -0)
      if (++wrong <= 5)
        FAIL_CHECK("isa " << isa << ": K pattern 0x" << std::hex << finite[i] << " gave the score " << std::hexfloat << got
                          << ", not " << want << std::defaultfloat << std::dec);
    }
    CHECK(wrong == 0);
  }
}

}  // namespace

TEST_CASE("half: every f16 and bf16 value widens to the scalar reference's bits in this file's SIMD loads (NEON on aarch64)",
          "[half]") {
  SECTION("f16") { check_simd_widening<f16_t>(ATTNKERN_F16); }
  SECTION("bf16") { check_simd_widening<bf16_t>(ATTNKERN_BF16); }
}

TEST_CASE("half: every f16 and bf16 value of V comes out of a one-key row unchanged, both shapes, every path", "[half]") {
  for (int32_t t : {ATTNKERN_F16, ATTNKERN_BF16})
    for (std::size_t q_len : {std::size_t(1), std::size_t(32)}) check_values_through_attention(t, q_len);
}

TEST_CASE("half: every finite f16 and bf16 value of K is its one-key row's score, every path", "[half]") {
  for (int32_t t : {ATTNKERN_F16, ATTNKERN_BF16}) check_keys_through_attention(t);
}
