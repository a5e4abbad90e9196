// Bad input, one table for every entry point: null pointers, sizes whose element or byte counts
// overflow size_t, lengths below 0 or above steps, outputs overlapping inputs or each other,
// non-finite scales, unknown ISA names. Each row gives its documented status and that status's
// message, and writes nothing: every output (and, in the overlap rows, the whole shared buffer) is
// poisoned before the call and compared bit for bit after it. Zero sizes are valid, with null
// pointers too, and write nothing either.
#include "support.hpp"

#include <attnkern/attnkern.h>
#include <attnkern/attnkern.hpp>

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace attnkern_test;

namespace {

const float poison = from_bits(0x7fc0deadu);  // a NaN with a payload no kernel produces
constexpr std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
constexpr std::size_t max_size = std::numeric_limits<std::size_t>::max();

// Inputs for every entry point, and poisoned outputs. Shapes: tanh 64; softmax 4 x 8; attention
// batch 2 x steps 8 x features 4 (attn_dim 3); sdpa batch 2, q_len 3, kv_len 4, head_dim 5,
// value_dim 6.
struct buffers {
  std::vector<float> x = uniform(64, -1.0f, 1.0f, 1);                                    // tanh, softmax, h
  std::vector<float> w = uniform(8, -1.0f, 1.0f, 2), bias = uniform(8, -1.0f, 1.0f, 3);  // w, v, bias
  std::vector<float> keys = uniform(48, -1.0f, 1.0f, 4), query = uniform(6, -1.0f, 1.0f, 5);
  std::vector<float> q = uniform(30, -1.0f, 1.0f, 6), k = uniform(40, -1.0f, 1.0f, 7), v = uniform(48, -1.0f, 1.0f, 8);
  std::vector<float> y = std::vector<float>(64, poison), context = std::vector<float>(8, poison),
                     weights = std::vector<float>(16, poison), out = std::vector<float>(36, poison);
  std::vector<float> shared = uniform(256, -1.0f, 1.0f, 9);  // inputs and outputs overlapping inside it
  const std::vector<float> shared_before = shared;
  const int32_t good_lengths[2] = {8, 3}, negative[2] = {8, -1}, too_long[2] = {9, 3}, kv_too_long[2] = {5, 1};

