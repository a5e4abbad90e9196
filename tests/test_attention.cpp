// The fused attention kernels (attention_pool, additive_attention) on every ISA path this CPU has,
// against the float64 reference: the documented bounds on random shapes (odd sizes, lengths of 0,
// sequences of 10^5 steps, saturated scores, large ||v||), padding never read, thread-count
// invariance, weights optional, argument checks, and the notebooks' examples (tests/data/).
#include <attnkern/attnkern.hpp>
#include <attnkern/reference.hpp>

#include "isa/pooling/pooling_partial.hpp"
#include "support.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

using namespace attnkern_test;

namespace {

const float not_a_number = std::numeric_limits<float>::quiet_NaN();

std::vector<double> widen(const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); }
std::vector<float> narrow(const std::vector<double>& x) {
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i]);
  return y;
}
template <class T>
const T* data_or_null(const std::vector<T>& x) {
  return x.empty() ? nullptr : x.data();
}

struct outputs {
  std::vector<float> context, weights;
};

// One call's inputs, for either kernel. x is what the context averages: h (pool) or values.
struct attention_case {
  bool additive = false;
  std::size_t batch = 0, steps = 0, features = 0, attn_dim = 0;
  std::vector<float> h, w, bias;              // pool (bias may be empty: none)
  std::vector<float> keys, query, v, values;  // additive
  std::vector<int32_t> lengths;               // may be empty: all steps

  const std::vector<float>& x() const { return additive ? values : h; }
  std::size_t length(std::size_t b) const { return lengths.empty() ? steps : static_cast<std::size_t>(lengths[b]); }
  double bound() const {
    if (!additive) return attention_pool_max_error;
    double l1 = 0;
    for (float e : v) l1 += std::fabs(static_cast<double>(e));
    return additive_attention_max_error(l1);
  }

  attnkern_status call(float* context, float* weights) const {
    if (additive)
      return attnkern_additive_attention_f32(data_or_null(keys), data_or_null(query), data_or_null(v),
                                             data_or_null(values), data_or_null(lengths), batch, steps, attn_dim,
                                             features, context, weights);
    return attnkern_attention_pool_f32(data_or_null(h), data_or_null(w), data_or_null(bias), data_or_null(lengths),
                                       batch, steps, features, context, weights);
  }

  outputs run(bool want_weights = true) const {
    outputs out{std::vector<float>(batch * features, not_a_number),
                std::vector<float>(want_weights ? batch * steps : 0, not_a_number)};
    REQUIRE(call(out.context.data(), want_weights ? out.weights.data() : nullptr) == ATTNKERN_OK);
    return out;
  }

  // The float64 oracle on the same (float) inputs.
  void oracle(std::vector<double>& context, std::vector<double>& weights) const {
    context.assign(batch * features, 0.0);
    weights.assign(batch * steps, 0.0);
    const int32_t* len = data_or_null(lengths);
    if (additive) {
      attnkern::reference::additive_attention(widen(keys).data(), widen(query).data(), widen(v).data(),
                                              widen(values).data(), len, batch, steps, attn_dim, features,
                                              context.data(), weights.data());
    } else {
      const std::vector<double> b = widen(bias);
      attnkern::reference::attention_pool(widen(h).data(), widen(w).data(), b.empty() ? nullptr : b.data(), len,
                                          batch, steps, features, context.data(), weights.data());
    }
  }
};

// got against the oracle within the case's documented bound; returns the largest error seen, in
// units of the bound.
double check_outputs(const attention_case& c, const outputs& got, const std::vector<double>& context,
                     const std::vector<double>& weights, const std::string& what) {
  INFO(what);
  const double bound = c.bound();
  double worst = 0;
  for (std::size_t b = 0; b < c.batch; ++b) {
    const std::size_t len = c.length(b);
    double max_x = 0;
    for (std::size_t i = b * c.steps * c.features; i < (b * c.steps + len) * c.features; ++i)
      max_x = std::max(max_x, std::fabs(static_cast<double>(c.x()[i])));
    for (std::size_t f = 0; f < c.features; ++f) {
      const double ref = context[b * c.features + f], err = std::fabs(got.context[b * c.features + f] - ref);
      const double allowed = bound * max_x + attention_abs_floor;
      worst = worse(worst, err / allowed);
      if (!(err <= allowed)) {
        INFO("context b=" << b << " f=" << f << " got " << got.context[b * c.features + f] << " want " << ref);
        CHECK(err <= allowed);
        return worst;
      }
    }
    if (got.weights.empty()) continue;
    for (std::size_t t = 0; t < c.steps; ++t) {
      const double ref = weights[b * c.steps + t], err = std::fabs(got.weights[b * c.steps + t] - ref);
      const double allowed = bound * ref + attention_abs_floor;
      worst = worse(worst, err / allowed);
      if (!(err <= allowed) || (t >= len && got.weights[b * c.steps + t] != 0.0f)) {
        INFO("weight b=" << b << " t=" << t << " got " << got.weights[b * c.steps + t] << " want " << ref);
        CHECK(err <= allowed);
        CHECK((t < len || got.weights[b * c.steps + t] == 0.0f));
        return worst;
      }
    }
  }
  return worst;
}

