// softmax and log-softmax on every ISA path this CPU has, against the float64 reference: the
// documented bounds for rows from 1 to 10^7 long (both algorithms: in-cache rows and chunked long
// rows), the special values, in place, misaligned, thread-count invariance, argument checks, and the
// notebook's word example (tests/data/sdpa_words.txt).
#include <attnkern/attnkern.hpp>
#include <attnkern/reference.hpp>

#include "drivers/softmax_driver.hpp"
#include "support.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <iomanip>
#include <sstream>

using namespace attnkern_test;

namespace {

const float inf = std::numeric_limits<float>::infinity();
const float not_a_number = std::numeric_limits<float>::quiet_NaN();

// A row longer than L2 (three passes still), and the length from which the driver switches to
// two passes (kernels/drivers/softmax_driver.hpp): the tests that sweep shapes cover both algorithms.
constexpr std::size_t long_row = 65536;
constexpr std::size_t two_pass_row = attnkern::kernels::softmax_two_pass_from;

// The float64 references of an input, computed once and checked against every path.
struct expected {
  std::vector<double> softmax, log_softmax;
};
expected reference_of(const std::vector<float>& x, std::size_t rows, std::size_t cols) {
  std::vector<double> xd(x.begin(), x.end());
  expected e{std::vector<double>(x.size()), std::vector<double>(x.size())};
  attnkern::reference::softmax<double>(xd.data(), e.softmax.data(), rows, cols);
  attnkern::reference::log_softmax<double>(xd.data(), e.log_softmax.data(), rows, cols);
  return e;
}

// Checks y = softmax(x) (or log-softmax) on the active path against the reference and the row sums.
void check_softmax(const std::vector<float>& x, const std::vector<double>& ref, std::size_t rows, std::size_t cols, bool log,
                   const std::string& what) {
  std::vector<float> y(x.size(), -7.0f);
  REQUIRE((log ? attnkern_log_softmax_f32 : attnkern_softmax_f32)(x.data(), y.data(), rows, cols) == ATTNKERN_OK);
  for (std::size_t r = 0; r < rows; ++r) {
    double sum = 0;
    bool row_nan = false;
    for (std::size_t c = 0; c < cols; ++c) {
      const std::size_t i = r * cols + c;
      const double allowed = log ? log_softmax_max_error * std::max(1.0, std::fabs(ref[i]))
                                 : softmax_max_rel_error * std::fabs(ref[i]) + softmax_abs_floor;
      // (a log-softmax value below -FLT_MAX is -inf, as documented: float holds nothing below)
      const bool same_special = (std::isnan(ref[i]) && std::isnan(y[i])) || (std::isinf(ref[i]) && y[i] == ref[i]) ||
                                (log && ref[i] < -static_cast<double>(FLT_MAX) && y[i] == -inf);
      if (!same_special && !(std::fabs(y[i] - ref[i]) <= allowed)) {
        INFO(what << ": isa " << attnkern_isa() << ", row " << r << ", column " << c << " of " << rows << " x " << cols
                  << ", x = " << x[i] << ", y = " << y[i] << ", float64 = " << ref[i] << ", error " << std::fabs(y[i] - ref[i])
                  << " > " << allowed);
        CHECK(std::fabs(y[i] - ref[i]) <= allowed);
        return;
      }
      sum += y[i];
      row_nan = row_nan || std::isnan(ref[i]);
    }
    if (!log && !row_nan && !(ref[r * cols] == 0 && ref[r * cols + cols - 1] == 0 && sum == 0)) {
      INFO(what << ": isa " << attnkern_isa() << ", row " << r << " sums to " << std::setprecision(10) << sum);
      CHECK(std::fabs(sum - 1.0) <= softmax_max_sum_error);
    }
  }
}

// Softmax and log-softmax of x on every path this CPU has.
void check_every_path(const std::vector<float>& x, std::size_t rows, std::size_t cols, const std::string& what) {
  const expected e = reference_of(x, rows, cols);
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    check_softmax(x, e.softmax, rows, cols, false, what);
    check_softmax(x, e.log_softmax, rows, cols, true, what + " (log)");
  }
}
}  // namespace

