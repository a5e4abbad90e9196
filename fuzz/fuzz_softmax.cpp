// libFuzzer target: attnkern_softmax_f32 and attnkern_log_softmax_f32 on rows of any floats (NaN,
// infinities, +-FLT_MAX included), against the float64 reference: NaN exactly where it is NaN, -inf
// (log) where it is, every other output within the documented bound.
#include <attnkern/reference.hpp>

#include <attnkern/bounds.hpp>
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace attnkern_fuzz;
  using namespace attnkern::bounds;
  input in(data, size);
  in.select_isa();
  const std::size_t rows = 1 + in.below(4), cols = in.below(200);
  const std::vector<float> x = in.values(rows * cols, 100.0f, false);
  const std::vector<double> xd(x.begin(), x.end());
  std::vector<float> y(x.size());
  std::vector<double> ref(x.size());
  for (bool log : {false, true}) {
    expect_status((log ? attnkern_log_softmax_f32 : attnkern_softmax_f32)(x.data(), y.data(), rows, cols), ATTNKERN_OK,
                  log ? "log_softmax" : "softmax");
    (log ? attnkern::reference::log_softmax<double> : attnkern::reference::softmax<double>)(xd.data(), ref.data(), rows, cols);
    for (std::size_t i = 0; i < y.size(); ++i) {
      const double r = ref[i], got = y[i];
      // (a log-softmax below -FLT_MAX, e.g. -FLT_MAX in a row whose max is +FLT_MAX, is -inf in float)
      if (std::isnan(r) || std::isinf(static_cast<float>(r))) {
        if (!(std::isnan(r) ? std::isnan(got) : got == static_cast<double>(static_cast<float>(r))))
          fail(std::string(log ? "log_" : "") + "softmax: a non-finite result differs");
        continue;
      }
      const double bound = log ? log_softmax_max_error * std::max(1.0, std::fabs(r))
                               : softmax_max_rel_error * std::fabs(r) + softmax_abs_floor;
      if (!(std::fabs(got - r) <= bound)) {
        std::fprintf(stderr, "rows %zu x cols %zu, output %zu: got %.9g, float64 %.17g (error %.3g, bound %.3g); its row:", rows, cols, i, got, r,
                     std::fabs(got - r), bound);
        for (std::size_t c = 0; c < cols; ++c) std::fprintf(stderr, " %a", static_cast<double>(x[i / cols * cols + c]));
        std::fprintf(stderr, "\n");
        fail(std::string(log ? "log_" : "") + "softmax beyond its bound");
      }
    }
  }
  return 0;
}