  bool untouched() const {
    for (const auto* o : {&y, &context, &weights, &out})
      for (float e : *o)
        if (bits(e) != bits(poison)) return false;
    return same_bits(shared, shared_before);
  }
};

struct row {
  std::string what;
  attnkern_status expected;
  std::function<attnkern_status(buffers&)> call;
};

std::vector<row> table() {
  using S = attnkern_status;
  const S null = ATTNKERN_ERROR_NULL_POINTER, size = ATTNKERN_ERROR_INVALID_SIZE, length = ATTNKERN_ERROR_INVALID_LENGTH,
          alias = ATTNKERN_ERROR_ALIASING, isa = ATTNKERN_ERROR_UNSUPPORTED_ISA, argument = ATTNKERN_ERROR_INVALID_ARGUMENT;
  std::vector<row> rows{
      // tanh
      {"tanh: x null", null, [](buffers& b) { return attnkern_tanh_f32(nullptr, b.y.data(), 4); }},
      {"tanh: y null", null, [](buffers& b) { return attnkern_tanh_f32(b.x.data(), nullptr, 4); }},
      {"tanh: byte count overflows", size, [](buffers& b) { return attnkern_tanh_f32(b.x.data(), b.y.data(), max_size / 4 + 1); }},
      {"tanh: n = SIZE_MAX", size, [](buffers& b) { return attnkern_tanh_f32(b.x.data(), b.y.data(), max_size); }},
      {"tanh: y overlaps x, one float later", alias,
       [](buffers& b) { return attnkern_tanh_f32(b.shared.data(), b.shared.data() + 1, 32); }},
      {"tanh: y overlaps x, one float earlier", alias,
       [](buffers& b) { return attnkern_tanh_f32(b.shared.data() + 1, b.shared.data(), 32); }},
  };
  // softmax and log-softmax
  for (bool log : {false, true}) {
    const auto f = log ? attnkern_log_softmax_f32 : attnkern_softmax_f32;
    const std::string n = log ? "log_softmax: " : "softmax: ";
    rows.push_back({n + "x null", null, [f](buffers& b) { return f(nullptr, b.y.data(), 4, 8); }});
    rows.push_back({n + "y null", null, [f](buffers& b) { return f(b.x.data(), nullptr, 4, 8); }});
    rows.push_back({n + "rows x cols overflows", size, [f](buffers& b) { return f(b.x.data(), b.y.data(), huge, 3); }});
    rows.push_back({n + "the byte count overflows", size, [f](buffers& b) { return f(b.x.data(), b.y.data(), max_size / 8, 3); }});
    rows.push_back({n + "y overlaps x", alias, [f](buffers& b) { return f(b.shared.data(), b.shared.data() + 1, 4, 8); }});
  }
  // attention_pool: h 2 x 8 x 4, w 4, bias 8
  const auto pool = attnkern_attention_pool_f32;
  rows.insert(rows.end(), {
      {"attention_pool: h null", null,
       [=](buffers& b) { return pool(nullptr, b.w.data(), nullptr, nullptr, 2, 8, 4, b.context.data(), b.weights.data()); }},
      {"attention_pool: w null", null,
       [=](buffers& b) { return pool(b.x.data(), nullptr, nullptr, nullptr, 2, 8, 4, b.context.data(), b.weights.data()); }},
      {"attention_pool: context null", null,
       [=](buffers& b) { return pool(b.x.data(), b.w.data(), nullptr, nullptr, 2, 8, 4, nullptr, b.weights.data()); }},
      {"attention_pool: a length below 0", length,
       [=](buffers& b) { return pool(b.x.data(), b.w.data(), nullptr, b.negative, 2, 8, 4, b.context.data(), b.weights.data()); }},
      {"attention_pool: a length above steps", length,
       [=](buffers& b) { return pool(b.x.data(), b.w.data(), nullptr, b.too_long, 2, 8, 4, b.context.data(), b.weights.data()); }},
      {"attention_pool: batch x steps x features overflows", size,
       [=](buffers& b) { return pool(b.x.data(), b.w.data(), nullptr, nullptr, 2, huge, huge, b.context.data(), b.weights.data()); }},
      {"attention_pool: the byte count of h overflows", size,
       [=](buffers& b) { return pool(b.x.data(), b.w.data(), nullptr, nullptr, 1, max_size / 4, 2, b.context.data(), nullptr); }},
      {"attention_pool: context overlaps h", alias,
       [=](buffers& b) { return pool(b.shared.data(), b.w.data(), nullptr, nullptr, 2, 8, 4, b.shared.data() + 60, nullptr); }},
      {"attention_pool: weights overlap bias", alias,
       [=](buffers& b) {
         return pool(b.x.data(), b.w.data(), b.shared.data(), nullptr, 2, 8, 4, b.context.data(), b.shared.data() + 4);
       }},
      {"attention_pool: weights overlap context", alias,
       [=](buffers& b) { return pool(b.x.data(), b.w.data(), nullptr, nullptr, 2, 8, 4, b.shared.data(), b.shared.data() + 4); }},
  });
  // additive_attention: keys 2 x 8 x 3, query 2 x 3, v 3, values 2 x 8 x 4
  auto additive = [](const float* keys, const float* query, const float* v, const float* values, const int32_t* lengths,
                     std::size_t attn_dim, float* context, float* weights) {
    return attnkern_additive_attention_f32(keys, query, v, values, lengths, 2, 8, attn_dim, 4, context, weights);
  };
  rows.insert(rows.end(), {
      {"additive_attention: keys null", null,
       [=](buffers& b) { return additive(nullptr, b.query.data(), b.w.data(), b.x.data(), nullptr, 3, b.context.data(), nullptr); }},
      {"additive_attention: query null", null,
       [=](buffers& b) { return additive(b.keys.data(), nullptr, b.w.data(), b.x.data(), nullptr, 3, b.context.data(), nullptr); }},
      {"additive_attention: v null", null,
       [=](buffers& b) { return additive(b.keys.data(), b.query.data(), nullptr, b.x.data(), nullptr, 3, b.context.data(), nullptr); }},
      {"additive_attention: values null", null,
       [=](buffers& b) { return additive(b.keys.data(), b.query.data(), b.w.data(), nullptr, nullptr, 3, b.context.data(), nullptr); }},
      {"additive_attention: context null", null,
       [=](buffers& b) { return additive(b.keys.data(), b.query.data(), b.w.data(), b.x.data(), nullptr, 3, nullptr, nullptr); }},
      {"additive_attention: a length below 0", length,
       [=](buffers& b) {
         return additive(b.keys.data(), b.query.data(), b.w.data(), b.x.data(), b.negative, 3, b.context.data(), b.weights.data());
       }},
      {"additive_attention: a length above steps", length,
       [=](buffers& b) {
         return additive(b.keys.data(), b.query.data(), b.w.data(), b.x.data(), b.too_long, 3, b.context.data(), b.weights.data());
       }},
      {"additive_attention: attn_dim overflows", size,
       [=](buffers& b) {
         return additive(b.keys.data(), b.query.data(), b.w.data(), b.x.data(), nullptr, huge, b.context.data(), nullptr);
       }},
      {"additive_attention: weights overlap values", alias,
       [=](buffers& b) {
         return additive(b.keys.data(), b.query.data(), b.w.data(), b.shared.data(), nullptr, 3, b.context.data(),
                         b.shared.data() + 3);
       }},
      {"additive_attention: context overlaps keys", alias,
       [=](buffers& b) {
         return additive(b.shared.data(), b.query.data(), b.w.data(), b.x.data(), nullptr, 3, b.shared.data() + 40, nullptr);
       }},
  });
  // sdpa: q 2 x 3 x 5, k 2 x 4 x 5, v 2 x 4 x 6, out 2 x 3 x 6; a non-finite scale is checked first
  auto sdpa = [](const float* q, const float* k, const float* v, const int32_t* lengths, std::size_t q_len, float scale,
                 float* out) { return attnkern_sdpa_f32(q, k, v, lengths, 2, q_len, 4, 5, 6, scale, 1, out); };
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  rows.insert(rows.end(), {
      {"sdpa: scale +inf", argument, [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), b.v.data(), nullptr, 3, inf, b.out.data()); }},
      {"sdpa: scale -inf", argument, [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), b.v.data(), nullptr, 3, -inf, b.out.data()); }},
      {"sdpa: scale NaN, before the null pointers", argument, [=](buffers&) { return sdpa(nullptr, nullptr, nullptr, nullptr, 3, nan, nullptr); }},
      {"sdpa: q null", null, [=](buffers& b) { return sdpa(nullptr, b.k.data(), b.v.data(), nullptr, 3, 1.0f, b.out.data()); }},
      {"sdpa: k null", null, [=](buffers& b) { return sdpa(b.q.data(), nullptr, b.v.data(), nullptr, 3, 1.0f, b.out.data()); }},
      {"sdpa: v null", null, [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), nullptr, nullptr, 3, 1.0f, b.out.data()); }},
      {"sdpa: out null", null, [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), b.v.data(), nullptr, 3, 1.0f, nullptr); }},
      {"sdpa: a length below 0", length,
       [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), b.v.data(), b.negative, 3, 1.0f, b.out.data()); }},
      {"sdpa: a length above kv_len", length,
       [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), b.v.data(), b.kv_too_long, 3, 1.0f, b.out.data()); }},
      {"sdpa: q_len overflows", size, [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), b.v.data(), nullptr, huge, 1.0f, b.out.data()); }},
      {"sdpa: value_dim overflows", size,
       [](buffers& b) { return attnkern_sdpa_f32(b.q.data(), b.k.data(), b.v.data(), nullptr, 2, 3, 4, 5, huge, 1.0f, 0, b.out.data()); }},
      {"sdpa: out overlaps q", alias,
       [=](buffers& b) { return sdpa(b.shared.data(), b.k.data(), b.v.data(), nullptr, 3, 1.0f, b.shared.data() + 29); }},
      {"sdpa: out overlaps v", alias,
       [=](buffers& b) { return sdpa(b.q.data(), b.k.data(), b.shared.data(), nullptr, 3, 1.0f, b.shared.data() + 47); }},
  });
  // ISA names
  for (const char* name : {"", "avx1024", "AVX2", "avx2 ", "sse", "auto-avx2", "scalar\n"})
    rows.push_back({std::string("set_isa: unknown name '") + name + "'", isa, [name](buffers&) { return attnkern_set_isa(name); }});