namespace {

// Softmax and log-softmax written plainly, in long double, apart from attnkern/reference.hpp: the
// largest entry, the sum of e^(x - max), then each entry.
expected plain_softmax(const std::vector<float>& x, std::size_t rows, std::size_t cols) {
  expected e{std::vector<double>(x.size()), std::vector<double>(x.size())};
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = x.data() + r * cols;
    const long double top = *std::max_element(row, row + cols);
    long double sum = 0;
    for (std::size_t c = 0; c < cols; ++c) sum += std::exp(static_cast<long double>(row[c]) - top);
    for (std::size_t c = 0; c < cols; ++c) {
      const long double d = static_cast<long double>(row[c]) - top;
      e.softmax[r * cols + c] = static_cast<double>(std::exp(d) / sum);
      e.log_softmax[r * cols + c] = static_cast<double>(d - std::log(sum));
    }
  }
  return e;
}

}  // namespace

TEST_CASE("softmax: the float64 oracle and every path (scalar too) against a softmax written plainly in long double",
          "[softmax][oracle]") {
  // (the oracle, attnkern::reference::softmax<double>, and the scalar path's in-cache rows,
  // reference::softmax<float>, are one template: this holds both to a computation of their own)
  struct shape {
    std::size_t rows, cols;
    float lo, hi;
  };
  for (const shape s : {shape{1, 1, -1, 1}, shape{3, 17, -30, 30}, shape{32, 60, -4, 4}, shape{8, 1000, -100, 100},
                        shape{2, 70000, -20, 20}, shape{4, 300, -3.4e38f, 3.4e38f}, shape{2, 500, -200, 0}}) {
    const std::string what = std::to_string(s.rows) + " x " + std::to_string(s.cols) + " in [" + std::to_string(s.lo) +
                              ", " + std::to_string(s.hi) + "]";
    INFO(what);
    const std::vector<float> x = uniform(s.rows * s.cols, s.lo, s.hi, 90 + static_cast<uint32_t>(s.cols));
    const expected plain = plain_softmax(x, s.rows, s.cols), oracle = reference_of(x, s.rows, s.cols);
    for (std::size_t i = 0; i < x.size(); ++i) {
      // (the oracle rounds once to double from long double sums: within a few double units)
      const bool ok = std::fabs(oracle.softmax[i] - plain.softmax[i]) <= 0x1p-50 * std::fabs(plain.softmax[i]) + 0x1p-1070 &&
                      std::fabs(oracle.log_softmax[i] - plain.log_softmax[i]) <= 0x1p-50 * std::max(1.0, std::fabs(plain.log_softmax[i]));
      if (!ok) {
        INFO("element " << i << ": oracle " << oracle.softmax[i] << " / " << oracle.log_softmax[i] << ", plain "
                        << plain.softmax[i] << " / " << plain.log_softmax[i]);
        REQUIRE(ok);
      }
    }
    for (const auto& isa : available_isas()) {
      isa_scope scope(isa);
      check_softmax(x, plain.softmax, s.rows, s.cols, false, what + " against the plain softmax");
      check_softmax(x, plain.log_softmax, s.rows, s.cols, true, what + " against the plain log-softmax");
    }
  }
}

TEST_CASE("softmax: lengths around the vector width and the two algorithms, every path", "[softmax]") {
  std::vector<std::size_t> lengths;
  for (std::size_t n = 1; n <= 3 * 16 + 1; ++n) lengths.push_back(n);
  for (std::size_t n : {std::size_t(60), std::size_t(127), std::size_t(128), std::size_t(1000), std::size_t(4096),
                        long_row - 1, long_row, long_row + 1, 3 * long_row + 5, std::size_t(100003)})
    lengths.push_back(n);
  for (std::size_t cols : lengths) {
    const std::size_t rows = cols < 100 ? 5 : 2;
    const uint32_t seed = static_cast<uint32_t>(cols);
    check_every_path(uniform(rows * cols, -30.0f, 30.0f, seed), rows, cols, "cols " + std::to_string(cols) + ", seed " + std::to_string(seed));
  }
}

