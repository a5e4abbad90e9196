// attnkern-numerics: a fingerprint of the library's numerics, and a comparison of two.
//
//   attnkern-numerics record [--out FILE.json]      (default: stdout)
//   attnkern-numerics compare A.json B.json
//
// record runs every kernel through the C API on a fixed, seeded set of inputs (a generator of its
// own, so that every compiler and standard library draws the same numbers) on every ISA path this
// CPU has, hard cases included, and writes per kernel and path: the max and mean error against the
// float64 reference (ULP for tanh; for the rest relative: to |ref| for weights and probabilities, to
// max|x| of the values averaged for contexts and attention outputs), the worst error as a fraction
// of the documented bound (include/attnkern/bounds.hpp), and a 64-bit FNV-1a hash of the exact output bits; and
// the build (version, compiler, flags, the dispatched ISA).
//
// compare prints a table per kernel and path: identical (same bits), changed within the documented
// bound, or worse than the bound, with the error statistics as A -> B. Exit status: 0 when
// everything B has is identical, 1 when something changed within its bound, 2 when something is
// worse than its bound; 3 on bad input. A path only one file has (a CPU without AVX-512, say) is
// listed and does not count. The table's columns are as wide as their longest cell.
//
// A usage error names the argument at fault and exits 3; --help prints the usage on stdout, exit 0.
#include <attnkern/attnkern.h>
#include <attnkern/attnkern.hpp>
#include <attnkern/reference.hpp>

#include <attnkern/bounds.hpp>
#include "build_info.hpp"
#include "json.hpp"
#include "ulp.hpp"

#include <algorithm>
#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef ATTNKERN_TOOLS_BUILD
#define ATTNKERN_TOOLS_BUILD "unknown"
#endif

namespace {

using namespace attnkern::bounds;

// ---- inputs -------------------------------------------------------------------------------------

// SplitMix64: the same numbers everywhere.
class generator {
 public:
  explicit generator(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // uniform in [lo, hi), rounded to float once
  float uniform(double lo, double hi) { return static_cast<float>(lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1p-53); }
  std::vector<float> uniform(std::size_t n, double lo, double hi) {
    std::vector<float> v(n);
    for (float& x : v) x = uniform(lo, hi);
    return v;
  }

 private:
  uint64_t state_;
};

std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// ---- statistics ---------------------------------------------------------------------------------

struct stats {
  double max_error = 0, sum_error = 0, worst_of_bound = 0;
  std::size_t values = 0;
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64 over the output bits

  void add(double error, double bound) {
    if (std::isnan(error)) error = INFINITY;  // a NaN where the reference has a number
    max_error = std::max(max_error, error);
    sum_error += std::isfinite(error) ? error : 0;
    worst_of_bound = std::max(worst_of_bound, error / bound);
    ++values;
  }
  void hash_bits(const float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, &y[i], sizeof u);
      for (int byte = 0; byte < 4; ++byte) {
        hash ^= (u >> (8 * byte)) & 0xff;
        hash *= 0x100000001b3ull;
      }
    }
  }
};

// |y - ref| over scale, 0 when both are the same non-finite value (a masked -inf, a NaN row).
double error_over(float y, double ref, double scale) {
  if (std::isnan(ref)) return std::isnan(y) ? 0.0 : INFINITY;
  if (std::isinf(ref)) return static_cast<double>(y) == ref ? 0.0 : INFINITY;
  return std::fabs(static_cast<double>(y) - ref) / scale;
}

// Probabilities and weights: relative to |ref|, with the documented absolute floor.
double relative_error(float y, double ref, double bound, double floor) { return error_over(y, ref, std::fabs(ref) + floor / bound); }

// ---- the kernels' cases ---------------------------------------------------------------------------

struct kernel_case {
  std::string kernel, unit;
  std::function<void(stats&)> run;  // on the selected path
};

void tanh_case(stats& st) {
  generator g(1);
  std::vector<float> x = g.uniform((std::size_t(1) << 16) + 37, -10, 10);
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-45f, FLT_MIN, FLT_MAX, -FLT_MAX,
                            0x1.205968p+3f, 0x1.205966p+3f, 1.0f, 0x1.fffffep-1f, 0x1.000002p+0f, 1e-8f, 0.5f, -3.0f};
  x.insert(x.end(), std::begin(specials), std::end(specials));
  std::vector<float> y(x.size());
  attnkern_tanh_f32(x.data(), y.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) st.add(attnkern_tools::ulp_error(y[i], std::tanh(static_cast<double>(x[i]))), tanh_max_ulp);
  st.hash_bits(y.data(), y.size());
}

