// attnkern-examples: the reference notebooks' four examples run with the library's kernels, each
// result printed beside the float64 expectation and the difference.
//
//   attnkern-examples [--data DIR] [--plot DIR]
//
//   --data DIR   where the examples are (sdpa_words.txt, attention_pool_batch.txt, bahdanau_step.txt,
//                additive_mlp.txt); default: share/attnkern/examples beside the installed binary,
//                else the source tree's tests/data
//   --plot DIR   also write PNG heatmaps of the attention weights there (tools/plot_examples.py,
//                matplotlib), and the matrices they show as heatmaps.json
//
// Exit status: 0 when every result is within its tolerance (golden_tolerance (1e-6) for the word
// example, the kernels' documented bounds for the others), 1 when one is not, 2 on bad usage or unreadable data.
#include <attnkern/attnkern.h>

#include <attnkern/bounds.hpp>
#include "golden.hpp"
#include "json.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef ATTNKERN_EXAMPLES_SOURCE_DATA
#define ATTNKERN_EXAMPLES_SOURCE_DATA ""
#endif
#ifndef ATTNKERN_EXAMPLES_SOURCE_SCRIPT
#define ATTNKERN_EXAMPLES_SOURCE_SCRIPT ""
#endif

namespace {

using arrays = std::map<std::string, std::vector<double>>;
using namespace attnkern::bounds;

bool all_within = true;

std::vector<float> narrow(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// How print_compared applies its tolerance: as it is, or times each expected value's magnitude (plus
// attention_abs_floor), as the weights' bounds are documented.
enum class applied { absolute, relative };

// Prints a matrix beside its expectation and the difference (attnkern - float64), row by row, and
// the max |difference|; every difference must be within `tolerance` (a NaN is not; rows and columns
// beyond `show_rows` x `show_cols` are compared but not printed); returns the max.
double print_compared(const std::string& title, const std::vector<float>& got, const std::vector<double>& want,
                      std::size_t rows, std::size_t cols, double tolerance, applied how = applied::absolute,
                      std::size_t show_rows = 8, std::size_t show_cols = 6) {
  double worst = 0;
  bool ok = true;
  for (std::size_t i = 0; i < rows * cols; ++i) {
    const double diff = std::fabs(static_cast<double>(got[i]) - want[i]);
    const double allowed = how == applied::relative ? tolerance * std::fabs(want[i]) + attention_abs_floor : tolerance;
    ok = ok && diff <= allowed;
    if (std::isnan(diff) || diff > worst) worst = diff;  // (a NaN stays)
  }
  std::printf("%s (%zu x %zu)%s\n", title.c_str(), rows, cols,
              rows > show_rows || cols > show_cols ? ", first rows and columns shown" : "");
  auto row_text = [&](std::size_t r, const char* format, auto value) {
    std::string text = "  [";
    for (std::size_t c = 0; c < std::min(cols, show_cols); ++c) {
      char cell[32];
      std::snprintf(cell, sizeof cell, format, c ? " " : "", value(r * cols + c));
      text += cell;
    }
    return text + (cols > show_cols ? " ...]" : "]");
  };
  for (std::size_t r = 0; r < std::min(rows, show_rows); ++r) {
    std::printf("  attnkern %s\n", row_text(r, "%s% .8f", [&](std::size_t i) { return static_cast<double>(got[i]); }).c_str());
    std::printf("  float64  %s\n", row_text(r, "%s% .8f", [&](std::size_t i) { return want[i]; }).c_str());
    std::printf("  diff     %s\n",
                row_text(r, "%s% 11.1e", [&](std::size_t i) { return static_cast<double>(got[i]) - want[i]; }).c_str());
  }
  all_within = all_within && ok;
  std::printf("  max |attnkern - float64| = %.2e over all %zu values (%s %.0e%s)\n\n", worst, rows * cols,
              ok ? "within" : "NOT within", tolerance, how == applied::relative ? " x |float64| each" : "");
  return worst;
}

// ---- heatmaps ---------------------------------------------------------------------------------

struct heatmap {
  std::string file, title, x_label, y_label;
  std::vector<std::string> x_ticks, y_ticks;
  std::vector<float> values;  // rows = y, columns = x
  std::size_t rows, cols;
};
std::vector<heatmap> heatmaps;

std::vector<std::string> numbered(const std::string& prefix, std::size_t n) {
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < n; ++i) labels.push_back(prefix + std::to_string(i + 1));
  return labels;
}

// ---- the examples -----------------------------------------------------------------------------

void words(const arrays& a) {
  std::printf("== 1. Scaled dot-product attention on four 3-feature words (sdpa_words.txt)\n\n");
  const std::vector<float> q = narrow(a.at("Q")), k = narrow(a.at("K")), v = narrow(a.at("V"));
  const float scale = static_cast<float>(a.at("scale")[0]);
  std::vector<float> out(12);
  attnkern_sdpa_f32(q.data(), k.data(), v.data(), nullptr, 1, 4, 4, 3, 3, scale, 0, out.data());
  // the weights, for the printout: softmax over each row of the scaled scores
  std::vector<float> scores(16), rowwise(16), whole(16);
  for (std::size_t i = 0; i < 16; ++i) scores[i] = static_cast<float>(a.at("scores")[i] * a.at("scale")[0]);
  attnkern_softmax_f32(scores.data(), rowwise.data(), 4, 4);
  attnkern_softmax_f32(scores.data(), whole.data(), 1, 16);
  std::vector<double> rowwise_expected(16), whole_expected(16);
  {
    const std::vector<double>& s = a.at("scores");
    double m = -INFINITY, sum_all = 0;
    for (double x : s) m = std::max(m, x * a.at("scale")[0]);
    for (double x : s) sum_all += std::exp(x * a.at("scale")[0] - m);
    for (std::size_t i = 0; i < 4; ++i) {
      double row_m = -INFINITY, row_sum = 0;
      for (std::size_t j = 0; j < 4; ++j) row_m = std::max(row_m, s[i * 4 + j] * a.at("scale")[0]);
      for (std::size_t j = 0; j < 4; ++j) row_sum += std::exp(s[i * 4 + j] * a.at("scale")[0] - row_m);
      for (std::size_t j = 0; j < 4; ++j) {
        rowwise_expected[i * 4 + j] = std::exp(s[i * 4 + j] * a.at("scale")[0] - row_m) / row_sum;
        whole_expected[i * 4 + j] = std::exp(s[i * 4 + j] * a.at("scale")[0] - m) / sum_all;
      }
    }
  }
  print_compared("attention weights, softmax over each row of Q K^T / sqrt(3)", rowwise, rowwise_expected, 4, 4, golden_tolerance);
  print_compared("attention output, row by row (attnkern_sdpa_f32)", out, a.at("attention_rowwise"), 4, 3, golden_tolerance);
  // the notebook's table: the whole-matrix weights times V
  std::vector<float> whole_out(12);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t c = 0; c < 3; ++c) {
      double acc = 0;
      for (std::size_t j = 0; j < 4; ++j) acc += static_cast<double>(whole[i * 4 + j]) * static_cast<double>(v[j * 3 + c]);
      whole_out[i * 3 + c] = static_cast<float>(acc);
    }
  print_compared("attention output as the notebook printed it: softmax over all 16 scores at once, then @ V", whole_out,
                 a.at("attention_whole_matrix"), 4, 3, golden_tolerance);
  std::printf("They differ because the notebook called scipy.special.softmax without axis=, which normalizes all 16\n"
              "scores together, so each word's weights sum to its share of the whole (not to 1); attention\n"
              "normalizes each query's row, which is what attnkern_sdpa_f32 computes.\n\n");
  heatmaps.push_back({"sdpa_words_rowwise.png", "Scaled dot-product attention, four words: weights row by row",
                      "key (word)", "query (word)", numbered("word ", 4), numbered("word ", 4), rowwise, 4, 4});
  heatmaps.push_back({"sdpa_words_whole_matrix.png", "The notebook's weights: one softmax over all 16 scores",
                      "key (word)", "query (word)", numbered("word ", 4), numbered("word ", 4), whole, 4, 4});
}

