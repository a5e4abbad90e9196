// Scaled dot-product attention on every ISA path this CPU has, against the float64 reference: the
// documented bound on random shapes (odd head dims, q_len != kv_len, causal and not, lengths of 0,
// 10^5 keys, large scores), padding never read, thread-count invariance, zero sizes, NaN, argument
// checks, and the notebook's word example (tests/data/sdpa_words.txt).
#include <attnkern/reference.hpp>

#include "isa/attention/attention_chunk.hpp"
#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

using namespace attnkern_test;

namespace {

const float not_a_number = std::numeric_limits<float>::quiet_NaN();

struct sdpa_case {
  std::size_t batch = 0, q_len = 0, kv_len = 0, head_dim = 0, value_dim = 0;
  float scale = 1.0f;
  bool causal = false;
  std::vector<float> q, k, v;
  std::vector<int32_t> lengths;  // may be empty: all keys

  const int32_t* lengths_or_null() const { return lengths.empty() ? nullptr : lengths.data(); }
  std::size_t length(std::size_t b) const { return lengths.empty() ? kv_len : static_cast<std::size_t>(lengths[b]); }
  std::size_t visible(std::size_t b, std::size_t i) const {
    return attnkern::reference::detail::sdpa_visible(i, length(b), q_len, kv_len, causal);
  }

  std::vector<float> run() const {
    std::vector<float> out(batch * q_len * value_dim, not_a_number);
    REQUIRE(attnkern_sdpa_f32(q.data(), k.data(), v.data(), lengths_or_null(), batch, q_len, kv_len, head_dim,
                              value_dim, scale, causal ? 1 : 0, out.data()) == ATTNKERN_OK);
    return out;
  }

  std::vector<double> oracle() const {
    std::vector<double> out(batch * q_len * value_dim);
    const std::vector<double> qd(q.begin(), q.end()), kd(k.begin(), k.end()), vd(v.begin(), v.end());
    attnkern::reference::sdpa(qd.data(), kd.data(), vd.data(), lengths_or_null(), batch, q_len, kv_len, head_dim,
                              value_dim, static_cast<double>(scale), causal, out.data());
    return out;
  }

  // The documented bound for row (b, i), over the keys it sees (tests/support.hpp).
  double bound(std::size_t b, std::size_t i, double& max_v) const {
    const std::size_t n = visible(b, i);
    double sigma = 0;
    max_v = 0;
    for (std::size_t j = 0; j < n; ++j) {
      double row = 0;
      for (std::size_t c = 0; c < head_dim; ++c)
        row += std::fabs(static_cast<double>(q[(b * q_len + i) * head_dim + c]) * k[(b * kv_len + j) * head_dim + c]);
      sigma = std::max(sigma, std::fabs(static_cast<double>(scale)) * row);
      for (std::size_t e = 0; e < value_dim; ++e)
        max_v = std::max(max_v, std::fabs(static_cast<double>(v[(b * kv_len + j) * value_dim + e])));
    }
    return sdpa_max_error(head_dim, sigma, n) * max_v + attention_abs_floor;
  }
};

// Random lengths in [0, kv_len], with 0 and kv_len among them when the batch allows; the padding
// past them filled with NaN (never read).
void random_lengths(sdpa_case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(c.kv_len));
  c.lengths.resize(c.batch);
  for (auto& l : c.lengths) l = dist(rng);
  if (c.batch > 1) c.lengths[0] = 0;
  if (c.batch > 2) c.lengths[1] = static_cast<int32_t>(c.kv_len);
  for (std::size_t b = 0; b < c.batch; ++b) {
    for (std::size_t j = static_cast<std::size_t>(c.lengths[b]); j < c.kv_len; ++j) {
      for (std::size_t x = 0; x < c.head_dim; ++x) c.k[(b * c.kv_len + j) * c.head_dim + x] = not_a_number;
      for (std::size_t x = 0; x < c.value_dim; ++x) c.v[(b * c.kv_len + j) * c.value_dim + x] = not_a_number;
    }
  }
}

sdpa_case random_case(std::size_t batch, std::size_t q_len, std::size_t kv_len, std::size_t head_dim,
                      std::size_t value_dim, bool causal, bool with_lengths, uint32_t seed, float qk_scale = 1.0f,
                      float v_lo = -2.0f) {
  sdpa_case c;
  c.batch = batch, c.q_len = q_len, c.kv_len = kv_len, c.head_dim = head_dim, c.value_dim = value_dim;
  c.causal = causal;
  c.scale = head_dim ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim))) : 1.0f;
  c.q = uniform(batch * q_len * head_dim, -qk_scale, qk_scale, seed);
  c.k = uniform(batch * kv_len * head_dim, -qk_scale, qk_scale, seed + 1);
  c.v = uniform(batch * kv_len * value_dim, v_lo, 2.0f, seed + 2);
  if (with_lengths) random_lengths(c, seed + 3);
  return c;
}