// softmax's rows: random, all in [90, 100], -inf masks (and a row of only -inf), one long row, rows
// of 1 and 3.
struct rows_case {
  std::size_t rows, cols;
  std::vector<float> x;
};
std::vector<rows_case> softmax_rows() {
  generator g(2);
  std::vector<rows_case> cases{{7, 1000, g.uniform(7000, -10, 10)},
                               {5, 257, g.uniform(5 * 257, 90, 100)},
                               {4, 61, g.uniform(4 * 61, -5, 5)},
                               {1, 1000003, g.uniform(1000003, -20, 20)},
                               {3, 1, g.uniform(3, -1, 1)},
                               {2, 3, g.uniform(6, -30, 30)}};
  for (std::size_t i = 0; i < 4 * 61; ++i)
    if (i % 3 == 0 || i / 61 == 3) cases[2].x[i] = -INFINITY;
  return cases;
}

void softmax_case(stats& st, bool log) {
  for (const rows_case& c : softmax_rows()) {
    std::vector<float> y(c.x.size());
    std::vector<double> ref(c.x.size());
    const std::vector<double> xd = widen(c.x);
    if (log) {
      attnkern_log_softmax_f32(c.x.data(), y.data(), c.rows, c.cols);
      attnkern::reference::log_softmax(xd.data(), ref.data(), c.rows, c.cols);
      for (std::size_t i = 0; i < y.size(); ++i)
        st.add(error_over(y[i], ref[i], std::max(1.0, std::fabs(ref[i]))), log_softmax_max_error);
    } else {
      attnkern_softmax_f32(c.x.data(), y.data(), c.rows, c.cols);
      attnkern::reference::softmax(xd.data(), ref.data(), c.rows, c.cols);
      for (std::size_t i = 0; i < y.size(); ++i)
        st.add(relative_error(y[i], ref[i], softmax_max_rel_error, softmax_abs_floor), softmax_max_rel_error);
    }
    st.hash_bits(y.data(), y.size());
  }
}

// A context row against its reference, relative to max|x| over the positions read.
void add_context(stats& st, const float* y, const double* ref, std::size_t n, double max_x, double bound) {
  for (std::size_t f = 0; f < n; ++f) st.add(error_over(y[f], ref[f], std::max(max_x, attention_abs_floor / bound)), bound);
}

double max_abs(const float* x, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(static_cast<double>(x[i])));
  return m;
}

struct sequence_case {
  std::size_t batch, steps, features, attn_dim;
  std::vector<int32_t> lengths;  // empty: all steps
  double lo, hi;                 // the sequence's values
  bool integers;                 // h rounded down to integers (every pooling score saturates)
};

void attention_case(stats& st, bool additive) {
  const std::vector<sequence_case> cases =
      additive ? std::vector<sequence_case>{{4, 33, 23, 19, {33, 0, 5, 17}, -1, 1, false}, {1, 5000, 8, 8, {}, -2, 2, false}}
               : std::vector<sequence_case>{{5, 61, 37, 0, {61, 0, 1, 30, 61}, -1, 1, false},
                                            {2, 40, 16, 0, {}, 0, 5, true},
                                            {1, 10000, 8, 0, {}, -3, 3, false}};
  generator g(additive ? 4 : 3);
  for (const sequence_case& c : cases) {
    const std::size_t a = c.attn_dim;
    std::vector<float> x = g.uniform(c.batch * c.steps * (additive ? a : c.features), c.lo, c.hi);
    if (c.integers)
      for (float& e : x) e = std::floor(e);
    const std::vector<float> values = additive ? g.uniform(c.batch * c.steps * c.features, -1, 1) : x;
    const std::vector<float> w = g.uniform(additive ? a : c.features, -0.3, 0.3);  // pool: w; additive: v
    const std::vector<float> small = g.uniform(std::max(c.steps, c.batch * a), -0.1, 0.1);  // bias, or the queries
    const int32_t* lengths = c.lengths.empty() ? nullptr : c.lengths.data();
    std::vector<float> context(c.batch * c.features), weights(c.batch * c.steps);
    std::vector<double> ref_context(context.size()), ref_weights(weights.size());
    const std::vector<double> xd = widen(x), vd = widen(values), wd = widen(w), sd = widen(small);
    double bound = attention_pool_max_error;
    if (additive) {
      attnkern_additive_attention_f32(x.data(), small.data(), w.data(), values.data(), lengths, c.batch, c.steps, a, c.features,
                                      context.data(), weights.data());
      attnkern::reference::additive_attention(xd.data(), sd.data(), wd.data(), vd.data(), lengths, c.batch, c.steps, a,
                                              c.features, ref_context.data(), ref_weights.data());
      double v_l1 = 0;
      for (float e : w) v_l1 += std::fabs(static_cast<double>(e));
      bound = additive_attention_max_error(v_l1);
    } else {
      attnkern_attention_pool_f32(x.data(), w.data(), small.data(), lengths, c.batch, c.steps, c.features, context.data(),
                                  weights.data());
      attnkern::reference::attention_pool(xd.data(), wd.data(), sd.data(), lengths, c.batch, c.steps, c.features,
                                          ref_context.data(), ref_weights.data());
    }
    for (std::size_t b = 0; b < c.batch; ++b) {
      const std::size_t len = lengths ? static_cast<std::size_t>(lengths[b]) : c.steps;
      const double max_x = max_abs(values.data() + b * c.steps * c.features, len * c.features);
      add_context(st, context.data() + b * c.features, ref_context.data() + b * c.features, c.features, max_x, bound);
      for (std::size_t t = 0; t < c.steps; ++t)
        st.add(relative_error(weights[b * c.steps + t], ref_weights[b * c.steps + t], bound, attention_abs_floor), bound);
    }
    st.hash_bits(context.data(), context.size());
    st.hash_bits(weights.data(), weights.size());
  }
}