void pooling(const arrays& a) {
  std::printf("== 2. Feed-forward attention pooling, steps 60, features 128 (attention_pool_batch.txt)\n\n");
  for (const char* kind : {"int", "normal"}) {
    const std::string k = kind;
    const std::vector<float> h = narrow(a.at("h_" + k)), w = narrow(a.at("w_" + k)), bias = narrow(a.at("bias_" + k));
    const std::size_t steps = 60, features = 128, batch = h.size() / (steps * features);
    std::vector<float> context(batch * features), alpha(batch * steps);
    attnkern_attention_pool_f32(h.data(), w.data(), bias.data(), nullptr, batch, steps, features, context.data(), alpha.data());
    double max_h = 0;
    for (float x : h) max_h = std::max(max_h, std::fabs(static_cast<double>(x)));
    std::printf("-- %s: batch %zu%s\n\n", kind, batch,
                k == "int" ? " of integer inputs in [0, 5) as in the notebook (every score saturates: alpha = 1/60)"
                           : " of standard normal h, w and bias scaled by 0.1");
    print_compared("context vectors", context, a.at("context_" + k), batch, features, attention_pool_max_error * max_h,
                   applied::absolute, 4);
    print_compared("attention weights alpha", alpha, a.at("alpha_" + k), batch, steps, attention_pool_max_error,
                   applied::relative, 4);
    heatmaps.push_back({"attention_pool_" + k + ".png",
                        k == "int" ? std::string("Attention pooling, the notebook's integer inputs: weights alpha (every score saturates: all 1/60)")
                                   : std::string("Attention pooling, normal inputs: weights alpha"),
                        "batch item", "step", numbered("", batch), numbered("", steps), {}, steps, batch});
    heatmaps.back().values.resize(steps * batch);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t t = 0; t < steps; ++t) heatmaps.back().values[t * batch + b] = alpha[b * steps + t];
  }
}