// got against the oracle: every row within its documented bound, rows that see no key exactly 0;
// with `typical`, also within sdpa_random_input_error max|v|. Returns the worst error as a fraction
// of the documented bound, and the worst error over max|v| in `worst_relative`.
double check_rows(const sdpa_case& c, const std::vector<float>& got, const std::vector<double>& want,
                  const std::string& what, bool typical, double& worst_relative) {
  INFO(what);
  double worst = 0;
  worst_relative = 0;
  for (std::size_t b = 0; b < c.batch; ++b)
    for (std::size_t i = 0; i < c.q_len; ++i) {
      double max_v = 0;
      const double allowed = c.bound(b, i, max_v);
      const double goal = sdpa_random_input_error * max_v + attention_abs_floor;
      for (std::size_t e = 0; e < c.value_dim; ++e) {
        const std::size_t at = (b * c.q_len + i) * c.value_dim + e;
        const double err = std::fabs(got[at] - want[at]);
        worst = worse(worst, err / allowed);
        if (max_v > 0) worst_relative = std::max(worst_relative, err / max_v);
        const bool ok = c.visible(b, i) == 0 ? got[at] == 0.0f : err <= allowed && (!typical || err <= goal);
        if (!ok) {
          INFO("b=" << b << " i=" << i << " e=" << e << " sees " << c.visible(b, i) << " keys: got " << got[at]
                    << " want " << want[at] << " allowed " << allowed << " goal " << goal);
          CHECK(ok);
          return worst;
        }
      }
    }
  return worst;
}

void check_every_path(const sdpa_case& c, const std::string& what, bool typical = true) {
  const std::vector<double> want = c.oracle();
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    double relative = 0;
    const double worst = check_rows(c, c.run(), want, what + " on " + isa, typical, relative);
    if (std::getenv("ATTNKERN_TEST_REPORT"))
      std::printf("%-52s %-7s worst error %.3f of the bound, %.2e max|v|\n", what.c_str(), isa.c_str(), worst,
                  relative);
  }
}

struct shape {
  std::size_t batch, q_len, kv_len, head_dim, value_dim;
};
// Odd sizes around the vector widths, the query block (8/16/32 rows), the key block (64) and the
// key chunk (512); q_len above, equal to and below kv_len.
const std::vector<shape> shapes{{1, 1, 1, 1, 1},     {2, 3, 5, 3, 3},      {3, 17, 17, 7, 9},  {2, 33, 65, 16, 16},
                                {1, 40, 130, 31, 33}, {2, 64, 64, 64, 64},  {1, 7, 600, 13, 5}, {2, 100, 40, 24, 17},
                                {1, 31, 1100, 128, 80}, {4, 9, 513, 65, 128}, {1, 1, 1500, 32, 32}};

}  // namespace

TEST_CASE("sdpa: random shapes within the bound, every path", "[sdpa]") {
  uint32_t seed = 500;
  for (const shape& s : shapes)
    for (const bool causal : {false, true})
      for (const bool lengths : {false, true}) {
        const sdpa_case c = random_case(s.batch, s.q_len, s.kv_len, s.head_dim, s.value_dim, causal, lengths, ++seed);
        check_every_path(c, "sdpa " + std::to_string(s.batch) + "x" + std::to_string(s.q_len) + "x" +
                                std::to_string(s.kv_len) + " d=" + std::to_string(s.head_dim) + "/" +
                                std::to_string(s.value_dim) + (causal ? " causal" : "") + (lengths ? " lengths" : "") +
                                " seed " + std::to_string(seed));
      }
}

TEST_CASE("sdpa: large and saturated scores, every path", "[sdpa]") {
  // |q|, |k| up to 8: scores up to ~900, the softmax one-hot or nearly; the sigma term dominates.
  check_every_path(random_case(2, 20, 300, 17, 9, false, false, 77, 8.0f), "sdpa large scores", false);
  check_every_path(random_case(2, 20, 300, 17, 9, true, true, 78, 8.0f), "sdpa large scores causal", false);
  // Many equal scores (q = 0): a plain average over the visible keys.
  sdpa_case c = random_case(1, 5, 700, 8, 8, true, false, 79);
  std::fill(c.q.begin(), c.q.end(), 0.0f);
  check_every_path(c, "sdpa equal scores");
}

TEST_CASE("sdpa: 10^5 keys, every path", "[sdpa][long]") {
  // values in [1, 2]: the weighted sums do not cancel, so the accumulation's rounding shows
  check_every_path(random_case(1, 3, 100000, 8, 8, false, false, 91, 1.0f, 1.0f), "sdpa 10^5 keys");
  const std::size_t q_len = reduced(40, 4);  // (reduced: the causal rows nearest the end)
  check_every_path(random_case(2, q_len, 100000, 5, 3, true, false, 92, 2.0f, 1.0f), "sdpa 10^5 keys causal");
}

