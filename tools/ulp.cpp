// attnkern-ulp: checks an elementwise kernel exhaustively, on every ISA path this CPU has, against
// float64, and exits 1 when a path breaks the bound or a property (2 on a usage error).
//   --function tanh: all 2^32 float inputs. Max error <= 1 ULP; odd bit for bit, monotonic,
//                    |y| <= 1, tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN -> NaN. The float64 value
//                    is computed once per non-negative input; negative inputs must give the exact
//                    negation, so they share its error.
//   --function exp:  every x <= 0 (softmax's domain: 2^31 inputs and the NaNs). Max error over
//                    [ln FLT_MIN, 0]; exactly 0 below it and for -inf; e^-0 = 1; monotonic; NaN -> NaN.
// ULP as everywhere in attnkern: |y - ref| / 2^(floor(log2|ref|) - 23), ref in float64, spacing at
// least 2^-149. Prints the max error, a histogram and the worst inputs per path.
//
// The kernels are called directly, each ISA path's table side by side (kernels/dispatch.hpp), the
// same code the library dispatches to.
#include <attnkern/attnkern.h>

#include "dispatch.hpp"
#include "simd/exp_core.hpp"
#include "ulp.hpp"

#include <algorithm>
#include <chrono>
#include <cfloat>
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

using attnkern::kernels::kernel_table;
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
constexpr std::size_t worst_kept = 5;

struct worst_input {
  double ulp;
  float x, y;
  double ref;
};

struct path_stats {
  double max_ulp = 0;
  std::vector<worst_input> worst;  // the largest errors, largest first
  uint64_t histogram[histogram_bins] = {};
  uint64_t property_violations = 0;
  uint64_t monotonic_violations = 0;
  uint32_t first_saturated_bits = UINT32_MAX;  // tanh: the smallest x with y = 1

  void note(double ulp, float x, float y, double ref, uint64_t weight) {
    max_ulp = std::max(max_ulp, ulp);
    int bin = 0;
    while (bin < histogram_bins - 1 && ulp > histogram_edges[bin]) ++bin;
    histogram[bin] += weight;
    if (worst.size() < worst_kept || ulp > worst.back().ulp) keep_worst({ulp, x, y, ref});
  }
  void keep_worst(const worst_input& w) {
    worst.push_back(w);
    std::sort(worst.begin(), worst.end(), [](const worst_input& a, const worst_input& b) { return a.ulp > b.ulp; });
    if (worst.size() > worst_kept) worst.pop_back();
  }
  void merge(const path_stats& o) {
    for (const auto& w : o.worst) keep_worst(w);
    max_ulp = std::max(max_ulp, o.max_ulp);
    for (int b = 0; b < histogram_bins; ++b) histogram[b] += o.histogram[b];
    property_violations += o.property_violations;
    monotonic_violations += o.monotonic_violations;
    first_saturated_bits = std::min(first_saturated_bits, o.first_saturated_bits);
  }
};

// One function under test: its inputs in increasing order of x, the kernel, and the checks.
struct function_spec {
  const char* name;
  const char* domain;
  double default_bound;
  void (*kernel_table::*kernel)(const float*, float*, std::size_t) noexcept;
  uint64_t count;                      // number of inputs
  float (*input)(uint64_t i);          // the i-th input, increasing in x (NaNs last)
  bool mirrored;                       // also run -x and require the exact negation (tanh)
  bool monotonic;                      // required to be monotonic (else the count is shown only)
  double (*reference)(double);
  // Checks one (x, y) beyond the error bound: special values, ranges. False = a violation.
  bool (*property)(float x, float y);
  bool (*measured)(float x);           // whether x's error counts toward the bound
};

const function_spec functions[] = {
    {"tanh", "all 2^32 inputs", 1.0, &kernel_table::tanh_f32, 0x80000000ull,
     [](uint64_t i) { return from_bits(static_cast<uint32_t>(i)); }, true, true, [](double x) { return std::tanh(x); },
     [](float x, float y) {
       if (std::isnan(x)) return std::isnan(y);
       if (x == 0) return to_bits(y) == to_bits(x);
       if (std::isinf(x)) return y == 1.0f;
       return std::fabs(y) <= 1.0f;
     },
     [](float x) { return !std::isnan(x); }},
    {"exp", "every x <= 0 (2^31 inputs and the NaNs)", 1.0, &kernel_table::exp_f32, 0x80000000ull,
     // i = 0 is -inf, then increasing to -0 at i = 0x7f800000, then the negative NaNs
     [](uint64_t i) {
       return i <= 0x7f800000u ? from_bits(0xff800000u - static_cast<uint32_t>(i))
                               : from_bits(0xff800000u + static_cast<uint32_t>(i - 0x7f800000u));
     },
     // A 0.9-ULP exp cannot be monotonic: its rounding errors step back by one ULP here and there.
     false, false, [](double x) { return std::exp(x); },
     [](float x, float y) {
       if (std::isnan(x)) return std::isnan(y);
       // the SIMD paths flush to 0 there; the scalar reference returns the subnormal value
       if (x < attnkern::simd::exp_lowest) return y >= 0.0f && y < FLT_MIN;
       if (x == 0) return y == 1.0f;
       return y > 0.0f && y <= 1.0f;
     },
     [](float x) { return !std::isnan(x) && x >= attnkern::simd::exp_lowest; }},
};

