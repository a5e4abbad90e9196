// Shared by the Catch2 tests: the ISA paths to run, seeded inputs, bit helpers, named tolerances.
#pragma once

#include <attnkern/attnkern.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace attnkern_test {

// The documented bounds (README, "Numerics"; kernels/tanh/tanh_kernel.hpp), in ULP against float64.
constexpr double tanh_max_ulp = 1.0;
// Against the float scalar reference (correctly rounded but for double rounding, 0.5 ULP): both lie
// within 1 + 0.5 ULP of the float64 value, so they are at most one float apart.
constexpr int64_t tanh_max_floats_from_reference = 1;
// softmax (kernels/softmax/softmax_kernel.hpp): |y - ref| <= 1e-6 |ref| + 2^-126 per output (the
// absolute floor covers outputs below FLT_MIN, which cannot carry relative precision), row sums
// within 1e-6 of 1; log-softmax within 1e-6 max(1, |y|).
constexpr double softmax_max_rel_error = 1e-6;
constexpr double softmax_abs_floor = 0x1p-126;
constexpr double softmax_max_sum_error = 1e-6;
constexpr double log_softmax_max_error = 1e-6;
// The fused attention kernels (kernels/attention/attention_kernel.hpp): weights within the bound
// relative, contexts within the bound times max|x| (x = h or values, over the positions read), each
// with an absolute floor of 2^-126 for results near the bottom of the float range. attention_pool:
// 1e-5; additive_attention: max(1e-5, 5e-7 ||v||_1), the float32 tanh's rounding growing with ||v||_1.
constexpr double attention_pool_max_error = 1e-5;
constexpr double additive_attention_base_error = 1e-5;
constexpr double additive_attention_error_per_v = 5e-7;
constexpr double attention_abs_floor = 0x1p-126;
inline double additive_attention_max_error(double v_l1) {
  return v_l1 * additive_attention_error_per_v > additive_attention_base_error ? v_l1 * additive_attention_error_per_v
                                                                               : additive_attention_base_error;
}
// Scaled dot-product attention (kernels/sdpa/sdpa_kernel.hpp): each output row within
//   max|v| 2^-24 (2 (d + 1) sigma + 2 ln n + 136)  (+ 2^-126)
// of the float64 reference, sigma = scale * max_j sum_c |q[i,c] k[j,c]| and max|v| over the n keys
// the row sees. The goal, 1e-5 max|v|, is what the random-input tests also hold every row to
// (the sigma term being a worst case that random rounding errors do not approach).
inline double sdpa_max_error(std::size_t head_dim, double sigma, std::size_t keys) {
  const double n = keys > 1 ? static_cast<double>(keys) : 1.0;
  return 0x1p-24 * (2.0 * (static_cast<double>(head_dim) + 1.0) * sigma + 2.0 * std::log(n) + 136.0);
}
constexpr double sdpa_random_input_error = 1e-5;
// The notebook's examples: attnkern's float outputs against float64 expectations, 1e-6 as in the
// issue's seed check.
constexpr double golden_tolerance = 1e-6;

// Every ISA name the C API knows, best first.
inline const std::vector<std::string>& all_isa_names() {
  static const std::vector<std::string> names{"avx512", "avx2", "sse2", "neon", "scalar"};
  return names;
}

// The paths this CPU and build support (attnkern_set_isa accepts them).
inline std::vector<std::string> available_isas() {
  std::vector<std::string> available;
  for (const auto& name : all_isa_names())
    if (attnkern_set_isa(name.c_str()) == ATTNKERN_OK) available.push_back(name);
  attnkern_set_isa("auto");
  return available;
}

// What the CPU (and OS) supports, asked independently of the library's own detection.
#if defined(__x86_64__) || defined(__i386__)
inline bool cpu_has_avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
inline bool cpu_has_avx512f() { return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f"); }
#endif

// Selects `isa` for the lifetime of the object, then restores automatic selection.
class isa_scope {
 public:
  explicit isa_scope(const std::string& isa) { REQUIRE(attnkern_set_isa(isa.c_str()) == ATTNKERN_OK); }
  ~isa_scope() { attnkern_set_isa("auto"); }
  isa_scope(const isa_scope&) = delete;
  isa_scope& operator=(const isa_scope&) = delete;
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

// Distance in representable floats between two finite floats of the same sign or zero.
inline int64_t float_steps(float a, float b) {
  auto ordered = [](float f) {
    const int64_t u = bits(f);
    return u & 0x80000000 ? -(u & 0x7fffffff) : u;
  };
  const int64_t d = ordered(a) - ordered(b);
  return d < 0 ? -d : d;
}

// Seeded uniform inputs; the seed is part of every failure message (INFO in the callers).
inline std::vector<float> uniform(std::size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& e : v) e = dist(rng);
  return v;
}

// Restores OpenMP's default thread count when it goes out of scope.
struct threads_scope {
  explicit threads_scope(int n) { attnkern_set_num_threads(n); }
  ~threads_scope() { attnkern_set_num_threads(0); }
};

// Reads the arrays of a golden file: a line "name rows cols", then rows lines of values.
inline std::map<std::string, std::vector<double>> read_golden(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::map<std::string, std::vector<double>> arrays;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream header(line);
    std::string name;
    std::size_t rows = 0, cols = 0;
    header >> name >> rows >> cols;
    std::vector<double>& values = arrays[name];
    for (std::size_t i = 0; i < rows * cols; ++i) {
      double v;
      in >> v;
      values.push_back(v);
    }
  }
  return arrays;
}

}  // namespace attnkern_test
