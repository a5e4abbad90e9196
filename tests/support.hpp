// Shared by the Catch2 tests: the ISA paths to run, seeded inputs, bit helpers, named tolerances.
#pragma once

#include <attnkern/attnkern.h>
#include <attnkern/attnkern.hpp>

#include <catch2/catch.hpp>

#include <attnkern/bounds.hpp>
#include "../tools/golden.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "simd/dtype.hpp"  // (kernels/: the exact conversions to and from f16 and bf16)

namespace attnkern_test {

// The documented bounds (attnkern/bounds.hpp, shared with attnkern-numerics).
using namespace attnkern::bounds;

// Every ISA name the C API knows, best first.
inline const std::vector<std::string>& all_isa_names() {
  static const std::vector<std::string> names{
#define ATTNKERN_ISA(name, family, arch, flags) #name,
#include "isa/isas.def"  // (kernels/)
#undef ATTNKERN_ISA
      "scalar"};
  return names;
}

// The paths this CPU and build support (attnkern_set_isa accepts them), best first; selects the
// best one, as the tests that follow expect.
inline std::vector<std::string> available_isas() {
  attnkern_set_isa("auto");
  return attnkern::isa_list();
}

// What the CPU (and OS) supports, asked independently of the library's own detection.
#if defined(__x86_64__) || defined(__i386__)
inline bool cpu_has_avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
inline bool cpu_has_avx512f() { return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f"); }
#endif

// ATTNKERN_TEST_REDUCED=1 (tools/test_aarch64.sh, the unit tests under qemu-user): the tests whose
// time goes to the float64 oracle check every kind of case on every path, but fewer of them. (The
// oracle's sums are long double: x87's 80 bits on x86, IEEE binary128 on aarch64, in software
// there, and emulated besides.) reduced(full, fewer) is `full` normally, `fewer` then.
inline bool reduced_run() {
  static const bool on = [] {
    const char* e = std::getenv("ATTNKERN_TEST_REDUCED");
    return e && *e && std::string(e) != "0";
  }();
  return on;
}
template <class T>
T reduced(T full, T fewer) {
  return reduced_run() ? fewer : full;
}

// Selects `isa` for the lifetime of the object, then restores the path of the enclosing isa_scope,
// or automatic selection after the outermost one (a check that runs every path, called inside a
// loop over the paths, hands its caller's path back). Main thread only.
class isa_scope {
 public:
  explicit isa_scope(const std::string& isa) : outer_(depth() > 0 ? attnkern_isa() : "auto") {
    REQUIRE(attnkern_set_isa(isa.c_str()) == ATTNKERN_OK);
    ++depth();
  }
  ~isa_scope() {
    --depth();
    attnkern_set_isa(outer_.c_str());
  }
  isa_scope(const isa_scope&) = delete;
  isa_scope& operator=(const isa_scope&) = delete;

 private:
  static int& depth() {
    static int d = 0;
    return d;
  }
  std::string outer_;
};

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The same floats bit for bit (NaNs included); empty vectors compare without touching memory.
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// The larger of the worst error so far and `ratio` (an error over its bound), where a NaN ratio wins
// and stays: std::max(worst, NaN) keeps `worst`, so a NaN result would pass `worst <= 1`.
inline double worse(double worst, double ratio) { return std::isnan(ratio) || ratio > worst ? ratio : worst; }

// Distance in representable floats between two finite floats of the same sign or zero.
inline int64_t float_steps(float a, float b) {
  auto ordered = [](float f) {
    const int64_t u = bits(f);
    return u & 0x80000000 ? -(u & 0x7fffffff) : u;
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

// Seeded uniform inputs; the seed is part of every failure message (INFO in the callers). A range
// wider than FLT_MAX (such as +-3.4e38) is drawn in double: in float, hi - lo is +inf and every draw
// would be +inf.
inline std::vector<float> uniform(std::size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(n);
  if (std::isfinite(hi - lo)) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (auto& e : v) e = dist(rng);
  } else {
    std::uniform_real_distribution<double> dist(lo, hi);
    for (auto& e : v) e = static_cast<float>(dist(rng));
  }
  return v;
}

// x in the half type t (ATTNKERN_F16 or ATTNKERN_BF16), each rounded to nearest even; and h's
// elements of type t back as floats (exact).
inline std::vector<uint16_t> to_half(const std::vector<float>& x, int32_t t) {
  std::vector<uint16_t> h(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    h[i] = t == ATTNKERN_F16 ? attnkern::kernels::float_to_f16_bits(x[i]) : attnkern::kernels::float_to_bf16_bits(x[i]);
  return h;
}
inline void from_half(const std::vector<uint16_t>& h, int32_t t, std::vector<float>& x) {
  using namespace attnkern::kernels;
  for (std::size_t i = 0; i < h.size(); ++i) x[i] = t == ATTNKERN_F16 ? to_float(f16_t{h[i]}) : to_float(bf16_t{h[i]});
}

// Restores the threading mode's default thread count when it goes out of scope.
struct threads_scope {
  explicit threads_scope(int n) { attnkern_set_num_threads(n); }
  ~threads_scope() { attnkern_set_num_threads(0); }
};

// The threading modes this build has (attnkern_set_threading): "pool", and "openmp" with OpenMP.
inline std::vector<std::string> threading_modes() {
#if defined(_OPENMP)
  return {"pool", "openmp"};
#else
  return {"pool"};
#endif
}

// Selects a threading mode for the lifetime of the object, then the one before it. Main thread only.
class threading_scope {
 public:
  explicit threading_scope(const std::string& mode) : outer_(attnkern_threading_mode()) {
    REQUIRE(attnkern_set_threading(mode.c_str()) == ATTNKERN_OK);
  }
  ~threading_scope() { attnkern_set_threading(outer_ == "external" ? "auto" : outer_.c_str()); }
  threading_scope(const threading_scope&) = delete;
  threading_scope& operator=(const threading_scope&) = delete;

 private:
  std::string outer_;
};

// Reads the arrays of a golden file (tools/golden.hpp); the file must exist and hold arrays.
inline std::map<std::string, std::vector<double>> read_golden(const std::string& path) {
  auto arrays = attnkern_tools::read_golden(path);
  REQUIRE(!arrays.empty());
  return arrays;
}

}  // namespace attnkern_test
