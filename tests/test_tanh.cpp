// tanh on every ISA path this CPU has: against the float64 oracle (the documented 1-ULP bound) and
// the float scalar reference, over lengths around the vector width, misaligned and in place, with
// the special values, odd symmetry, and thread-count invariance.
#include <attnkern/attnkern.hpp>
#include <attnkern/reference.hpp>

#include "../tools/ulp.hpp"
#include "support.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>

using namespace attnkern_test;
using attnkern_tools::ulp_error;

namespace {

// The widest vector any path uses (avx512: 16 floats); lengths sweep 0 .. 3W+1.
constexpr std::size_t widest = 16;

// Runs tanh on the active path and checks every output against the oracle and the float reference.
void check_against_oracle(const std::vector<float>& x, const std::string& what) {
  std::vector<float> y(x.size(), -7.0f);
  REQUIRE(attnkern_tanh_f32(x.data(), y.data(), x.size()) == ATTNKERN_OK);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double oracle = attnkern::reference::tanh<double>(x[i]);
    const float reference = attnkern::reference::tanh<float>(x[i]);
    const double ulp = ulp_error(y[i], oracle);
    if (!(ulp <= tanh_max_ulp) || float_steps(y[i], reference) > tanh_max_floats_from_reference) {
      INFO(what << ": isa " << attnkern_isa() << ", index " << i << " of " << x.size() << ", x = " << std::hexfloat
                << x[i] << ", y = " << y[i] << ", float64 tanh = " << oracle << ", reference = " << reference
                << std::defaultfloat << ", error " << ulp << " ULP");
      CHECK(ulp <= tanh_max_ulp);
      CHECK(float_steps(y[i], reference) <= tanh_max_floats_from_reference);
      return;  // one report per input set
    }
  }
}

}  // namespace

TEST_CASE("tanh: x86-64 builds have the sse2 and scalar paths, and avx2 where the CPU has it; aarch64 builds neon and scalar",
          "[tanh][isa]") {
  const auto isas = available_isas();
  auto has = [&](const char* name) { return std::find(isas.begin(), isas.end(), name) != isas.end(); };
  CHECK(has("scalar"));
#if defined(__aarch64__)
  CHECK(has("neon"));  // (Advanced SIMD is part of every AArch64 CPU Linux runs on)
#endif
#if defined(__x86_64__)
  CHECK(has("sse2"));
  if (cpu_has_avx2_fma()) CHECK(has("avx2"));
  if (cpu_has_avx512f()) CHECK(has("avx512"));
#endif
#if defined(__x86_64__)
  for (const char* name : {"avx512", "avx2"})
    if (!has(name)) WARN("the " << name << " path is not tested: this CPU lacks it");
#endif
}

TEST_CASE("tanh: every length from 0 to 3W+1, random inputs, every path", "[tanh]") {
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (std::size_t n = 0; n <= 3 * widest + 1; ++n) {
      const uint32_t seed = static_cast<uint32_t>(1000 + n);
      check_against_oracle(uniform(n, -10.0f, 10.0f, seed), "length " + std::to_string(n) + ", seed " + std::to_string(seed));
    }
  }
}

TEST_CASE("tanh: the regions where each regime is weakest, every path", "[tanh]") {
  struct region {
    float lo, hi;
    const char* name;
  };
  const region regions[] = {
      {-1e-3f, 1e-3f, "tiny"},          {0.9f, 1.1f, "around the regime cut at 1"},
      {0.5f, 1.0f, "upper small regime"}, {1.0f, 2.0f, "lower large regime"},
      {8.9f, 9.2f, "around saturation"}, {-3.4e38f, 3.4e38f, "whole range"},
  };
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    uint32_t seed = 7;
    for (const auto& r : regions) {
      check_against_oracle(uniform(100003, r.lo, r.hi, seed), std::string(r.name) + ", seed " + std::to_string(seed));
      ++seed;
    }
  }
}