#if defined(__x86_64__) || defined(__i386__)
  rows.push_back({"set_isa: neon on x86", isa, [](buffers&) { return attnkern_set_isa("neon"); }});
#endif
  return rows;
}

}  // namespace

TEST_CASE("bad input: every entry point gives its documented status and message, and writes nothing", "[errors]") {
  const std::string isa_before = attnkern_isa();
  std::set<std::string> messages;
  for (const row& r : table()) {
    INFO(r.what);
    buffers b;
    const attnkern_status got = r.call(b);
    CHECK(got == r.expected);
    CHECK(std::string(attnkern_status_message(got)) == attnkern_status_message(r.expected));
    // the thread's last error names the function that failed
    const std::string family = r.what.substr(0, r.what.find(':'));
    const std::string function = "attnkern_" + family + (family == "set_isa" ? "" : "_f32");
    CHECK(std::string(attnkern_last_error_message()).rfind(function + ": ", 0) == 0);
    CHECK(b.untouched());
    messages.insert(attnkern_status_message(r.expected));
  }
  CHECK(messages.size() == 6);  // every error status, each with its own sentence
  CHECK(std::string(attnkern_status_message(ATTNKERN_ERROR_INVALID_ARGUMENT)).find("scale") != std::string::npos);
  CHECK(attnkern_isa() == isa_before);  // a refused name changes nothing
}