// Runs c on every path and checks it; also that the context does not depend on asking for weights.
void check_every_path(const attention_case& c, const std::string& what) {
  std::vector<double> context, weights;
  c.oracle(context, weights);
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    const outputs got = c.run();
    const double worst = check_outputs(c, got, context, weights, what + " on " + isa);
    if (std::getenv("ATTNKERN_TEST_REPORT"))  // the measured error, as a fraction of the bound
      std::printf("%-48s %-7s worst error %.3f of the bound (%.1e)\n", what.c_str(), isa.c_str(), worst, c.bound());
    const outputs no_weights = c.run(false);
    INFO(what << " on " << isa);
    CHECK(same_bits(no_weights.context, got.context));
  }
}

// Random lengths in [0, steps], with 0 and steps among them when the batch allows.
std::vector<int32_t> random_lengths(std::size_t batch, std::size_t steps, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(steps));
  std::vector<int32_t> lengths(batch);
  for (auto& l : lengths) l = dist(rng);
  if (batch > 1) lengths[0] = 0;
  if (batch > 2) lengths[1] = static_cast<int32_t>(steps);
  return lengths;
}

// Padding (positions at or past the lengths) filled with NaN: never read, so no NaN comes out.
void poison_padding(std::vector<float>& x, const std::vector<int32_t>& lengths, std::size_t steps, std::size_t width) {
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (std::size_t i = (b * steps + static_cast<std::size_t>(lengths[b])) * width; i < (b + 1) * steps * width; ++i)
      x[i] = not_a_number;
}

attention_case pool_case(std::size_t batch, std::size_t steps, std::size_t features, uint32_t seed, float h_scale,
                         float w_scale, bool with_bias, bool with_lengths) {
  attention_case c;
  c.batch = batch, c.steps = steps, c.features = features;
  c.h = uniform(batch * steps * features, -h_scale, h_scale, seed);
  c.w = uniform(features, -w_scale, w_scale, seed + 1);
  if (with_bias) c.bias = uniform(steps, -0.5f, 0.5f, seed + 2);
  if (with_lengths) {
    c.lengths = random_lengths(batch, steps, seed + 3);
    poison_padding(c.h, c.lengths, steps, features);
  }
  return c;
}

attention_case additive_case(std::size_t batch, std::size_t steps, std::size_t attn_dim, std::size_t features,
                             uint32_t seed, float key_scale, float v_scale, bool with_lengths) {
  attention_case c;
  c.additive = true;
  c.batch = batch, c.steps = steps, c.attn_dim = attn_dim, c.features = features;
  c.keys = uniform(batch * steps * attn_dim, -key_scale, key_scale, seed);
  c.query = uniform(batch * attn_dim, -key_scale, key_scale, seed + 1);
  c.v = uniform(attn_dim, -v_scale, v_scale, seed + 2);
  c.values = uniform(batch * steps * features, -2.0f, 2.0f, seed + 3);
  if (with_lengths) {
    c.lengths = random_lengths(batch, steps, seed + 4);
    poison_padding(c.keys, c.lengths, steps, attn_dim);
    poison_padding(c.values, c.lengths, steps, features);
  }
  return c;
}

struct shape {
  std::size_t batch, steps, features;
};
// Odd sizes around the vector widths, a block (16 steps) and a chunk (256 steps); the notebook's shape.
const std::vector<shape> shapes{{1, 1, 1},   {3, 17, 5},   {2, 16, 16},   {5, 33, 31},   {32, 60, 128},
                                {4, 300, 7}, {2, 257, 64}, {1, 1000, 129}, {7, 15, 200}, {3, 513, 3}};

}  // namespace

