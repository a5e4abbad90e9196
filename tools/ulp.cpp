// attnkern-ulp: checks an elementwise kernel exhaustively, on every ISA path this CPU has, against
// float64, and exits 1 when a path breaks the bound or a property (2 on a usage error, 0 for --help).
//   --function tanh: all 2^32 float inputs. Max error <= tanh_max_ulp (1 ULP); odd bit for bit, monotonic,
//                    |y| <= 1, tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN -> NaN. The float64 value
//                    is computed once per non-negative input; negative inputs must give the exact
//                    negation, so they share its error (and count twice in the histogram).
//   --function exp:  every x <= 0 and the negative NaNs (softmax's domain: 2^31 inputs). Max error
//                    over [ln FLT_MIN, 0]; below it and for -inf 0 <= y < FLT_MIN; e^-0 = 1; NaN -> NaN.
// ULP as everywhere in attnkern: |y - ref| / 2^(floor(log2|ref|) - 23), ref in float64, spacing at
// least 2^-149. Prints how many inputs were checked and how many of them are measured (not NaN,
// within the measured range), the max error, the histogram of the measured ones (every row adds up
// to that number), and the worst inputs per path; for tanh also the smallest x from which float64
// tanh rounds to 1.0f, and per path the smallest x with y = 1.
//
// --stride K checks every K-th input only. The thresholds at 1.0f are exact all the same: between
// the last sample below 1.0f and the first one at it, the gap is searched input by input (in rounds
// of at most 65536 evenly spaced inputs when the gap is larger), a few thousand extra inputs.
//
// The kernels are called directly, each ISA path's table side by side (kernels/runtime/dispatch.hpp), the
// same code the library dispatches to.
#include <attnkern/attnkern.h>
#include <attnkern/bounds.hpp>

#include "runtime/dispatch.hpp"
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
  uint64_t first_saturated = UINT64_MAX;  // tanh: the index of the smallest sampled x with y = 1

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
    first_saturated = std::min(first_saturated, o.first_saturated);
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
  bool (*measured)(float x);           // whether x's error counts toward the bound (and the histogram)
  const char* measured_range;          // which inputs those are
  const char* unmeasured;              // the non-NaN inputs that are not, and what is checked there
  uint64_t saturated_at;               // the index of an input with y = 1.0f (tanh: +inf); else UINT64_MAX
};

const function_spec functions[] = {
    {"tanh", "all 2^32 inputs", attnkern::bounds::tanh_max_ulp, &kernel_table::tanh_f32, 0x80000000ull,
     [](uint64_t i) { return from_bits(static_cast<uint32_t>(i)); }, true, true, [](double x) { return std::tanh(x); },
     [](float x, float y) {
       if (std::isnan(x)) return std::isnan(y);
       if (x == 0) return to_bits(y) == to_bits(x);
       if (std::isinf(x)) return y == 1.0f;
       return std::fabs(y) <= 1.0f;
     },
     [](float x) { return !std::isnan(x); }, "every x but the NaNs", nullptr, 0x7f800000u},
    {"exp", "every x <= 0 and the negative NaNs: 2^31 inputs", 1.0, &kernel_table::exp_f32, 0x80000000ull,
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
     [](float x) { return !std::isnan(x) && x >= attnkern::simd::exp_lowest; }, "x in [ln FLT_MIN, 0]",
     "x < ln FLT_MIN and -inf, checked for 0 <= y < FLT_MIN", UINT64_MAX},
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: attnkern-ulp [--function tanh|exp] [--isa NAME[,NAME...]] [--bound ULP] [--stride K] [--quiet]\n"
               "  --function  the kernel to check (default tanh)\n"
               "  --isa       paths to check (default: every path this CPU has: avx512 avx2 sse2 neon scalar)\n"
               "  --bound     the maximum error allowed, in ULP (default: tanh: tanh_max_ulp of attnkern/bounds.hpp, 1.0; exp: 1.0)\n"
               "  --stride    check every K-th input only (default 1: all of them); the 1.0f thresholds stay exact\n"
               "  --quiet     no progress lines on stderr\n"
               "  --help      this text\n"
               "exit status: 0 every path passes, 1 a path fails, 2 a usage error\n");
}