TEST_CASE("bad input: zero sizes are valid with null pointers and write nothing", "[errors]") {
  buffers b;
  CHECK(attnkern_tanh_f32(nullptr, nullptr, 0) == ATTNKERN_OK);
  for (auto f : {attnkern_softmax_f32, attnkern_log_softmax_f32}) {
    CHECK(f(nullptr, nullptr, 0, 5) == ATTNKERN_OK);
    CHECK(f(nullptr, nullptr, 5, 0) == ATTNKERN_OK);
  }
  CHECK(attnkern_attention_pool_f32(nullptr, nullptr, nullptr, nullptr, 0, 8, 4, nullptr, nullptr) == ATTNKERN_OK);
  CHECK(attnkern_additive_attention_f32(nullptr, nullptr, nullptr, nullptr, nullptr, 0, 8, 3, 4, nullptr, nullptr) ==
        ATTNKERN_OK);
  CHECK(attnkern_sdpa_f32(nullptr, nullptr, nullptr, nullptr, 0, 3, 4, 5, 6, 1.0f, 0, nullptr) == ATTNKERN_OK);
  // q_len 0: q and out are empty (null is fine), k and v are not
  CHECK(attnkern_sdpa_f32(nullptr, b.k.data(), b.v.data(), nullptr, 2, 0, 4, 5, 6, 1.0f, 0, nullptr) == ATTNKERN_OK);
  CHECK(attnkern_sdpa_f32(nullptr, nullptr, b.v.data(), nullptr, 2, 0, 4, 5, 6, 1.0f, 0, nullptr) == ATTNKERN_ERROR_NULL_POINTER);
  // and with real pointers, nothing is written
  CHECK(attnkern_tanh_f32(b.x.data(), b.y.data(), 0) == ATTNKERN_OK);
  CHECK(attnkern_softmax_f32(b.x.data(), b.y.data(), 0, 8) == ATTNKERN_OK);
  CHECK(attnkern_attention_pool_f32(b.x.data(), b.w.data(), nullptr, nullptr, 0, 8, 4, b.context.data(), b.weights.data()) ==
        ATTNKERN_OK);
  CHECK(attnkern_sdpa_f32(b.q.data(), b.k.data(), b.v.data(), nullptr, 2, 0, 4, 5, 6, 1.0f, 0, b.out.data()) == ATTNKERN_OK);
  CHECK(b.untouched());
}

TEST_CASE("bad input: the C++ wrappers throw the status, and write nothing", "[errors][cpp]") {
  buffers b;
  auto status_of = [](auto&& f) {
    try {
      f();
    } catch (const attnkern::error& e) {
      return e.status();
    }
    return ATTNKERN_OK;
  };
  CHECK(status_of([&] { attnkern::tanh(nullptr, b.y.data(), 4); }) == ATTNKERN_ERROR_NULL_POINTER);
  CHECK(status_of([&] { attnkern::softmax(nullptr, b.y.data(), 2, 2); }) == ATTNKERN_ERROR_NULL_POINTER);
  CHECK(status_of([&] { attnkern::log_softmax(b.x.data(), nullptr, 2, 2); }) == ATTNKERN_ERROR_NULL_POINTER);
  CHECK(status_of([&] {
          attnkern::check(attnkern_attention_pool_f32(nullptr, b.w.data(), nullptr, nullptr, 2, 8, 4, b.context.data(), nullptr));
        }) == ATTNKERN_ERROR_NULL_POINTER);
  CHECK(b.untouched());
}