TEST_CASE("attention_pool: random shapes within the bound, every path", "[attention][pool]") {
  uint32_t seed = 100;
  for (const shape& s : shapes) {
    for (int variant = 0; variant < 2; ++variant) {
      seed += 10;
      const attention_case c = pool_case(s.batch, s.steps, s.features, seed, 1.0f, 1.0f / std::sqrt(float(s.features)),
                                         variant == 1, variant == 1);
      check_every_path(c, "pool " + std::to_string(s.batch) + "x" + std::to_string(s.steps) + "x" +
                              std::to_string(s.features) + " seed " + std::to_string(seed));
    }
  }
}

TEST_CASE("attention_pool: saturated, cancelling and large scores, every path", "[attention][pool]") {
  // Every score far into tanh's flat part (the notebook's integer case), both signs.
  check_every_path(pool_case(4, 70, 40, 7, 5.0f, 3.0f, true, false), "saturated");
  // Large rows whose dot products cancel to moderate values: the double dot product matters here.
  check_every_path(pool_case(3, 50, 512, 8, 100.0f, 0.01f, false, true), "cancelling");
  // Magnitudes near the top of the float range: no overflow in the block sums.
  check_every_path(pool_case(2, 40, 33, 9, 3e37f, 1e-37f, false, false), "huge h");
}

TEST_CASE("attention_pool: a sequence of 10^5 steps, every path", "[attention][pool][long]") {
  check_every_path(pool_case(1, 100000, 8, 11, 2.0f, 1.0f, true, false), "1 x 100000 x 8");
  check_every_path(pool_case(2, 30001, 20, 12, 1.0f, 0.5f, false, true), "2 x 30001 x 20");
}

TEST_CASE("additive_attention: random shapes within the bound, every path", "[attention][additive]") {
  uint32_t seed = 500;
  for (const shape& s : shapes) {
    for (std::size_t attn_dim : {std::size_t(1), std::size_t(10), std::size_t(64)}) {
      seed += 10;
      const attention_case c = additive_case(s.batch, s.steps, attn_dim, s.features, seed, 1.5f,
                                             1.0f / std::sqrt(float(attn_dim)), attn_dim == 10);
      check_every_path(c, "additive " + std::to_string(s.batch) + "x" + std::to_string(s.steps) + "x" +
                              std::to_string(attn_dim) + "x" + std::to_string(s.features) + " seed " +
                              std::to_string(seed));
    }
  }
}

TEST_CASE("additive_attention: large ||v||, saturated tanh, long sequences, every path", "[attention][additive]") {
  // ||v||_1 about 160: scores spread over +-100 (the online max rescales, most weights underflow).
  check_every_path(additive_case(3, 300, 64, 24, 21, 1.0f, 5.0f, true), "large v");
  // ||v||_1 about 1000 with saturated tanh: the bound grows with ||v||_1.
  check_every_path(additive_case(2, 100, 200, 16, 22, 50.0f, 10.0f, false), "saturated, very large v");
  check_every_path(additive_case(1, 100000, 4, 4, 23, 1.0f, 1.0f, false), "1 x 100000");
}

TEST_CASE("fused attention: the result does not depend on the thread count", "[attention][threads]") {
  // Fewer sequences than threads (chunks in parallel, merged afterwards), a few, and many.
  const std::vector<attention_case> cases{
      pool_case(1, 5000, 64, 31, 1.0f, 0.2f, true, false), pool_case(3, 2000, 33, 32, 1.0f, 0.2f, false, true),
      pool_case(64, 300, 32, 33, 1.0f, 0.2f, false, true), additive_case(1, 3000, 32, 16, 34, 1.0f, 3.0f, false),
      additive_case(5, 700, 10, 17, 35, 1.0f, 1.0f, true)};
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (std::size_t i = 0; i < cases.size(); ++i) {
      outputs one;
      {
        threads_scope t(1);
        one = cases[i].run();
      }
      for (int threads : {2, 3, 8}) {
        threads_scope t(threads);
        const outputs many = cases[i].run();
        INFO("case " << i << " on " << isa << " with " << threads << " threads");
        CHECK(same_bits(one.context, many.context));
        CHECK(same_bits(one.weights, many.weights));
      }
    }
  }
}

