// The calls of every entry point that the concurrency and thread-pool tests run (one call each, on
// inputs of its own, some in each of the executor's regimes), their sequential results per path, and
// a count of the results that differ from those.
#pragma once

#include "support.hpp"

#include <attnkern/attnkern.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace attnkern_test {

// One call of one entry point on inputs of its own (one call: a path switch between two calls would
// mix paths); run() returns every output float, or nothing when the call failed (no Catch2 macros
// here: they are not thread-safe). Every call below writes something, so an empty result is a
// failure, and same_result never accepts one: a kernel that fails every call fails these tests.
struct call {
  std::string name;
  std::function<std::vector<float>()> run;
};

// A call's result is `want`, bit for bit, and the call succeeded.
inline bool same_result(const std::vector<float>& got, const std::vector<float>& want) {
  return !got.empty() && same_bits(got, want);
}

inline std::vector<call> calls() {
  std::vector<call> all;
  for (std::size_t n : {std::size_t(1000), std::size_t(70000)}) {
    auto x = std::make_shared<std::vector<float>>(uniform(n, -6.0f, 6.0f, 1));
    all.push_back({"tanh " + std::to_string(n), [x] {
                     std::vector<float> y(x->size());
                     if (attnkern_tanh_f32(x->data(), y.data(), y.size()) != ATTNKERN_OK) return std::vector<float>{};
                     return y;
                   }});
  }
  for (std::size_t rows : {std::size_t(3), std::size_t(64)}) {
    const std::size_t cols = rows == 3 ? 20000 : 500;
    auto x = std::make_shared<std::vector<float>>(uniform(rows * cols, -10.0f, 10.0f, 2));
    for (bool log : {false, true})
      all.push_back({(log ? "log_softmax " : "softmax ") + std::to_string(rows), [x, rows, cols, log] {
                       std::vector<float> y(x->size());
                       if ((log ? attnkern_log_softmax_f32 : attnkern_softmax_f32)(x->data(), y.data(), rows, cols) != ATTNKERN_OK) return std::vector<float>{};
                       return y;
                     }});
  }
  for (std::size_t batch : {std::size_t(1), std::size_t(9)}) {
    const std::size_t steps = batch == 1 ? 3000 : 60, features = 37, attn = 11;
    auto h = std::make_shared<std::vector<float>>(uniform(batch * steps * features, -1.0f, 1.0f, 3));
    auto k = std::make_shared<std::vector<float>>(uniform(batch * steps * attn, -1.0f, 1.0f, 4));
    auto small = std::make_shared<std::vector<float>>(uniform(std::max(steps, batch * attn) + features, -0.3f, 0.3f, 5));
    all.push_back({"attention_pool " + std::to_string(batch), [=] {
                     std::vector<float> context(batch * features), weights(batch * steps);
                     if (attnkern_attention_pool_f32(h->data(), small->data(), small->data() + features, nullptr, batch,
                                                         steps, features, context.data(), weights.data()) != ATTNKERN_OK) return std::vector<float>{};
                     context.insert(context.end(), weights.begin(), weights.end());
                     return context;
                   }});
    all.push_back({"additive_attention " + std::to_string(batch), [=] {
                     std::vector<float> context(batch * features), weights(batch * steps);
                     if (attnkern_additive_attention_f32(k->data(), small->data(), small->data(), h->data(), nullptr, batch,
                                                             steps, attn, features, context.data(), weights.data()) != ATTNKERN_OK) return std::vector<float>{};
                     context.insert(context.end(), weights.begin(), weights.end());
                     return context;
                   }});
  }
  for (std::size_t q_len : {std::size_t(1), std::size_t(100)}) {
    const std::size_t batch = 4, kv = q_len == 1 ? 2000 : 100, d = 32;
    auto q = std::make_shared<std::vector<float>>(uniform(batch * q_len * d, -1.0f, 1.0f, 6));
    auto kv_data = std::make_shared<std::vector<float>>(uniform(2 * batch * kv * d, -1.0f, 1.0f, 7));
    all.push_back({"sdpa " + std::to_string(q_len), [=] {
                     std::vector<float> out(batch * q_len * d);
                     if (attnkern_sdpa_f32(q->data(), kv_data->data(), kv_data->data() + batch * kv * d, nullptr, batch, q_len,
                                               kv, d, d, 0.2f, q_len > 1, out.data()) != ATTNKERN_OK) return std::vector<float>{};
                     return out;
                   }});
  }
  {  // attnkern_attention: a GQA decode step (8 query heads, 2 K/V heads) on an f16 K/V cache
    const std::size_t Hq = 8, Hk = 2, kv = 3000, d = 64;
    auto q = std::make_shared<std::vector<float>>(uniform(Hq * d, -1.0f, 1.0f, 8));
    auto k = std::make_shared<std::vector<uint16_t>>(to_half(uniform(Hk * kv * d, -1.0f, 1.0f, 9), ATTNKERN_F16));
    auto v = std::make_shared<std::vector<uint16_t>>(to_half(uniform(Hk * kv * d, -1.0f, 1.0f, 10), ATTNKERN_F16));
    all.push_back({"attention gqa decode f16", [=] {
                     std::vector<float> out(Hq * d);
                     attnkern_attention_args a;
                     attnkern_attention_args_init(&a);
                     a.batch = 1, a.q_heads = Hq, a.kv_heads = Hk, a.q_len = 1, a.kv_len = kv, a.head_dim = a.value_dim = d;
                     a.q = q->data(), a.q_strides = attnkern_strides_bhsd(Hq, 1, d);
                     a.k = k->data(), a.k_strides = attnkern_strides_bhsd(Hk, kv, d), a.k_dtype = ATTNKERN_F16;
                     a.v = v->data(), a.v_strides = attnkern_strides_bhsd(Hk, kv, d), a.v_dtype = ATTNKERN_F16;
                     a.out = out.data(), a.out_strides = attnkern_strides_bhsd(Hq, 1, d);
                     if (attnkern_attention(&a) != ATTNKERN_OK) return std::vector<float>{};
                     return out;
                   }});
  }
  return all;
}

// The results of every call, one after another on this thread: each must succeed.
inline std::vector<std::vector<float>> each_once(const std::vector<call>& all) {
  std::vector<std::vector<float>> results;
  for (const call& c : all) {
    results.push_back(c.run());
    INFO(c.name << " on " << attnkern_isa() << ": " << attnkern_last_error_message());
    REQUIRE(!results.back().empty());
  }
  return results;
}

// Sequential results of every call on every path, on one thread: expected[path][call].
inline std::map<std::string, std::vector<std::vector<float>>> sequential(const std::vector<call>& all) {
  std::map<std::string, std::vector<std::vector<float>>> expected;
  threads_scope one(1);
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    expected[isa] = each_once(all);
  }
  return expected;
}

// Runs every call once, beginning with call `offset` (so that threads run different shapes at once);
// returns how many results differ from `expected` (no Catch2 macros: called off the main thread).
inline int mismatches_from(const std::vector<call>& all, const std::vector<std::vector<float>>& expected, std::size_t offset) {
  int mismatches = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::size_t which = (i + offset) % all.size();
    if (!same_result(all[which].run(), expected[which])) ++mismatches;
  }
  return mismatches;
}

}  // namespace attnkern_test