TEST_CASE("bad input: the last error names the argument and its value", "[errors]") {
  buffers b;
  auto message_of = [](attnkern_status status) {
    CHECK(status != ATTNKERN_OK);
    return std::string(attnkern_last_error_message());
  };
  CHECK(message_of(attnkern_tanh_f32(nullptr, b.y.data(), 4)) == "attnkern_tanh_f32: x is NULL while it holds 4 floats");
  CHECK(message_of(attnkern_attention_pool_f32(b.x.data(), b.w.data(), nullptr, b.too_long, 2, 8, 4, b.context.data(),
                                               nullptr)) == "attnkern_attention_pool_f32: lengths[0] = 9 is outside [0, steps = 8]");
  CHECK(message_of(attnkern_sdpa_f32(b.q.data(), b.k.data(), b.v.data(), b.kv_too_long, 2, 3, 4, 5, 6, 1.0f, 0,
                                     b.out.data())) == "attnkern_sdpa_f32: kv_lengths[0] = 5 is outside [0, kv_len = 4]");
  CHECK(message_of(attnkern_attention_pool_f32(b.x.data(), b.w.data(), nullptr, b.negative, 2, 8, 4, b.context.data(),
                                               nullptr)) == "attnkern_attention_pool_f32: lengths[1] = -1 is outside [0, steps = 8]");
  CHECK(message_of(attnkern_sdpa_f32(b.q.data(), b.k.data(), b.v.data(), nullptr, 2, 3, 4, 5, huge, 1.0f, 0, b.out.data()))
            .rfind("attnkern_sdpa_f32: v has batch x kv_len x value_dim = 2 x 4 x ", 0) == 0);
  CHECK(message_of(attnkern_additive_attention_f32(b.keys.data(), b.query.data(), b.w.data(), b.shared.data(), nullptr, 2, 8,
                                                   3, 4, b.context.data(), b.shared.data() + 3)) ==
        "attnkern_additive_attention_f32: weights overlaps values (outputs may not overlap any input)");
  CHECK(message_of(attnkern_softmax_f32(b.shared.data(), b.shared.data() + 1, 4, 8)).find("y overlaps x") != std::string::npos);
  CHECK(message_of(attnkern_set_isa("AVX2")).find("not the name of a path") != std::string::npos);
  // a success leaves the message as it was; another thread has its own
  CHECK(attnkern_tanh_f32(b.x.data(), b.y.data(), 4) == ATTNKERN_OK);
  CHECK(std::string(attnkern_last_error_message()).find("not the name of a path") != std::string::npos);
  std::string other;
  std::thread([&] { other = attnkern_last_error_message(); }).join();
  CHECK(other.empty());
  // the C++ wrappers throw the full message
  try {
    attnkern::tanh(b.x.data(), nullptr, 4);
    FAIL("no exception");
  } catch (const attnkern::error& e) {
    CHECK(std::string(e.what()) == "attnkern_tanh_f32: y is NULL while it holds 4 floats");
  }
}

TEST_CASE("isa: the usable paths are listed, each accepted, and a refusal says why", "[errors][isa]") {
  const std::string before = attnkern_isa();
  const std::string list = attnkern_isa_list();
  const std::vector<std::string> names = attnkern::isa_list();
  REQUIRE(!names.empty());
  CHECK(names.back() == "scalar");
  for (const std::string& name : names) {
    CHECK(attnkern_set_isa(name.c_str()) == ATTNKERN_OK);
    CHECK(attnkern_isa() == name);
  }
  REQUIRE(attnkern_set_isa("auto") == ATTNKERN_OK);
  CHECK(attnkern_isa() == names.front());  // the best one
  for (const char* name : {"avx512", "avx2", "sse2", "neon"}) {
    if (list.find(name) != std::string::npos) continue;
    CHECK(attnkern_set_isa(name) == ATTNKERN_ERROR_UNSUPPORTED_ISA);
    const std::string why = attnkern_last_error_message();
    INFO(why);
#if defined(__x86_64__) || defined(__i386__)
    const bool this_family = std::string(name) != "neon";
#else
    const bool this_family = std::string(name) == "neon";
#endif
    CHECK(why.find(this_family ? "this CPU" : "this build") != std::string::npos);
    CHECK(why.find("usable here: " + list) != std::string::npos);
  }
  REQUIRE(attnkern_set_isa(before.c_str()) == ATTNKERN_OK);
}

// Run by ctest with ATTNKERN_ISA=scalar and ATTNKERN_ISA=no-such-isa (tests/CMakeLists.txt).
TEST_CASE("isa: a usable ATTNKERN_ISA is reported as used", "[.env]") {
  CHECK(attnkern_isa_env_status() == ATTNKERN_OK);
}
TEST_CASE("isa: an unusable ATTNKERN_ISA is reported as ignored", "[.env-bad]") {
  CHECK(attnkern_isa_env_status() == ATTNKERN_ERROR_UNSUPPORTED_ISA);
  const std::string why = attnkern_last_error_message();
  INFO(why);
  CHECK(why.rfind(std::string("attnkern_isa_env_status: ATTNKERN_ISA=\"") + std::getenv("ATTNKERN_ISA") + "\" was ignored", 0) == 0);
  CHECK(why.find(attnkern_isa_list()) != std::string::npos);
}