TEST_CASE("softmax: the notebook shape 32 x 60, rows around the two-pass crossover, and 10^7, every path", "[softmax][long]") {
  check_every_path(uniform(32 * 60, -4.0f, 4.0f, 60), 32, 60, "32 x 60, seed 60");
  if (reduced_run()) return;  // (both algorithms' long rows: the tests around this one)
  check_every_path(uniform(2 * (two_pass_row - 1), -10.0f, 10.0f, 6), 2, two_pass_row - 1, "2 x (4M - 1), seed 6");
  check_every_path(uniform(10000000, -10.0f, 10.0f, 7), 1, 10000000, "1 x 10^7, seed 7");
}

TEST_CASE("softmax: inputs of any magnitude, every path", "[softmax]") {
  for (std::size_t cols : {std::size_t(37), long_row + 3, two_pass_row + 3}) {
    const std::string at = ", cols " + std::to_string(cols);
    // (reduced: the two-pass rows, one each, of [90, 100] and +-3.4e38 only; the shorter rows all)
    const bool all = !(reduced_run() && cols == two_pass_row + 3);
    const std::size_t rows = all ? 2 : 1;
    check_every_path(uniform(rows * cols, 90.0f, 100.0f, 1), rows, cols, "all in [90, 100]" + at);
    check_every_path(uniform(rows * cols, -3.4e38f, 3.4e38f, 3), rows, cols, "+-3.4e38" + at);
    if (!all) continue;
    check_every_path(uniform(2 * cols, -100.0f, -90.0f, 2), 2, cols, "all in [-100, -90]" + at);
    std::vector<float> dominant = uniform(2 * cols, -1.0f, 1.0f, 4);
    dominant[cols / 2] = 1e4f;
    dominant[cols + 3] = 88.0f;
    check_every_path(dominant, 2, cols, "a single dominant value" + at);
    check_every_path(std::vector<float>(2 * cols, 42.5f), 2, cols, "constant rows" + at);
    check_every_path(uniform(2 * cols, -200.0f, 0.0f, 5), 2, cols, "outputs down to subnormal" + at);
  }
}

TEST_CASE("softmax: -inf, NaN and +inf entries, every path", "[softmax][special]") {
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (std::size_t cols : {std::size_t(19), long_row + 7, two_pass_row + 7}) {
      INFO("isa " << isa << ", cols " << cols);
      // row 0: some -inf; row 1: all -inf; row 2: a NaN; row 3: a +inf; row 4: -inf and a NaN
      std::vector<float> x = uniform(5 * cols, -5.0f, 5.0f, 6);
      for (std::size_t c = 0; c < cols; c += 3) x[c] = -inf;
      for (std::size_t c = 0; c < cols; ++c) x[cols + c] = -inf;
      x[2 * cols + cols - 1] = not_a_number;
      x[3 * cols + 1] = inf;
      for (std::size_t c = 0; c < cols; ++c) x[4 * cols + c] = c == cols / 2 ? not_a_number : -inf;
      std::vector<float> y(x.size()), lg(x.size());
      REQUIRE(attnkern_softmax_f32(x.data(), y.data(), 5, cols) == ATTNKERN_OK);
      REQUIRE(attnkern_log_softmax_f32(x.data(), lg.data(), 5, cols) == ATTNKERN_OK);
      std::size_t wrong_zero = 0, wrong_all_minus_inf = 0, wrong_nan = 0;
      for (std::size_t c = 0; c < cols; c += 3) wrong_zero += bits(y[c]) != bits(0.0f) || lg[c] != -inf;
      for (std::size_t c = 0; c < cols; ++c) {
        wrong_all_minus_inf += bits(y[cols + c]) != bits(0.0f) || lg[cols + c] != -inf;
        for (std::size_t r : {2, 3, 4}) wrong_nan += !std::isnan(y[r * cols + c]) || !std::isnan(lg[r * cols + c]);
      }
      CHECK(wrong_zero == 0);           // -inf entries give exactly 0 (log: -inf)
      CHECK(wrong_all_minus_inf == 0);  // a row of only -inf gives zeros (log: -inf)
      CHECK(wrong_nan == 0);            // NaN or +inf anywhere: the whole row is NaN
    }
  }
  for (std::size_t cols : {std::size_t(19), long_row + 7}) {
    std::vector<float> x = uniform(cols, -5.0f, 5.0f, 6);
    for (std::size_t c = 0; c < cols; c += 3) x[c] = -inf;
    check_every_path(x, 1, cols, "some -inf, cols " + std::to_string(cols));
  }
}

