// attnkern-ulp-tanh: checks attnkern_tanh_f32 over all 2^32 float inputs, on every ISA path this
// CPU has, against tanh evaluated in float64. Reports per path the maximum error in ULP (as defined in
// the README: |y - ref| / 2^(floor(log2|ref|) - 23), spacing at least 2^-149, ref in float64), a
// histogram, the worst inputs, and the properties of the contract: odd symmetry bit for bit,
// monotonicity, |y| <= 1, tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN -> NaN. Exits 1 when any path
// breaks the bound or a property, 2 on a usage error.
//
// Only the public C API is used: each block of inputs is run through every path in turn
// (attnkern_set_isa), and the float64 reference is computed once per non-negative input; negative
// inputs are checked to be the exact bitwise negation, so they share the positive input's error.
#include <attnkern/attnkern.h>

#include "ulp.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using attnkern_tools::ulp_error;

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

constexpr double histogram_edges[] = {0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0};
constexpr int histogram_bins = sizeof(histogram_edges) / sizeof(histogram_edges[0]) + 1;
constexpr int worst_kept = 5;

struct worst_input {
  double ulp;
  float x, y;
  double ref;
};

struct path_stats {
  double max_ulp = 0;
  std::vector<worst_input> worst;  // the largest errors, largest first
  uint64_t histogram[histogram_bins] = {};
  uint64_t odd_violations = 0, monotonic_violations = 0, magnitude_violations = 0, nan_violations = 0;
  uint64_t first_one_bits = UINT32_MAX;  // the smallest positive input with y == 1.0f

  void note(double ulp, float x, float y, double ref) {
    max_ulp = std::max(max_ulp, ulp);
    int bin = 0;
    while (bin < histogram_bins - 1 && ulp > histogram_edges[bin]) ++bin;
    histogram[bin] += 2;  // the negative input has the same error (checked bitwise)
    if (worst.size() < worst_kept || ulp > worst.back().ulp) {
      worst.push_back({ulp, x, y, ref});
      std::sort(worst.begin(), worst.end(), [](const worst_input& a, const worst_input& b) { return a.ulp > b.ulp; });
      if (worst.size() > worst_kept) worst.pop_back();
    }
  }

  void merge(const path_stats& o) {
    for (const auto& w : o.worst) note_worst_only(w);
    max_ulp = std::max(max_ulp, o.max_ulp);
    for (int b = 0; b < histogram_bins; ++b) histogram[b] += o.histogram[b];
    odd_violations += o.odd_violations;
    monotonic_violations += o.monotonic_violations;
    magnitude_violations += o.magnitude_violations;
    nan_violations += o.nan_violations;
    first_one_bits = std::min(first_one_bits, o.first_one_bits);
  }

  void note_worst_only(const worst_input& w) {
    worst.push_back(w);
    std::sort(worst.begin(), worst.end(), [](const worst_input& a, const worst_input& b) { return a.ulp > b.ulp; });
    if (worst.size() > worst_kept) worst.pop_back();
  }
};

