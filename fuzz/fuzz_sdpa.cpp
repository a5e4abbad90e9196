// libFuzzer target: attnkern_sdpa_f32 on any shape (short, or up to 1600 keys: several chunks), key
// lengths (invalid ones too), causal or not, q and k with values up to +-1e4 or NaN and v up to +-1e4 or NaN, on
// any path, against the float64 reference within the documented bound,
// max|v| 2^-24 (2 (d + 1) sigma + 2 ln n + 136) per row (NaN exactly where the reference has NaN); a
// non-finite scale gives ATTNKERN_ERROR_INVALID_ARGUMENT and an invalid length
// ATTNKERN_ERROR_INVALID_LENGTH, each writing nothing. One input in three has K and V in f16 or
// bf16 (attnkern_attention), held to the same bound for the values they hold.
#include <attnkern/reference.hpp>

#include <attnkern/bounds.hpp>
#include "simd/dtype.hpp"  // (kernels/: the conversions to f16 and bf16)
#include "fuzz_input.hpp"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace attnkern_fuzz;
  using namespace attnkern::bounds;
  input in(data, size);
  in.select_isa();
  // One input in four is long: keys in several 512-key chunks, whose partial results merge.
  const bool long_keys = in.byte() % 4 == 0;
  const std::size_t batch = 1 + in.below(2), q_len = in.below(long_keys ? 6 : 40),
                    kv_len = long_keys ? 500 + in.below(1100) : in.below(90), d = in.below(long_keys ? 8 : 24),
                    dv = 1 + in.below(long_keys ? 8 : 24);
  const bool causal = in.byte() % 2, use_lengths = in.byte() % 2;
  bool valid = true;
  const std::vector<int32_t> lengths = in.lengths(batch, kv_len, valid);
  const uint8_t scale_kind = in.byte() % 8;
  const float scale = scale_kind == 7 ? NAN : scale_kind == 6 ? INFINITY : scale_kind == 5 ? 1.0f
                      : static_cast<float>(1.0 / std::sqrt(static_cast<double>(std::max<std::size_t>(d, 1))));
  const std::vector<float> q = in.values(batch * q_len * d, 3.0f, true);
  std::vector<float> k = in.values(batch * kv_len * d, 3.0f, true);
  std::vector<float> v = in.values(batch * kv_len * dv, 2.0f, true);
  for (float& e : v)  // no infinities (the order of the sums decides between inf and NaN); NaN may sit anywhere,
    if (std::isinf(e)) e = 0.0f;  // and one a row does not see (past the diagonal or the length) never reaches it
  const int32_t* len = use_lengths ? lengths.data() : nullptr;
  const float sentinel = 7.25f;
  std::vector<float> out(batch * q_len * dv, sentinel);
  // One input in three takes K and V in f16 or bf16 through attnkern_attention (the same problem:
  // BHSD, bottom-right, the lengths only where valid); the reference gets the values K and V hold.
  const int32_t kv_type = static_cast<int32_t>(in.byte() % 3);  // attnkern_dtype
  std::vector<uint16_t> k_half, v_half;
  if (kv_type != ATTNKERN_F32) {
    using namespace attnkern::kernels;
    auto narrow = [kv_type](std::vector<float>& x, std::vector<uint16_t>& h) {
      for (float& e : x) {
        h.push_back(kv_type == ATTNKERN_F16 ? float_to_f16_bits(e) : float_to_bf16_bits(e));
        e = kv_type == ATTNKERN_F16 ? to_float(f16_t{h.back()}) : to_float(bf16_t{h.back()});
      }
    };
    narrow(k, k_half);
    narrow(v, v_half);
  }
  attnkern_status status;
  if (kv_type == ATTNKERN_F32 || (use_lengths && !valid)) {
    status = attnkern_sdpa_f32(q.data(), k.data(), v.data(), len, batch, q_len, kv_len, d, dv, scale, causal ? 1 : 0,
                               out.data());
  } else {
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = batch, a.q_heads = a.kv_heads = 1, a.q_len = q_len, a.kv_len = kv_len, a.head_dim = d, a.value_dim = dv;
    a.q = q.data(), a.q_strides = attnkern_strides_bhsd(1, q_len, d);
    a.k = k_half.data(), a.k_strides = attnkern_strides_bhsd(1, kv_len, d), a.k_dtype = kv_type;
    a.v = v_half.data(), a.v_strides = attnkern_strides_bhsd(1, kv_len, dv), a.v_dtype = kv_type;
    a.out = out.data(), a.out_strides = attnkern_strides_bhsd(1, q_len, dv);
    a.scale = scale, a.causal = causal, a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
    // (bottom-right on the item's keys: the same as attnkern_sdpa_f32's on the tensor's while the
    // lengths end every item at kv_len; other lengths are left out here)
    a.kv_lengths = nullptr;
    len = nullptr;
    status = attnkern_attention(&a);
  }
  if (!std::isfinite(scale) || (use_lengths && !valid)) {
    expect_status(status, std::isfinite(scale) ? ATTNKERN_ERROR_INVALID_LENGTH : ATTNKERN_ERROR_INVALID_ARGUMENT, "sdpa");
    expect_untouched(out, sentinel, "sdpa");
    return 0;
  }
  expect_status(status, ATTNKERN_OK, "sdpa");
  const std::vector<double> qd(q.begin(), q.end()), kd(k.begin(), k.end()), vd(v.begin(), v.end());
  std::vector<double> ref(out.size());
  attnkern::reference::sdpa(qd.data(), kd.data(), vd.data(), len, batch, q_len, kv_len, d, dv, static_cast<double>(scale), causal,
                            ref.data());
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t i = 0; i < q_len; ++i) {
      const std::size_t length = len ? static_cast<std::size_t>(len[b]) : kv_len;
      const std::size_t n = attnkern::reference::detail::sdpa_visible(i, length, q_len, kv_len, causal);
      double sigma = 0, max_v = 0;
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0;
        for (std::size_t c = 0; c < d; ++c) s += std::fabs(qd[(b * q_len + i) * d + c] * kd[(b * kv_len + j) * d + c]);
        sigma = std::max(sigma, std::fabs(static_cast<double>(scale)) * s);
        for (std::size_t e = 0; e < dv; ++e) max_v = std::max(max_v, std::fabs(vd[(b * kv_len + j) * dv + e]));
      }
      const double tolerance = max_v * sdpa_max_error(d, sigma, n) + attention_abs_floor;
      for (std::size_t e = 0; e < dv; ++e) {
        const std::size_t at = (b * q_len + i) * dv + e;
        expect_near("sdpa", out[at], ref[at], tolerance);
      }
    }
  return 0;
}