void additive(const arrays& a, const std::string& file, const std::string& title, const std::string& sequence) {
  std::printf("== %s (%s)\n\n", title.c_str(), file.c_str());
  const std::vector<float> keys = narrow(a.at("keys")), query = narrow(a.at("query")), values = narrow(a.at(sequence));
  const std::vector<float> v = narrow(a.count("v") ? a.at("v") : a.at("layer_2"));
  const std::size_t attn_dim = query.size(), steps = keys.size() / attn_dim, features = values.size() / steps;
  std::vector<float> context(features), weights(steps);
  attnkern_additive_attention_f32(keys.data(), query.data(), v.data(), values.data(), nullptr, 1, steps, attn_dim, features,
                                  context.data(), weights.data());
  double v_l1 = 0, max_x = 0;
  for (float x : v) v_l1 += std::fabs(static_cast<double>(x));
  for (float x : values) max_x = std::max(max_x, std::fabs(static_cast<double>(x)));
  const double bound = additive_attention_max_error(v_l1);
  print_compared("attention weights", weights, a.at("weights"), 1, steps, bound, applied::relative, 1, 16);
  print_compared("context vector", context, a.at("context"), 1, features, bound * max_x, applied::absolute, 1, 16);
  const std::string name = file.substr(0, file.find('.'));
  heatmaps.push_back({name + ".png", title.substr(title.find(' ') + 1) + ": weights", "encoder step", "", numbered("", steps), {"decoder step"}, weights, 1,
                      steps});
}

std::string executable_dir() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  path[n] = 0;
  std::string p(path);
  return p.substr(0, p.rfind('/'));
}

bool readable(const std::string& path) { return std::ifstream(path).good(); }