void sdpa_case(stats& st) {
  struct shape {
    std::size_t batch, q_len, kv_len, d, dv;
    bool causal;
    std::vector<int32_t> lengths;
    double qk;  // q and k uniform in [-qk, qk]
  };
  const std::vector<shape> cases{{3, 17, 70, 13, 9, false, {70, 0, 33}, 1},
                                 {3, 17, 70, 13, 9, true, {70, 0, 33}, 1},
                                 {2, 5, 1100, 64, 64, false, {}, 1},
                                 {2, 40, 40, 64, 32, true, {}, 1},
                                 {1, 8, 40, 16, 16, false, {}, 8}};
  generator g(5);
  for (const shape& c : cases) {
    const std::vector<float> q = g.uniform(c.batch * c.q_len * c.d, -c.qk, c.qk), k = g.uniform(c.batch * c.kv_len * c.d, -c.qk, c.qk),
                             v = g.uniform(c.batch * c.kv_len * c.dv, -1, 1);
    const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.d)));
    const int32_t* lengths = c.lengths.empty() ? nullptr : c.lengths.data();
    std::vector<float> out(c.batch * c.q_len * c.dv);
    std::vector<double> ref(out.size());
    attnkern_sdpa_f32(q.data(), k.data(), v.data(), lengths, c.batch, c.q_len, c.kv_len, c.d, c.dv, scale, c.causal ? 1 : 0,
                      out.data());
    const std::vector<double> qd = widen(q), kd = widen(k), vd = widen(v);
    attnkern::reference::sdpa(qd.data(), kd.data(), vd.data(), lengths, c.batch, c.q_len, c.kv_len, c.d, c.dv,
                              static_cast<double>(scale), c.causal, ref.data());
    for (std::size_t b = 0; b < c.batch; ++b)
      for (std::size_t i = 0; i < c.q_len; ++i) {
        const std::size_t len = lengths ? static_cast<std::size_t>(lengths[b]) : c.kv_len;
        const std::size_t n = attnkern::reference::detail::sdpa_visible(i, len, c.q_len, c.kv_len, c.causal);
        double sigma = 0;
        for (std::size_t j = 0; j < n; ++j) {
          double s = 0;
          for (std::size_t e = 0; e < c.d; ++e) s += std::fabs(qd[(b * c.q_len + i) * c.d + e] * kd[(b * c.kv_len + j) * c.d + e]);
          sigma = std::max(sigma, static_cast<double>(scale) * s);
        }
        const double max_v = max_abs(v.data() + b * c.kv_len * c.dv, n * c.dv);
        const double bound = sdpa_max_error(c.d, sigma, n);
        const std::size_t row = (b * c.q_len + i) * c.dv;
        add_context(st, out.data() + row, ref.data() + row, c.dv, max_v, bound);
      }
    st.hash_bits(out.data(), out.size());
  }
}

const std::vector<kernel_case>& kernel_cases() {
  static const std::vector<kernel_case> cases{
      {"tanh", "ulp", tanh_case},
      {"softmax", "relative", [](stats& st) { softmax_case(st, false); }},
      {"log_softmax", "relative", [](stats& st) { softmax_case(st, true); }},
      {"attention_pool", "relative", [](stats& st) { attention_case(st, false); }},
      {"additive_attention", "relative", [](stats& st) { attention_case(st, true); }},
      {"sdpa", "relative", sdpa_case},
  };
  return cases;
}