TEST_CASE("softmax: in place and misaligned give the same bits, every path", "[softmax]") {
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (std::size_t cols : {std::size_t(53), long_row + 11, two_pass_row + 11}) {
      const std::size_t rows = 3, n = rows * cols;
      const auto source = uniform(n + 16, -8.0f, 8.0f, 8);
      for (int log = 0; log < 2; ++log) {
        auto run = log ? attnkern_log_softmax_f32 : attnkern_softmax_f32;
        std::vector<float> expected(n);
        REQUIRE(run(source.data(), expected.data(), rows, cols) == ATTNKERN_OK);
        for (std::size_t offset : {1, 3, 7, 15}) {
          std::vector<float> buffer(n + 16);
          std::copy(source.begin(), source.begin() + n, buffer.begin() + offset);
          REQUIRE(run(buffer.data() + offset, buffer.data() + offset, rows, cols) == ATTNKERN_OK);
          INFO("isa " << isa << ", cols " << cols << ", offset " << offset << (log ? ", log" : ""));
          CHECK(std::memcmp(buffer.data() + offset, expected.data(), n * sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("softmax: results do not depend on the thread count", "[softmax][threads]") {
  struct shape {
    std::size_t rows, cols;
  };
  // many short rows; few long rows (split into chunks); one very long row
  for (const shape s : {shape{4096, 128}, shape{3, 3 * long_row + 17}, shape{1, 1000003}, shape{1, two_pass_row + 5},
                        shape{2, 2 * two_pass_row + 1}}) {
    const auto x = uniform(s.rows * s.cols, -20.0f, 20.0f, 9);
    for (const auto& isa : available_isas()) {
      // (under qemu-user the scalar path skips the two-pass rows of 4M and 8M: emulated, they take a minute)
      if (reduced_run() && isa == "scalar" && s.cols >= two_pass_row) continue;
      isa_scope scope(isa);
      for (int log = 0; log < 2; ++log) {
        auto run = log ? attnkern_log_softmax_f32 : attnkern_softmax_f32;
        std::vector<float> one(x.size()), many(x.size());
        {
          threads_scope t(1);
          REQUIRE(run(x.data(), one.data(), s.rows, s.cols) == ATTNKERN_OK);
        }
        for (int threads : {2, 3, 8}) {
          threads_scope t(threads);
          REQUIRE(run(x.data(), many.data(), s.rows, s.cols) == ATTNKERN_OK);
          INFO("isa " << isa << ", " << s.rows << " x " << s.cols << ", threads " << threads << (log ? ", log" : ""));
          CHECK(std::memcmp(one.data(), many.data(), x.size() * sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("softmax: the notebook's word example, row-wise and over the whole matrix", "[softmax][golden]") {
  auto golden = read_golden(ATTNKERN_TEST_DATA "/sdpa_words.txt");
  const std::vector<double>&scores = golden.at("scores"), &v = golden.at("V");
  const double scale = golden.at("scale").at(0);
  std::vector<float> scaled(16);
  for (std::size_t i = 0; i < 16; ++i) scaled[i] = static_cast<float>(scores[i] * scale);
  // out = weights (4 x 4) times V (4 x 3), in double from the float weights
  auto times_v = [&](const std::vector<float>& w) {
    std::vector<double> out(12, 0.0);
    for (std::size_t i = 0; i < 4; ++i)
      for (std::size_t j = 0; j < 4; ++j)
        for (std::size_t k = 0; k < 3; ++k) out[i * 3 + k] += static_cast<double>(w[i * 4 + j]) * v[j * 3 + k];
    return out;
  };
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::vector<float> rowwise(16), whole(16);
    attnkern::softmax(scaled.data(), rowwise.data(), 4, 4);  // what attention means: per query
    attnkern::softmax(scaled.data(), whole.data(), 1, 16);   // what the notebook printed (scipy, axis=None)
    const auto out_rowwise = times_v(rowwise), out_whole = times_v(whole);
    for (std::size_t i = 0; i < 12; ++i) {
      INFO("isa " << isa << ", element " << i);
      CHECK(std::fabs(out_rowwise[i] - golden.at("attention_rowwise")[i]) <= golden_tolerance);
      CHECK(std::fabs(out_whole[i] - golden.at("attention_whole_matrix")[i]) <= golden_tolerance);
    }
  }
}