void usage() {
  std::fprintf(stderr,
               "usage: attnkern-ulp [--function tanh|exp] [--isa NAME[,NAME...]] [--bound ULP] [--stride K] [--quiet]\n"
               "  --function  the kernel to check (default tanh)\n"
               "  --isa       paths to check (default: every path this CPU has: avx512 avx2 sse2 neon scalar)\n"
               "  --bound     the maximum error allowed, in ULP (default: the documented bound, 1.0)\n"
               "  --stride    check every K-th input only (default 1: all of them)\n"
               "  --quiet     no progress lines on stderr\n");
}

}  // namespace

int main(int argc, char** argv) {
  const function_spec* f = &functions[0];
  std::vector<std::string> paths;
  double bound = -1;
  uint64_t stride = 1;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--function") {
      const std::string name = value();
      f = nullptr;
      for (const auto& candidate : functions)
        if (name == candidate.name) f = &candidate;
      if (!f) {
        std::fprintf(stderr, "attnkern-ulp: unknown function '%s'\n", name.c_str());
        return 2;
      }
    } else if (arg == "--isa") {
      const std::string list = value();
      for (size_t pos = 0; pos <= list.size();) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        if (comma > pos) paths.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else if (arg == "--bound") {
      const std::string text = value();
      char* end = nullptr;
      bound = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !(bound > 0)) {
        std::fprintf(stderr, "attnkern-ulp: --bound needs a positive number of ULP, not '%s'\n", text.c_str());
        return 2;
      }
    } else if (arg == "--stride") {
      stride = std::max<uint64_t>(1, std::strtoull(value().c_str(), nullptr, 10));
    } else if (arg == "--quiet") {
      quiet = true;
    } else {
      usage();
      return 2;
    }
  }
  if (bound < 0) bound = f->default_bound;
  if (paths.empty()) {
    for (const char* name : {"avx512", "avx2", "sse2", "neon", "scalar"})
      if (attnkern::kernels::usable_table(name)) paths.push_back(name);
  }
  std::vector<void (*)(const float*, float*, std::size_t) noexcept> kernels;
  for (const auto& name : paths) {
    const kernel_table* table = attnkern::kernels::usable_table(name.c_str());
    if (!table) {
      std::fprintf(stderr, "attnkern-ulp: this CPU or build has no ISA path '%s'\n", name.c_str());
      return 2;
    }
    kernels.push_back(table->*(f->kernel));
  }
  const size_t npaths = paths.size();

  constexpr size_t block = size_t(1) << 16;
  const uint64_t blocks = (f->count / stride + block - 1) / block;
  std::vector<path_stats> stats(npaths);
  std::vector<std::vector<float>> block_first(npaths, std::vector<float>(blocks)), block_last(npaths, std::vector<float>(blocks));
  uint32_t oracle_saturation = UINT32_MAX;  // tanh: the smallest x whose float64 tanh rounds to 1
  const auto start = std::chrono::steady_clock::now();
  uint64_t done_blocks = 0;