// A usage error: the message, then the usage, on stderr; exit status 2.
[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "attnkern-ulp: %s\n", message.c_str());
  usage(stderr);
  std::exit(2);
}

// The smallest index in (lo, hi] whose input has y = 1.0f, given that hi's has and that no index up to
// lo has (lo = -1: no index at all). Each round evaluates at most `round` evenly spaced inputs of the
// gap (all of them when the gap is that small) and narrows the gap to two neighbours among them.
template <class Saturated>  // void(const std::vector<float>& x, std::vector<char>& saturated)
uint64_t first_saturated_in(int64_t lo, uint64_t hi, const function_spec& f, Saturated saturated) {
  constexpr uint64_t round = uint64_t(1) << 16;
  std::vector<uint64_t> index;
  std::vector<float> x;
  std::vector<char> at_one;
  while (static_cast<int64_t>(hi) - lo > 1) {
    const uint64_t gap = hi - static_cast<uint64_t>(lo + 1);  // the indices strictly between lo and hi
    const uint64_t n = std::min(gap, round);
    index.resize(n);
    x.resize(n);
    at_one.assign(n, 0);
    for (uint64_t k = 0; k < n; ++k) {
      index[k] = static_cast<uint64_t>(lo + 1) + k * gap / n;
      x[k] = f.input(index[k]);
    }
    saturated(x, at_one);
    const uint64_t first = static_cast<uint64_t>(std::find(at_one.begin(), at_one.end(), 1) - at_one.begin());
    if (first < n) hi = index[first];
    lo = first == 0 ? lo : static_cast<int64_t>(index[first - 1]);
  }
  return hi;
}

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
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
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--function") {
      const std::string name = value();
      f = nullptr;
      for (const auto& candidate : functions)
        if (name == candidate.name) f = &candidate;
      if (!f) usage_error("unknown function '" + name + "' (--function tanh or exp)");
    } else if (arg == "--isa") {
      const std::string list = value();
      for (size_t pos = 0; pos <= list.size();) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        if (comma > pos) paths.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
      }
      if (paths.empty()) usage_error("--isa needs at least one path name, not '" + list + "'");
    } else if (arg == "--bound") {
      const std::string text = value();
      char* end = nullptr;
      bound = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !(bound > 0))
        usage_error("--bound needs a positive number of ULP, not '" + text + "'");
    } else if (arg == "--stride") {
      const std::string text = value();
      char* end = nullptr;
      stride = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || *end != '\0' || stride == 0 ||
          stride > (uint64_t(1) << 32))
        usage_error("--stride needs a whole number from 1 to 2^32, not '" + text + "'");
    } else if (arg == "--quiet") {
      quiet = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      usage_error("unknown option '" + arg + "'");
    }
  }
  if (bound < 0) bound = f->default_bound;
  if (paths.empty()) {
    for (const char* name : {
#define ATTNKERN_ISA(name, family, arch, flags) #name,
#include "isa/isas.def"  // (kernels/: every path, best first)
#undef ATTNKERN_ISA
             "scalar"})
      if (attnkern::kernels::usable_table(name)) paths.push_back(name);
  }
  std::vector<void (*)(const float*, float*, std::size_t) noexcept> kernels;
  for (const auto& name : paths) {
    const kernel_table* table = attnkern::kernels::usable_table(name.c_str());
    if (!table) usage_error("this CPU or build has no ISA path '" + name + "'");
    kernels.push_back(table->*(f->kernel));
  }
  const size_t npaths = paths.size();

  constexpr size_t block = size_t(1) << 16;
  const uint64_t samples = (f->count + stride - 1) / stride;  // the indices 0, stride, 2 stride, ... below count
  const uint64_t blocks = (samples + block - 1) / block;
  const uint64_t weight = f->mirrored ? 2 : 1;  // x, and -x too
  const bool saturates = f->saturated_at != UINT64_MAX;
  std::vector<path_stats> stats(npaths);
  std::vector<std::vector<float>> block_first(npaths, std::vector<float>(blocks)), block_last(npaths, std::vector<float>(blocks));
  uint64_t oracle_saturation = UINT64_MAX;  // tanh: the index of the smallest sampled x whose float64 tanh rounds to 1
  uint64_t measured = 0, nans = 0, unmeasured = 0;  // the inputs checked, each -x counted too
  const auto start = std::chrono::steady_clock::now();
  uint64_t done_blocks = 0;