std::string number(double v) {
  if (std::isinf(v)) return "1e999";  // (read back as infinity by strtod)
  char text[40];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

int record(const std::string& out_path) {
  // (every path is recorded whatever the active one is; the note is for the "dispatched_isa" field)
  if (attnkern_isa_env_status() != ATTNKERN_OK)
    std::fprintf(stderr, "attnkern-numerics: note: %s\n", attnkern_last_error_message());
  std::ostringstream out;
  using attnkern_tools::json::quote;
  out << "{\n  \"format\": \"attnkern-numerics 1\",\n  \"build\": {\"version\": " << quote(attnkern_version())
      << ", \"compiler\": " << quote(attnkern_tools::compiler_description()) << ", \"flags\": " << quote(ATTNKERN_TOOLS_BUILD)
      << ", \"dispatched_isa\": " << quote(attnkern_isa()) << "},\n  \"results\": [";
  bool first = true;
  const std::string started = attnkern_isa();
  for (const std::string& name : attnkern::isa_list()) {
    const char* isa = name.c_str();
    attnkern_set_isa(isa);
    for (const kernel_case& k : kernel_cases()) {
      std::fprintf(stderr, "attnkern-numerics: %s on %s ...\n", k.kernel.c_str(), isa);
      stats st;
      k.run(st);
      char hash[20];
      std::snprintf(hash, sizeof hash, "%016" PRIx64, st.hash);
      out << (first ? "\n" : ",\n") << "    {\"kernel\": " << quote(k.kernel) << ", \"path\": " << quote(isa)
          << ", \"unit\": " << quote(k.unit) << ", \"max_error\": " << number(st.max_error)
          << ", \"mean_error\": " << number(st.values ? st.sum_error / static_cast<double>(st.values) : 0)
          << ", \"worst_of_bound\": " << number(st.worst_of_bound) << ", \"values\": " << st.values << ", \"hash\": \""
          << hash << "\"}";
      first = false;
    }
  }
  attnkern_set_isa(started.c_str());
  out << "\n  ]\n}\n";
  if (out_path.empty()) {
    std::fputs(out.str().c_str(), stdout);
    return 0;
  }
  const std::string tmp = out_path + ".tmp";  // nothing left behind on failure
  std::ofstream file(tmp);
  file << out.str();
  file.close();
  if (!file || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    std::fprintf(stderr, "attnkern-numerics: cannot write %s\n", out_path.c_str());
    return 3;
  }
  std::fprintf(stderr, "attnkern-numerics: wrote %s\n", out_path.c_str());
  return 0;
}

// ---- compare ------------------------------------------------------------------------------------

bool load(const std::string& path, attnkern_tools::json::value& v) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "attnkern-numerics: cannot read %s\n", path.c_str());
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    v = attnkern_tools::json::parser(text.str()).parse();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attnkern-numerics: %s is not JSON: %s\n", path.c_str(), e.what());
    return false;
  }
  if (v["format"].str() != "attnkern-numerics 1" || v["results"].kind != attnkern_tools::json::value::array_kind) {
    std::fprintf(stderr, "attnkern-numerics: %s is not an attnkern-numerics fingerprint\n", path.c_str());
    return false;
  }
  for (const auto& r : v["results"].array)
    if (r["kernel"].str().empty() || r["path"].str().empty() || r["hash"].str().empty() ||
        r["worst_of_bound"].kind != attnkern_tools::json::value::number_kind) {
      std::fprintf(stderr, "attnkern-numerics: %s has a result without kernel, path, hash or worst_of_bound\n", path.c_str());
      return false;
    }
  return true;
}

std::string arrow(double a, double b) {
  const std::string l = number(a), r = number(b);
  return l == r ? l : l + " -> " + r;
}