int write_plots(const std::string& dir, const std::string& script) {
  if (std::system(("mkdir -p '" + dir + "'").c_str()) != 0) {
    std::fprintf(stderr, "attnkern-examples: cannot create %s\n", dir.c_str());
    return 2;
  }
  using attnkern_tools::json::quote;
  std::ostringstream out;
  out << "[\n";
  for (std::size_t h = 0; h < heatmaps.size(); ++h) {
    const heatmap& m = heatmaps[h];
    auto list = [&](const std::vector<std::string>& l) {
      std::string s = "[";
      for (std::size_t i = 0; i < l.size(); ++i) s += (i ? ", " : "") + quote(l[i]);
      return s + "]";
    };
    out << "  {\"file\": " << quote(m.file) << ", \"title\": " << quote(m.title) << ", \"x_label\": " << quote(m.x_label)
        << ", \"y_label\": " << quote(m.y_label) << ", \"x_ticks\": " << list(m.x_ticks) << ", \"y_ticks\": " << list(m.y_ticks)
        << ", \"rows\": " << m.rows << ", \"cols\": " << m.cols << ", \"values\": [";
    for (std::size_t i = 0; i < m.values.size(); ++i) {
      char v[32];
      std::snprintf(v, sizeof v, "%s%.9g", i ? ", " : "", static_cast<double>(m.values[i]));
      out << v;
    }
    out << "]}" << (h + 1 < heatmaps.size() ? ",\n" : "\n");
  }
  out << "]\n";
  const std::string data = dir + "/heatmaps.json";
  std::ofstream(data) << out.str();
  const char* python = readable("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const std::string command = std::string(python) + " '" + script + "' '" + data + "' '" + dir + "'";
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "attnkern-examples: the plots failed (%s); matplotlib comes with python3-matplotlib\n", command.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, plot_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--data" || arg == "--plot") && i + 1 < argc) {
      (arg == "--data" ? data : plot_dir) = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: attnkern-examples [--data DIR] [--plot DIR]\n");
      return 0;
    } else {
      std::fprintf(stderr, "attnkern-examples: unknown argument '%s'\nusage: attnkern-examples [--data DIR] [--plot DIR]\n",
                   arg.c_str());
      return 2;
    }
  }
  const std::string installed = executable_dir() + "/../share/attnkern";
  if (data.empty()) data = readable(installed + "/examples/sdpa_words.txt") ? installed + "/examples" : ATTNKERN_EXAMPLES_SOURCE_DATA;
  const std::string script =
      readable(installed + "/plot_examples.py") ? installed + "/plot_examples.py" : ATTNKERN_EXAMPLES_SOURCE_SCRIPT;

  std::map<std::string, arrays> files;
  for (const char* name : {"sdpa_words.txt", "attention_pool_batch.txt", "bahdanau_step.txt", "additive_mlp.txt"}) {
    files[name] = attnkern_tools::read_golden(data + "/" + name);
    if (files[name].empty()) {
      std::fprintf(stderr, "attnkern-examples: cannot read %s/%s (give --data DIR)\n", data.c_str(), name);
      return 2;
    }
  }
  std::printf("attnkern %s, ISA path %s; the notebooks' examples from %s\n\n", attnkern_version(), attnkern_isa(), data.c_str());
  try {
    words(files["sdpa_words.txt"]);
    pooling(files["attention_pool_batch.txt"]);
    additive(files["bahdanau_step.txt"], "bahdanau_step.txt", "3. Bahdanau attention, one decoder step", "encoder_outputs");
    additive(files["additive_mlp.txt"], "additive_mlp.txt", "4. Additive attention written as an MLP on [encoder; decoder]",
             "encoder_states");
  } catch (const std::out_of_range&) {
    std::fprintf(stderr, "attnkern-examples: an example file lacks an array it needs (%s)\n", data.c_str());
    return 2;
  }
  std::printf("%s\n", all_within ? "every result is within its tolerance" : "SOME RESULTS ARE NOT WITHIN THEIR TOLERANCE");
  if (!plot_dir.empty()) {
    if (const int status = write_plots(plot_dir, script)) return status;
    std::printf("heatmaps written to %s\n", plot_dir.c_str());
  }
  return all_within ? 0 : 1;
}
