// libFuzzer target: attnkern_sdpa_f32 on any shape (short, or up to 1600 keys: several chunks), key
// lengths (invalid ones too), causal or not, q and k with values up to +-1e4 or NaN and v up to +-1e4 or NaN, on
// any path, against the float64 reference within the documented bound,
// max|v| 2^-24 (2 (d + 1) sigma + 2 ln n + 136) per row (NaN exactly where the reference has NaN); a
// non-finite scale gives ATTNKERN_ERROR_INVALID_ARGUMENT and an invalid length
// ATTNKERN_ERROR_INVALID_LENGTH, each writing nothing.
#include <attnkern/reference.hpp>

#include <attnkern/bounds.hpp>
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
  const std::vector<float> q = in.values(batch * q_len * d, 3.0f, true), k = in.values(batch * kv_len * d, 3.0f, true);
  std::vector<float> v = in.values(batch * kv_len * dv, 2.0f, true);
  for (float& e : v)  // no infinities (the order of the sums decides between inf and NaN); NaN may sit anywhere,
    if (std::isinf(e)) e = 0.0f;  // and one a row does not see (past the diagonal or the length) never reaches it
  const int32_t* len = use_lengths ? lengths.data() : nullptr;
  const float sentinel = 7.25f;
  std::vector<float> out(batch * q_len * dv, sentinel);
  const attnkern_status status = attnkern_sdpa_f32(q.data(), k.data(), v.data(), len, batch, q_len, kv_len, d, dv, scale,
                                                   causal ? 1 : 0, out.data());
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
