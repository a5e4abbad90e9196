// libFuzzer target: attnkern_attention_pool_f32 and attnkern_additive_attention_f32 on any shape
// (short, or up to 900 steps: several chunks), lengths (invalid ones too) and finite values up to
// +-FLT_MAX or NaN, on any path, against the float64 reference within the documented bounds (NaN
// exactly where the reference has NaN); an invalid length gives ATTNKERN_ERROR_INVALID_LENGTH and
// writes nothing.
#include <attnkern/reference.hpp>

#include <attnkern/bounds.hpp>
#include "fuzz_input.hpp"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace attnkern_fuzz;
  using namespace attnkern::bounds;
  input in(data, size);
  in.select_isa();
  const bool additive = in.byte() % 2;
  // One input in four is long: sequences of several 256-step chunks, whose partial results merge.
  const bool long_sequences = in.byte() % 4 == 0;
  const std::size_t batch = 1 + in.below(3), steps = long_sequences ? 200 + in.below(700) : in.below(40),
                    features = 1 + in.below(long_sequences ? 8 : 40), attn = 1 + in.below(long_sequences ? 8 : 20);
  const bool use_lengths = in.byte() % 2;
  bool valid = true;
  const std::vector<int32_t> lengths = in.lengths(batch, steps, valid);
  const std::size_t a = additive ? attn : 0;
  const std::vector<float> x = in.values(batch * steps * (additive ? a : features), 4.0f, true);  // h or keys
  const std::vector<float> values = additive ? in.values(batch * steps * features, 4.0f, true) : x;
  const std::vector<float> w = in.values(additive ? a : features, 1.0f, true);  // w or v
  const std::vector<float> small = in.values(additive ? batch * a : steps, 1.0f, true);  // query or bias
  const int32_t* len = use_lengths ? lengths.data() : nullptr;
  const float sentinel = 7.25f;
  std::vector<float> context(batch * features, sentinel), weights(batch * steps, sentinel);
  const attnkern_status status =
      additive ? attnkern_additive_attention_f32(x.data(), small.data(), w.data(), values.data(), len, batch, steps, a, features,
                                                 context.data(), weights.data())
               : attnkern_attention_pool_f32(x.data(), w.data(), small.data(), len, batch, steps, features, context.data(),
                                             weights.data());
  if (use_lengths && !valid) {
    expect_status(status, ATTNKERN_ERROR_INVALID_LENGTH, "attention");
    expect_untouched(context, sentinel, "attention");
    expect_untouched(weights, sentinel, "attention");
    return 0;
  }
  expect_status(status, ATTNKERN_OK, "attention");
  const std::vector<double> xd(x.begin(), x.end()), vd(values.begin(), values.end()), wd(w.begin(), w.end()),
      sd(small.begin(), small.end());
  std::vector<double> ref_context(context.size()), ref_weights(weights.size());
  double bound = attention_pool_max_error;
  if (additive) {
    attnkern::reference::additive_attention(xd.data(), sd.data(), wd.data(), vd.data(), len, batch, steps, a, features,
                                            ref_context.data(), ref_weights.data());
    double v_l1 = 0;
    for (double e : wd) v_l1 += std::fabs(e);
    bound = additive_attention_max_error(v_l1);
  } else {
    attnkern::reference::attention_pool(xd.data(), wd.data(), sd.data(), len, batch, steps, features, ref_context.data(),
                                        ref_weights.data());
  }
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t n = len ? static_cast<std::size_t>(len[b]) : steps;
    double max_x = 0;
    for (std::size_t i = 0; i < n * features; ++i) max_x = std::max(max_x, std::fabs(vd[b * steps * features + i]));
    for (std::size_t f = 0; f < features; ++f)
      expect_near("context", context[b * features + f], ref_context[b * features + f], bound * max_x + attention_abs_floor);
    for (std::size_t t = 0; t < steps; ++t)
      expect_near("weight", weights[b * steps + t], ref_weights[b * steps + t],
            bound * std::fabs(ref_weights[b * steps + t]) + attention_abs_floor);
  }
  return 0;
}