int compare(const std::string& path_a, const std::string& path_b) {
  attnkern_tools::json::value a, b;
  if (!load(path_a, a) || !load(path_b, b)) return 3;
  for (const auto* file : {&a, &b}) {
    const auto& build = (*file)["build"];
    std::printf("%s: attnkern %s, %s, %s, dispatched %s\n", file == &a ? "A" : "B", build["version"].str("?").c_str(),
                build["compiler"].str("?").c_str(), build["flags"].str("?").c_str(), build["dispatched_isa"].str("?").c_str());
  }
  std::map<std::pair<std::string, std::string>, const attnkern_tools::json::value*> in_a, in_b;
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& r : a["results"].array) {
    in_a[{r["kernel"].str(), r["path"].str()}] = &r;
    order.push_back({r["kernel"].str(), r["path"].str()});
  }
  for (const auto& r : b["results"].array) {
    if (!in_a.count({r["kernel"].str(), r["path"].str()})) order.push_back({r["kernel"].str(), r["path"].str()});
    in_b[{r["kernel"].str(), r["path"].str()}] = &r;
  }
  // the table's cells, then each column as wide as its longest cell, two spaces apart
  std::vector<std::vector<std::string>> table{
      {"kernel", "path", "status", "max error A -> B", "mean error A -> B", "of bound A -> B"}};
  int identical = 0, changed = 0, worse = 0, one_sided = 0;
  for (const auto& key : order) {
    const auto ia = in_a.find(key), ib = in_b.find(key);
    std::string status, max_e, mean_e, of_bound;
    if (ia == in_a.end() || ib == in_b.end()) {
      status = ia == in_a.end() ? "only in B" : "only in A (not run)";
      ++one_sided;
    } else {
      const auto &ra = *ia->second, &rb = *ib->second;
      const std::string unit = rb["unit"].str("");
      max_e = arrow(ra["max_error"].num(), rb["max_error"].num()) + " " + unit;
      mean_e = arrow(ra["mean_error"].num(), rb["mean_error"].num());
      of_bound = arrow(ra["worst_of_bound"].num(), rb["worst_of_bound"].num());
      if (!(rb["worst_of_bound"].num() <= 1.0)) {
        status = "WORSE than the bound";
        ++worse;
      } else if (ra["hash"].str() == rb["hash"].str()) {
        status = "identical";
        ++identical;
      } else {
        status = "changed, within bound";
        ++changed;
      }
    }
    table.push_back({key.first, key.second, status, max_e, mean_e, of_bound});
  }
  std::vector<std::size_t> width(table.front().size(), 0);
  for (const auto& row : table)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::printf("\n");
  for (const auto& row : table) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);  // (a row with empty cells at the end)
    std::printf("%s\n", line.c_str());
  }
  std::printf("\n%d identical, %d changed within the documented bound, %d worse than it; %d in one file only\n", identical,
              changed, worse, one_sided);
  return worse ? 2 : changed ? 1 : 0;
}

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: attnkern-numerics record [--out FILE.json]   (default: stdout)\n"
               "       attnkern-numerics compare A.json B.json\n"
               "       attnkern-numerics --help\n"
               "exit status of compare: 0 identical, 1 changed within the documented bounds, 2 worse than a bound, "
               "3 bad input (and any usage error)\n");
}

// A usage error: what is wrong, naming the argument, then the usage, on stderr; exit status 3.
int usage_error(const std::string& message) {
  std::fprintf(stderr, "attnkern-numerics: %s\n", message.c_str());
  usage(stderr);
  return 3;
}

bool is_help(const std::string& arg) { return arg == "--help" || arg == "-h"; }

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (std::find_if(args.begin(), args.end(), is_help) != args.end()) {
    usage(stdout);
    return 0;
  }
  if (args.empty()) return usage_error("missing command: record or compare");
  const std::string& command = args[0];
  if (command == "record") {
    std::string out;
    bool have_out = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& arg = args[i];
      std::string value;
      if (arg == "--out") {
        if (i + 1 >= args.size()) return usage_error("record: --out needs a file name");
        value = args[++i];
      } else if (arg.rfind("--out=", 0) == 0) {
        value = arg.substr(6);
      } else if (arg.rfind("-", 0) == 0) {
        return usage_error("record: unknown option '" + arg + "'");
      } else {
        return usage_error("record: unexpected argument '" + arg + "' (the file goes after --out)");
      }
      if (value.empty()) return usage_error("record: --out needs a file name, not an empty one");
      if (have_out) return usage_error("record: --out given twice ('" + out + "', then '" + value + "')");
      out = value;
      have_out = true;
    }
    return record(out);
  }
  if (command == "compare") {
    std::vector<std::string> files;
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg.size() > 1 && arg[0] == '-') return usage_error("compare: unknown option '" + arg + "'");
      if (files.size() == 2) return usage_error("compare: unexpected argument '" + arg + "' (it takes two files)");
      files.push_back(arg);
    }
    if (files.size() < 2)
      return usage_error(std::string("compare: needs two files, A.json B.json; got ") + (files.empty() ? "none" : "only '" + files[0] + "'"));
    return compare(files[0], files[1]);
  }
  return usage_error("unknown command '" + command + "' (record or compare)");
}