TEST_CASE("tanh: special values, every path", "[tanh]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float denorm_min = std::numeric_limits<float>::denorm_min();
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    INFO("isa " << isa);
    std::vector<float> x{0.0f, -0.0f, inf, -inf, nan, -nan, denorm_min, -denorm_min, FLT_MIN, -FLT_MIN,
                         1e-39f, -1e-39f, FLT_MAX, -FLT_MAX, 0x1.205968p3f, -0x1.205968p3f, 0x1.205966p3f};
    std::vector<float> y(x.size());
    REQUIRE(attnkern_tanh_f32(x.data(), y.data(), x.size()) == ATTNKERN_OK);
    CHECK(bits(y[0]) == bits(0.0f));
    CHECK(bits(y[1]) == bits(-0.0f));
    CHECK(y[2] == 1.0f);
    CHECK(y[3] == -1.0f);
    CHECK(std::isnan(y[4]));
    CHECK(std::isnan(y[5]));
    for (int i = 6; i <= 11; ++i) CHECK(bits(y[i]) == bits(x[i]));  // denormals and FLT_MIN: tanh(x) rounds to x
    CHECK(y[12] == 1.0f);
    CHECK(y[13] == -1.0f);
    CHECK(y[14] == 1.0f);  // the first float whose tanh rounds to 1
    CHECK(y[15] == -1.0f);
    CHECK(y[16] < 1.0f);   // the one before it
  }
}

TEST_CASE("tanh: odd symmetry bit for bit and |y| <= 1, every path", "[tanh]") {
  const auto x = uniform(65536, 0.0f, 12.0f, 99);
  std::vector<float> negated(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) negated[i] = -x[i];
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::vector<float> y(x.size()), yn(x.size());
    REQUIRE(attnkern_tanh_f32(x.data(), y.data(), x.size()) == ATTNKERN_OK);
    REQUIRE(attnkern_tanh_f32(negated.data(), yn.data(), x.size()) == ATTNKERN_OK);
    std::size_t asymmetric = 0, too_large = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      asymmetric += bits(yn[i]) != (bits(y[i]) ^ 0x80000000u);
      too_large += !(std::fabs(y[i]) <= 1.0f);
    }
    INFO("isa " << isa << ", seed 99");
    CHECK(asymmetric == 0);
    CHECK(too_large == 0);
  }
}

TEST_CASE("tanh: misaligned pointers and in place give the same bits, every path", "[tanh]") {
  const std::size_t n = 3 * widest + 5;
  const auto source = uniform(n + widest, -6.0f, 6.0f, 5);
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::vector<float> expected(n);
    REQUIRE(attnkern_tanh_f32(source.data(), expected.data(), n) == ATTNKERN_OK);
    for (std::size_t in_offset = 0; in_offset < widest; ++in_offset) {
      for (std::size_t out_offset : {std::size_t(0), std::size_t(1), std::size_t(3), widest - 1}) {
        std::vector<float> in(n + widest), out(n + widest, -7.0f);
        std::copy(source.begin(), source.begin() + n, in.begin() + in_offset);
        REQUIRE(attnkern_tanh_f32(in.data() + in_offset, out.data() + out_offset, n) == ATTNKERN_OK);
        for (std::size_t i = 0; i < n; ++i) {
          INFO("isa " << isa << ", input offset " << in_offset << ", output offset " << out_offset << ", index " << i);
          REQUIRE(bits(out[out_offset + i]) == bits(expected[i]));
        }
        CHECK(out[out_offset + n] == -7.0f);  // nothing written past the end
        if (out_offset > 0) CHECK(out[out_offset - 1] == -7.0f);
      }
      std::vector<float> in_place(n + widest);
      std::copy(source.begin(), source.begin() + n, in_place.begin() + in_offset);
      REQUIRE(attnkern_tanh_f32(in_place.data() + in_offset, in_place.data() + in_offset, n) == ATTNKERN_OK);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("isa " << isa << ", in place at offset " << in_offset << ", index " << i);
        REQUIRE(bits(in_place[in_offset + i]) == bits(expected[i]));
      }
    }
  }
}