#if defined(_OPENMP)
#pragma omp parallel
#endif
  {
    std::vector<float> x(block), negated(block), y(block), yn(block);
    std::vector<path_stats> local(npaths);
    uint32_t local_saturation = UINT32_MAX;
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 16)
#endif
    for (int64_t b = 0; b < static_cast<int64_t>(blocks); ++b) {
      size_t count = 0;
      for (uint64_t i = static_cast<uint64_t>(b) * block * stride; i < f->count && count < block; i += stride) {
        x[count] = f->input(i);
        negated[count] = -x[count];
        ++count;
      }
      std::vector<double> ref(count);
      for (size_t i = 0; i < count; ++i) ref[i] = std::isnan(x[i]) ? NAN : f->reference(x[i]);
      for (size_t p = 0; p < npaths; ++p) {
        kernels[p](x.data(), y.data(), count);
        if (f->mirrored) kernels[p](negated.data(), yn.data(), count);
        path_stats& s = local[p];
        for (size_t i = 0; i < count; ++i) {
          if (!f->property(x[i], y[i])) ++s.property_violations;
          if (f->mirrored && !(std::isnan(x[i]) ? std::isnan(yn[i]) : to_bits(yn[i]) == (to_bits(y[i]) ^ 0x80000000u)))
            ++s.property_violations;
          if (i > 0 && !std::isnan(x[i]) && !std::isnan(x[i - 1]) && y[i] < y[i - 1]) ++s.monotonic_violations;
          if (f->mirrored && y[i] == 1.0f) s.first_saturated_bits = std::min(s.first_saturated_bits, to_bits(x[i]));
          if (f->measured(x[i])) s.note(ulp_error(y[i], ref[i]), x[i], y[i], ref[i], f->mirrored ? 2 : 1);
        }
        block_first[p][b] = y[0];
        block_last[p][b] = y[count - 1];
      }
      if (f->mirrored)
        for (size_t i = 0; i < count; ++i)
          if (!std::isnan(x[i]) && static_cast<float>(ref[i]) == 1.0f) local_saturation = std::min(local_saturation, to_bits(x[i]));
      uint64_t finished;
#if defined(_OPENMP)
#pragma omp atomic capture
#endif
      finished = ++done_blocks;
      if (!quiet && finished % (blocks / 16 + 1) == 0) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double fraction = static_cast<double>(finished) / static_cast<double>(blocks);
        std::fprintf(stderr, "[%3.0f%%] %s on %zu path(s): %.0f s elapsed, about %.0f s left\n", 100 * fraction, f->name,
                     npaths, elapsed, elapsed / fraction - elapsed);
      }
    }
#if defined(_OPENMP)
#pragma omp critical
#endif
    {
      for (size_t p = 0; p < npaths; ++p) stats[p].merge(local[p]);
      oracle_saturation = std::min(oracle_saturation, local_saturation);
    }
  }
  for (size_t p = 0; p < npaths; ++p)  // monotonic across block boundaries (NaN blocks compare false)
    for (uint64_t b = 1; b < blocks; ++b)
      if (block_first[p][b] < block_last[p][b - 1]) ++stats[p].monotonic_violations;

  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t checked = (f->count + stride - 1) / stride * (f->mirrored ? 2 : 1);
  std::printf("attnkern %s %s: %llu inputs (%s%s) on %zu path(s) in %.0f s; bound %.4g ULP vs float64\n", attnkern_version(),
              f->name, static_cast<unsigned long long>(checked), f->domain, stride == 1 ? "" : ", sampled", npaths, elapsed,
              bound);
  if (f->mirrored) std::printf("tanh rounds to 1.0f from x = %a\n", from_bits(oracle_saturation));
  std::printf("\n| path | max ULP | <=0.5 | 0.5-0.6 | 0.6-0.7 | 0.7-0.8 | 0.8-0.9 | 0.9-1 | 1-2 | >2 |%s properties | monotonic | verdict |\n",
              f->mirrored ? " first x with y = 1 |" : "");
  std::printf("|---|---|---|---|---|---|---|---|---|---|%s---|---|---|\n", f->mirrored ? "---|" : "");
  bool all_pass = true;
  for (size_t p = 0; p < npaths; ++p) {
    const path_stats& s = stats[p];
    const bool pass = s.max_ulp <= bound && s.property_violations == 0 && (!f->monotonic || s.monotonic_violations == 0);
    all_pass = all_pass && pass;
    std::printf("| %s | %.4f |", paths[p].c_str(), s.max_ulp);
    for (int b = 0; b < histogram_bins; ++b) std::printf(" %llu |", static_cast<unsigned long long>(s.histogram[b]));
    if (f->mirrored) std::printf(" %a |", from_bits(s.first_saturated_bits));
    const std::string monotonic = !s.monotonic_violations ? "ok"
                                  : f->monotonic        ? "FAIL"
                                                        : std::to_string(s.monotonic_violations) + " steps back (not required)";
    std::printf(" %s | %s | %s |\n", s.property_violations ? "FAIL" : "ok", monotonic.c_str(), pass ? "PASS" : "FAIL");
  }
  std::printf("\nworst inputs (x -> y, float64 value, ULP):\n");
  for (size_t p = 0; p < npaths; ++p) {
    std::printf("  %s:", paths[p].c_str());
    for (const auto& w : stats[p].worst) std::printf("  %a -> %a (%.9g, %.4f)", w.x, w.y, w.ref, w.ulp);
    std::printf("\n");
  }
  std::printf("\n%s\n", all_pass ? "PASS: every path within the bound, with every property" : "FAIL");
  return all_pass ? 0 : 1;
}