void usage() {
  std::fprintf(stderr,
               "usage: attnkern-ulp-tanh [--isa NAME[,NAME...]] [--bound ULP] [--stride K] [--quiet]\n"
               "  --isa     paths to check (default: every path this CPU has: avx512 avx2 sse2 neon scalar)\n"
               "  --bound   the maximum error allowed, in ULP (default 1.0, the documented bound)\n"
               "  --stride  check every K-th non-negative input only (default 1: all 2^32 inputs)\n"
               "  --quiet   no progress lines on stderr\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  double bound = 1.0;
  uint32_t stride = 1;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--isa") {
      std::string list = value();
      for (size_t pos = 0; pos <= list.size();) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        if (comma > pos) paths.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else if (arg == "--bound") {
      bound = std::atof(value());
    } else if (arg == "--stride") {
      stride = static_cast<uint32_t>(std::strtoul(value(), nullptr, 10));
      if (stride == 0) stride = 1;
    } else if (arg == "--quiet") {
      quiet = true;
    } else {
      usage();
      return 2;
    }
  }
  if (paths.empty()) {
    for (const char* name : {"avx512", "avx2", "sse2", "neon", "scalar"})
      if (attnkern_set_isa(name) == ATTNKERN_OK) paths.push_back(name);
  }
  for (const auto& name : paths) {
    if (attnkern_set_isa(name.c_str()) != ATTNKERN_OK) {
      std::fprintf(stderr, "attnkern-ulp-tanh: this CPU or build has no ISA path '%s'\n", name.c_str());
      return 2;
    }
  }
  const size_t npaths = paths.size();

  // Non-negative inputs 0x00000000 (+0) .. 0x7fffffff (the last NaN) in blocks, in increasing order.
  constexpr uint64_t total = 0x80000000ull;
  constexpr size_t block = size_t(1) << 22;
  std::vector<float> positive(block), negative(block);
  std::vector<std::vector<float>> y_pos(npaths, std::vector<float>(block)), y_neg(npaths, std::vector<float>(block));
  std::vector<path_stats> stats(npaths);
  std::vector<float> last_y(npaths, -INFINITY);
  uint32_t oracle_first_one = UINT32_MAX;
  const auto start = std::chrono::steady_clock::now();
  uint64_t checked = 0;

  for (uint64_t base = 0; base < total; base += uint64_t(block) * stride) {
    size_t count = 0;
    for (uint64_t u = base; u < total && count < block; u += stride, ++count) {
      positive[count] = from_bits(static_cast<uint32_t>(u));
      negative[count] = from_bits(static_cast<uint32_t>(u) | 0x80000000u);
    }
    for (size_t p = 0; p < npaths; ++p) {
      attnkern_set_isa(paths[p].c_str());
      if (attnkern_tanh_f32(positive.data(), y_pos[p].data(), count) != ATTNKERN_OK ||
          attnkern_tanh_f32(negative.data(), y_neg[p].data(), count) != ATTNKERN_OK) {
        std::fprintf(stderr, "attnkern-ulp-tanh: attnkern_tanh_f32 failed\n");
        return 1;
      }
    }
#if defined(_OPENMP)
#pragma omp parallel
#endif
    {
      std::vector<path_stats> local(npaths);
      uint32_t local_first_one = UINT32_MAX;
#if defined(_OPENMP)
#pragma omp for schedule(static) nowait
#endif
      for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(count); ++i) {
        const float x = positive[i];
        const bool nan_input = std::isnan(x);
        const double ref = nan_input ? NAN : std::tanh(static_cast<double>(x));
        if (!nan_input && static_cast<float>(ref) == 1.0f) local_first_one = std::min(local_first_one, to_bits(x));
        for (size_t p = 0; p < npaths; ++p) {
          const float y = y_pos[p][i], yn = y_neg[p][i];
          path_stats& s = local[p];
          if (nan_input) {
            if (!std::isnan(y) || !std::isnan(yn)) ++s.nan_violations;
            continue;
          }
          if (to_bits(yn) != (to_bits(y) ^ 0x80000000u)) ++s.odd_violations;
          if (!(std::fabs(y) <= 1.0f)) ++s.magnitude_violations;
          if (i > 0 && !std::isnan(positive[i - 1]) && y < y_pos[p][i - 1]) ++s.monotonic_violations;
          if (y == 1.0f) s.first_one_bits = std::min<uint64_t>(s.first_one_bits, to_bits(x));
          s.note(ulp_error(y, ref), x, y, ref);
        }
      }
#if defined(_OPENMP)
#pragma omp critical
#endif
      {
        for (size_t p = 0; p < npaths; ++p) stats[p].merge(local[p]);
        oracle_first_one = std::min(oracle_first_one, local_first_one);
      }
    }
    for (size_t p = 0; p < npaths; ++p) {  // monotonic across the block boundary
      if (!std::isnan(positive[0]) && y_pos[p][0] < last_y[p]) ++stats[p].monotonic_violations;
      if (!std::isnan(positive[count - 1])) last_y[p] = y_pos[p][count - 1];
    }
    checked += 2 * count;
    const double fraction = static_cast<double>(base + uint64_t(block) * stride) / total;
    if (!quiet && (base / (uint64_t(block) * stride)) % 32 == 31) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "[%3.0f%%] %llu inputs checked on %zu path(s), %.0f s elapsed, about %.0f s left\n",
                   100 * std::min(fraction, 1.0), static_cast<unsigned long long>(checked), npaths, elapsed,
                   elapsed / std::min(fraction, 1.0) - elapsed);
    }
  }
  attnkern_set_isa("auto");

  // Special values, directly.
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY};
  const float expected[] = {0.0f, -0.0f, 1.0f, -1.0f};

  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("attnkern %s tanh: %llu inputs%s on %zu path(s) in %.0f s; bound %.4g ULP (ULP vs float64 tanh)\n",
              attnkern_version(), static_cast<unsigned long long>(checked), stride == 1 ? " (all 2^32)" : "",
              npaths, elapsed, bound);
  std::printf("tanh rounds to 1.0f from x = %a\n", from_bits(oracle_first_one));
  std::printf("\n| path | max ULP | <=0.5 | 0.5-0.6 | 0.6-0.7 | 0.7-0.8 | 0.8-0.9 | 0.9-1 | 1-2 | >2 | first x with y = 1 | odd | monotonic | abs<=1 | NaN | +-0, +-inf | verdict |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  bool all_pass = true;
  for (size_t p = 0; p < npaths; ++p) {
    const path_stats& s = stats[p];
    attnkern_set_isa(paths[p].c_str());
    bool specials_ok = true;
    for (int k = 0; k < 4; ++k) {
      float y;
      attnkern_tanh_f32(&specials[k], &y, 1);
      specials_ok = specials_ok && to_bits(y) == to_bits(expected[k]);
    }
    const bool pass = s.max_ulp <= bound && s.odd_violations == 0 && s.monotonic_violations == 0 &&
                      s.magnitude_violations == 0 && s.nan_violations == 0 && specials_ok;
    all_pass = all_pass && pass;
    std::printf("| %s | %.4f |", paths[p].c_str(), s.max_ulp);
    for (int b = 0; b < histogram_bins; ++b) std::printf(" %llu |", static_cast<unsigned long long>(s.histogram[b]));
    std::printf(" %a | %s | %s | %s | %s | %s | %s |\n", from_bits(static_cast<uint32_t>(s.first_one_bits)),
                s.odd_violations ? "FAIL" : "ok", s.monotonic_violations ? "FAIL" : "ok",
                s.magnitude_violations ? "FAIL" : "ok", s.nan_violations ? "FAIL" : "ok", specials_ok ? "ok" : "FAIL",
                pass ? "PASS" : "FAIL");
  }
  attnkern_set_isa("auto");
  std::printf("\nworst inputs (x, y, float64 tanh, ULP):\n");
  for (size_t p = 0; p < npaths; ++p) {
    std::printf("  %s:", paths[p].c_str());
    for (const auto& w : stats[p].worst) std::printf("  %a -> %a (%.9g, %.4f)", w.x, w.y, w.ref, w.ulp);
    std::printf("\n");
  }
  std::printf("\n%s\n", all_pass ? "PASS: every path within the bound, with every property" : "FAIL");
  return all_pass ? 0 : 1;
}