TEST_CASE("sdpa: rows that see no key give zeros", "[sdpa]") {
  // causal with q_len > kv_len: rows i < q_len - kv_len see nothing; one item of length 0.
  sdpa_case c = random_case(2, 50, 20, 6, 5, true, false, 93);
  c.lengths = {0, 20};
  check_every_path(c, "sdpa empty rows");
  sdpa_case none = random_case(2, 5, 0, 4, 3, false, false, 94);  // kv_len = 0
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (const float x : none.run()) CHECK(x == 0.0f);
  }
}

TEST_CASE("sdpa: the result does not depend on the thread count", "[sdpa][threads]") {
  // Many units (each thread runs whole ones) and few (every key chunk a task, merged afterwards).
  const std::vector<sdpa_case> cases{random_case(4, 100, 700, 32, 24, false, true, 95),
                                     random_case(3, 70, 900, 16, 16, true, false, 96),
                                     random_case(1, 1, 5000, 64, 64, false, false, 97),
                                     random_case(2, 3, 3000, 20, 7, true, true, 98)};
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (const sdpa_case& c : cases) {
      std::vector<float> one;
      {
        threads_scope t(1);
        one = c.run();
      }
      for (const int threads : {2, 3, 8}) {
        threads_scope t(threads);
        const std::vector<float> many = c.run();
        INFO(isa << " threads " << threads << " shape " << c.batch << "x" << c.q_len << "x" << c.kv_len);
        CHECK(same_bits(one, many));
      }
    }
  }
}

TEST_CASE("sdpa: zero sizes", "[sdpa]") {
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    INFO(isa);
    // head_dim 0: every score is 0, the output the average of the visible values.
    sdpa_case flat = random_case(2, 4, 9, 0, 3, true, false, 99);
    const std::vector<float> got = flat.run();
    const std::vector<double> want = flat.oracle();
    double relative = 0;  // (within sdpa's documented bound, as every other case)
    check_rows(flat, got, want, "head_dim 0 on " + isa, true, relative);
    // q_len, value_dim or batch of 0: nothing to write, OK even with null arrays.
    CHECK(attnkern_sdpa_f32(nullptr, nullptr, nullptr, nullptr, 0, 4, 4, 4, 4, 1.0f, 0, nullptr) == ATTNKERN_OK);
    float out = 7.0f;
    CHECK(attnkern_sdpa_f32(nullptr, nullptr, nullptr, nullptr, 1, 0, 4, 4, 4, 1.0f, 0, &out) == ATTNKERN_ERROR_NULL_POINTER);
    sdpa_case c = random_case(1, 0, 4, 4, 4, false, false, 100);
    CHECK(attnkern_sdpa_f32(c.q.data(), c.k.data(), c.v.data(), nullptr, 1, 0, 4, 4, 4, 1.0f, 0, &out) == ATTNKERN_OK);
    CHECK(out == 7.0f);
  }
}

TEST_CASE("sdpa: a NaN score makes exactly the rows that see it NaN", "[sdpa]") {
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    INFO(isa);
    sdpa_case c = random_case(2, 40, 70, 9, 5, true, false, 101);
    const std::size_t nan_key = 45, nan_query = 3;  // of item 0; item 1 stays finite
    c.k[nan_key * c.head_dim + 2] = not_a_number;
    c.q[(c.q_len + nan_query) * c.head_dim] = not_a_number;  // item 1, row 3
    const std::vector<float> got = c.run();
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t i = 0; i < c.q_len; ++i) {
        const bool sees_nan = b == 0 ? c.visible(0, i) > nan_key : i == nan_query;
        for (std::size_t e = 0; e < c.value_dim; ++e) {
          INFO("b=" << b << " i=" << i);
          CHECK(std::isnan(got[(b * c.q_len + i) * c.value_dim + e]) == sees_nan);
        }
      }
  }
}

TEST_CASE("sdpa: the notebook's word example (row-wise attention, scale 1/sqrt(3))", "[sdpa][golden]") {
  auto golden = read_golden(ATTNKERN_TEST_DATA "/sdpa_words.txt");
  const std::vector<double>& Q = golden.at("Q");
  const std::vector<double>& K = golden.at("K");
  const std::vector<double>& V = golden.at("V");
  const std::vector<double>& expected = golden.at("attention_rowwise");
  const std::vector<float> q(Q.begin(), Q.end()), k(K.begin(), K.end()), v(V.begin(), V.end());
  const float scale = static_cast<float>(golden.at("scale")[0]);
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::vector<float> out(12, not_a_number);
    REQUIRE(attnkern_sdpa_f32(q.data(), k.data(), v.data(), nullptr, 1, 4, 4, 3, 3, scale, 0, out.data()) ==
            ATTNKERN_OK);
    for (std::size_t i = 0; i < 12; ++i) {
      INFO(isa << " entry " << i << " got " << out[i] << " want " << expected[i]);
      CHECK(std::fabs(out[i] - expected[i]) <= golden_tolerance);
    }
  }
}