TEST_CASE("fused attention: lengths of 0, steps of 0, features of 0", "[attention]") {
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    INFO(isa);
    attention_case c = pool_case(3, 20, 9, 41, 1.0f, 1.0f, false, false);
    c.lengths = {0, 0, 0};
    poison_padding(c.h, c.lengths, c.steps, c.features);
    const outputs zero = c.run();
    for (float e : zero.context) CHECK(e == 0.0f);
    for (float e : zero.weights) CHECK(e == 0.0f);
    // steps = 0: zeros; h and lengths may be null.
    attention_case empty = pool_case(2, 0, 5, 42, 1.0f, 1.0f, false, false);
    const outputs none = empty.run();
    for (float e : none.context) CHECK(e == 0.0f);
    // attn_dim = 0: every score is 0, so the weights are uniform, bit for bit, on this path (their
    // value against the oracle: below)
    const outputs uniform_weights = additive_case(2, 10, 0, 3, 44, 1.0f, 1.0f, false).run();
    REQUIRE(uniform_weights.weights.size() == 20);
    for (float e : uniform_weights.weights) CHECK(bits(e) == bits(uniform_weights.weights[0]));
  }
  // (check_every_path runs every path itself, and restores "auto" after it: outside the loop above)
  // features = 0: no context, the weights are the softmax of tanh(bias).
  check_every_path(pool_case(2, 10, 0, 43, 1.0f, 1.0f, true, false), "features 0");
  // attn_dim = 0: weights 1/10 within the documented bound
  check_every_path(additive_case(2, 10, 0, 3, 44, 1.0f, 1.0f, false), "attn_dim 0");
}

TEST_CASE("fused attention: a NaN among the positions read makes that sequence NaN", "[attention]") {
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    INFO(isa);
    attention_case p = pool_case(3, 40, 9, 61, 1.0f, 1.0f, false, false);
    attention_case a = additive_case(3, 40, 5, 9, 62, 1.0f, 1.0f, false);
    p.h[(1 * 40 + 17) * 9 + 4] = not_a_number;      // sequence 1, step 17
    a.keys[(1 * 40 + 30) * 5 + 2] = not_a_number;   // sequence 1, step 30
    for (const attention_case* c : {&p, &a}) {
      const outputs got = c->run();
      for (std::size_t b = 0; b < 3; ++b) {
        for (std::size_t f = 0; f < 9; ++f) CHECK(std::isnan(got.context[b * 9 + f]) == (b == 1));
        for (std::size_t t = 0; t < 40; ++t) CHECK(std::isnan(got.weights[b * 40 + t]) == (b == 1));
      }
    }
  }
}

TEST_CASE("attention_pool: the notebook's batch (integer inputs, saturated; normal inputs)", "[attention][golden]") {
  const auto golden = read_golden(ATTNKERN_TEST_DATA "/attention_pool_batch.txt");
  for (const std::string kind : {"int", "normal"}) {
    attention_case c;
    c.h = narrow(golden.at("h_" + kind));
    c.w = narrow(golden.at("w_" + kind));
    c.bias = narrow(golden.at("bias_" + kind));
    c.steps = c.bias.size(), c.features = c.w.size(), c.batch = c.h.size() / (c.steps * c.features);
    const std::vector<double>& context = golden.at("context_" + kind);
    const std::vector<double>& alpha = golden.at("alpha_" + kind);
    REQUIRE(context.size() == c.batch * c.features);
    for (const auto& isa : available_isas()) {
      isa_scope scope(isa);
      CHECK(check_outputs(c, c.run(), context, alpha, "attention_pool_batch " + kind + " on " + isa) <= 1.0);
    }
    if (kind == "int") {  // every score saturates: uniform weights
      for (double a : alpha) REQUIRE(std::fabs(a - 1.0 / 60) <= 1e-15);
    }
  }
}

TEST_CASE("additive_attention: the notebooks' Bahdanau step and MLP form", "[attention][golden]") {
  struct example {
    const char* file;
    const char* values;
  };
  for (const example& e : {example{"bahdanau_step.txt", "encoder_outputs"}, example{"additive_mlp.txt", "encoder_states"}}) {
    const auto golden = read_golden(std::string(ATTNKERN_TEST_DATA "/") + e.file);
    attention_case c;
    c.additive = true;
    c.keys = narrow(golden.at("keys"));
    c.query = narrow(golden.at("query"));
    c.v = narrow(golden.at(golden.count("v") ? "v" : "layer_2"));
    c.values = narrow(golden.at(e.values));
    c.batch = 1, c.attn_dim = c.query.size(), c.steps = c.keys.size() / c.attn_dim;
    c.features = c.values.size() / c.steps;
    for (const auto& isa : available_isas()) {
      isa_scope scope(isa);
      CHECK(check_outputs(c, c.run(), golden.at("context"), golden.at("weights"), std::string(e.file) + " on " + isa) <=
            1.0);
    }
  }
}