#if defined(_OPENMP)
#pragma omp parallel
#endif
  {
    std::vector<float> x(block), negated(block), y(block), yn(block);
    std::vector<uint64_t> index(block);
    std::vector<path_stats> local(npaths);
    uint64_t local_saturation = UINT64_MAX, local_measured = 0, local_nans = 0, local_unmeasured = 0;
#if defined(_OPENMP)
#pragma omp for schedule(dynamic, 16)
#endif
    for (int64_t b = 0; b < static_cast<int64_t>(blocks); ++b) {
      size_t count = 0;
      for (uint64_t i = static_cast<uint64_t>(b) * block * stride; i < f->count && count < block; i += stride) {
        index[count] = i;
        x[count] = f->input(i);
        negated[count] = -x[count];
        ++count;
      }
      std::vector<double> ref(count);
      for (size_t i = 0; i < count; ++i) {
        ref[i] = std::isnan(x[i]) ? NAN : f->reference(x[i]);
        uint64_t& category = f->measured(x[i]) ? local_measured : std::isnan(x[i]) ? local_nans : local_unmeasured;
        category += weight;
      }
      for (size_t p = 0; p < npaths; ++p) {
        kernels[p](x.data(), y.data(), count);
        if (f->mirrored) kernels[p](negated.data(), yn.data(), count);
        path_stats& s = local[p];
        for (size_t i = 0; i < count; ++i) {
          if (!f->property(x[i], y[i])) ++s.property_violations;
          if (f->mirrored && !(std::isnan(x[i]) ? std::isnan(yn[i]) : to_bits(yn[i]) == (to_bits(y[i]) ^ 0x80000000u)))
            ++s.property_violations;
          if (i > 0 && !std::isnan(x[i]) && !std::isnan(x[i - 1]) && y[i] < y[i - 1]) ++s.monotonic_violations;
          if (saturates && y[i] == 1.0f) s.first_saturated = std::min(s.first_saturated, index[i]);
          if (f->measured(x[i])) s.note(ulp_error(y[i], ref[i]), x[i], y[i], ref[i], weight);
        }
        block_first[p][b] = y[0];
        block_last[p][b] = y[count - 1];
      }
      if (saturates)
        for (size_t i = 0; i < count; ++i)
          if (!std::isnan(x[i]) && static_cast<float>(ref[i]) == 1.0f) local_saturation = std::min(local_saturation, index[i]);
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
      measured += local_measured;
      nans += local_nans;
      unmeasured += local_unmeasured;
    }
  }
  for (size_t p = 0; p < npaths; ++p)  // monotonic across block boundaries (NaN blocks compare false)
    for (uint64_t b = 1; b < blocks; ++b)
      if (block_first[p][b] < block_last[p][b - 1]) ++stats[p].monotonic_violations;

  // The exact thresholds at 1.0f (tanh), whatever the stride: the first sample at 1.0f is the upper end
  // of a gap whose lower end, the sample before it, is below 1.0f; searched input by input (nothing to
  // search at stride 1). Without a sample at 1.0f, the gap ends at +inf, provided y = 1.0f there.
  auto threshold = [&](uint64_t first_sample, auto saturated) -> uint64_t {
    if (first_sample == UINT64_MAX) {
      std::vector<float> at{f->input(f->saturated_at)};
      std::vector<char> at_one(1, 0);
      saturated(at, at_one);
      if (!at_one[0]) return UINT64_MAX;  // (a property violation, reported as such when sampled)
      first_sample = f->saturated_at;
    }
    // the sample before it: the largest multiple of the stride below it (-1: none)
    const int64_t below = first_sample == 0 ? -1 : static_cast<int64_t>((first_sample - 1) / stride * stride);
    return first_saturated_in(below, first_sample, *f, saturated);
  };
  uint64_t oracle_threshold = UINT64_MAX;
  std::vector<uint64_t> path_threshold(npaths, UINT64_MAX);
  if (saturates) {
    oracle_threshold = threshold(oracle_saturation, [&](const std::vector<float>& xs, std::vector<char>& at_one) {
      for (size_t i = 0; i < xs.size(); ++i) at_one[i] = static_cast<float>(f->reference(xs[i])) == 1.0f;
    });
    for (size_t p = 0; p < npaths; ++p)
      path_threshold[p] = threshold(stats[p].first_saturated, [&](const std::vector<float>& xs, std::vector<char>& at_one) {
        std::vector<float> ys(xs.size());
        kernels[p](xs.data(), ys.data(), xs.size());
        for (size_t i = 0; i < xs.size(); ++i) at_one[i] = ys[i] == 1.0f;
      });
  }

  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t checked = samples * weight;
  const std::string sampling =
      stride == 1 ? "" : "; sampled: 1 input in " + std::to_string(stride) + (f->mirrored ? ", with its negation" : "");
  std::printf("attnkern %s %s: %s inputs checked (%s%s) on %zu path(s) in %.0f s; bound %.4g ULP vs float64\n",
              attnkern_version(), f->name, with_commas(checked).c_str(), f->domain, sampling.c_str(), npaths, elapsed, bound);
  std::printf("  = %s measured (%s)", with_commas(measured).c_str(), f->measured_range);
  if (f->unmeasured) std::printf(" + %s not measured (%s)", with_commas(unmeasured).c_str(), f->unmeasured);
  std::printf(" + %s NaNs (checked for NaN -> NaN)\n", with_commas(nans).c_str());
  bool consistent = measured + unmeasured + nans == checked;
  auto x_at = [&](uint64_t i) {
    char text[32];
    if (i == UINT64_MAX) return std::string("none");
    std::snprintf(text, sizeof text, "%a", static_cast<double>(f->input(i)));
    return std::string(text);
  };
  if (saturates)
    std::printf("tanh rounds to 1.0f from x = %s%s\n", x_at(oracle_threshold).c_str(),
                stride == 1 ? "" : " (exact: the gap below the first sample at 1.0f searched input by input)");
  std::printf("\nthe histogram (<=0.5 to >2): the %s measured inputs by error in ULP, each path's row adds up to them%s\n",
              with_commas(measured).c_str(), f->mirrored ? " (x and -x count as two)" : "");
  if (saturates) {
    std::printf("| path | max ULP | <=0.5 | 0.5-0.6 | 0.6-0.7 | 0.7-0.8 | 0.8-0.9 | 0.9-1 | 1-2 | >2 | first x with y = 1 | properties | monotonic | verdict |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  } else {
    std::printf("| path | max ULP | <=0.5 | 0.5-0.6 | 0.6-0.7 | 0.7-0.8 | 0.8-0.9 | 0.9-1 | 1-2 | >2 | properties | monotonic | verdict |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  bool all_pass = true;
  for (size_t p = 0; p < npaths; ++p) {
    const path_stats& s = stats[p];
    const bool pass = s.max_ulp <= bound && s.property_violations == 0 && (!f->monotonic || s.monotonic_violations == 0);
    all_pass = all_pass && pass;
    std::printf("| %s | %.4f |", paths[p].c_str(), s.max_ulp);
    uint64_t histogram_total = 0;
    for (int b = 0; b < histogram_bins; ++b) {
      std::printf(" %llu |", static_cast<unsigned long long>(s.histogram[b]));
      histogram_total += s.histogram[b];
    }
    consistent = consistent && histogram_total == measured;
    if (saturates) std::printf(" %s |", x_at(path_threshold[p]).c_str());
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
  if (!consistent) {  // (a bug of this tool, not of the kernels)
    std::printf("\nFAIL: attnkern-ulp's own counts disagree (the histogram or the categories do not add up)\n");
    return 1;
  }
  std::printf("\n%s\n", all_pass ? "PASS: every path within the bound, with every property" : "FAIL");
  return all_pass ? 0 : 1;
}