TEST_CASE("tanh: results do not depend on the thread count or the call", "[tanh][threads]") {
  const std::size_t n = (std::size_t(1) << 20) + 7;  // large enough to run on several threads
  const auto x = uniform(n, -10.0f, 10.0f, 11);
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::vector<float> one(n), many(n), again(n);
    {
      threads_scope t(1);
      REQUIRE(attnkern_tanh_f32(x.data(), one.data(), n) == ATTNKERN_OK);
    }
    for (int threads : {2, 3, 8}) {
      threads_scope t(threads);
      REQUIRE(attnkern_tanh_f32(x.data(), many.data(), n) == ATTNKERN_OK);
      INFO("isa " << isa << ", threads " << threads);
      CHECK(std::memcmp(one.data(), many.data(), n * sizeof(float)) == 0);
    }
    REQUIRE(attnkern_tanh_f32(x.data(), again.data(), n) == ATTNKERN_OK);
    CHECK(std::memcmp(one.data(), again.data(), n * sizeof(float)) == 0);
  }
}

TEST_CASE("tanh: the C++ wrapper gives the C function's result", "[tanh][cpp]") {
  const auto x = uniform(100, -3.0f, 3.0f, 3);
  std::vector<float> y_c(x.size()), y_cpp(x.size());
  REQUIRE(attnkern_tanh_f32(x.data(), y_c.data(), x.size()) == ATTNKERN_OK);
  attnkern::tanh(x.data(), y_cpp.data(), x.size());
  CHECK(std::memcmp(y_c.data(), y_cpp.data(), x.size() * sizeof(float)) == 0);
}

TEST_CASE("tanh: the float64 oracle and every path (scalar too) against std::tanh in long double, an independent computation",
          "[tanh][oracle]") {
  // (the oracle, attnkern::reference::tanh<double>, and the scalar path, reference::tanh<float>, are one
  // template: this holds both to a tanh computed elsewhere, glibc's tanhl in x87 extended precision)
  std::vector<float> x = uniform(1 << 16, -10.0f, 10.0f, 81);
  std::mt19937 rng(82);
  std::uniform_real_distribution<float> exponent(-40.0f, 5.0f);
  for (int i = 0; i < (1 << 16); ++i) x.push_back((i % 2 ? -1.0f : 1.0f) * std::exp2(exponent(rng)));
  for (float e : {0.0f, -0.0f, 1e-30f, FLT_MIN, 0.5f, 0.55f, 0.625f, 1.0f, 8.0f, 9.01f, 10.0f, 20.0f, FLT_MAX})
    x.push_back(e), x.push_back(-e);
  std::vector<long double> exact(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) exact[i] = std::tanh(static_cast<long double>(x[i]));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double oracle = attnkern::reference::tanh<double>(x[i]);
    // within 4 double units of tanhl: glibc's double tanh is not correctly rounded (up to 2 units,
    // its manual says; 1.7 seen here), a float unit being 2^29 double units
    if (!(std::fabs(static_cast<long double>(oracle) - exact[i]) <= 0x1p-50L * std::fabs(exact[i]))) {
      INFO("x = " << std::hexfloat << x[i] << ": oracle " << oracle << ", tanhl " << static_cast<double>(exact[i]));
      REQUIRE(std::fabs(static_cast<long double>(oracle) - exact[i]) <= 0x1p-50L * std::fabs(exact[i]));
    }
  }
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    std::vector<float> y(x.size());
    REQUIRE(attnkern_tanh_f32(x.data(), y.data(), x.size()) == ATTNKERN_OK);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double ulp = ulp_error(y[i], static_cast<double>(exact[i]));
      if (!(ulp <= tanh_max_ulp)) {
        INFO("isa " << isa << ", x = " << std::hexfloat << x[i] << ", y = " << y[i] << ", tanhl "
                    << static_cast<double>(exact[i]) << std::defaultfloat << ", error " << ulp << " ULP");
        REQUIRE(ulp <= tanh_max_ulp);
      }
    }
  }
}
