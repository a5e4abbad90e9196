// The C++ API (attnkern.hpp): every wrapper, in its throwing and its attnkern::nothrow form, with
// pointers and with views, gives the C function's status, message and bits; the views' size checks;
// attention_desc against a hand-filled attnkern_attention_args.
#include <attnkern/attnkern.hpp>

#include "support.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace attnkern_test;

namespace {

// The status a throwing form ended with (ATTNKERN_OK when it returned), and its what().
struct outcome {
  attnkern_status status = ATTNKERN_OK;
  std::string message;
};
template <class F>
outcome thrown(F&& f) {
  try {
    f();
  } catch (const attnkern::error& e) {
    return {e.status(), e.what()};
  }
  return {};
}

// n floats that no kernel writes (a NaN with a payload of its own), to see what a call wrote.
std::vector<float> poisoned(std::size_t n) { return std::vector<float>(n, from_bits(0x7fc0dead)); }
bool untouched(const std::vector<float>& v) { return same_bits(v, poisoned(v.size())); }

// Runs `forms` (each writes its outputs into the vectors it is given, fresh and poisoned, and returns
// its status) and checks every status is ATTNKERN_OK and every output has the bits of `want`.
template <class Form>
void same_as_c(const std::vector<std::vector<float>>& want, const std::vector<Form>& forms) {
  for (std::size_t f = 0; f < forms.size(); ++f) {
    INFO("form " << f);
    std::vector<std::vector<float>> got;
    for (const auto& w : want) got.push_back(poisoned(w.size()));
    CHECK(forms[f](got) == ATTNKERN_OK);
    for (std::size_t o = 0; o < want.size(); ++o) CHECK(same_bits(got[o], want[o]));
  }
}
using form = std::function<attnkern_status(std::vector<std::vector<float>>&)>;
// A throwing form as a status-returning one.
template <class F>
attnkern_status status_of(F&& f) {
  return thrown(std::forward<F>(f)).status;
}

void serial_for(void* pool, attnkern_task_fn task, void* context, std::size_t count) {
  ++*static_cast<int*>(pool);
  for (std::size_t i = 0; i < count; ++i) task(context, i);
}

}  // namespace

TEST_CASE("cpp: views are made from vectors, arrays, C arrays and pointers", "[cpp]") {
  std::vector<float> vec(5);
  std::array<float, 4> arr{};
  float carr[3] = {};
  const std::vector<float> cvec(2);
  const attnkern::span<float> a(vec), b(arr), c(carr), d(vec.data() + 1, 2);
  const attnkern::span<const float> e(cvec), f(a), g(carr), h = b;
  CHECK((a.data() == vec.data() && a.size() == 5));
  CHECK((b.data() == arr.data() && b.size() == 4));
  CHECK((c.data() == carr && c.size() == 3));
  CHECK((d.data() == vec.data() + 1 && d.size() == 2 && d.end() - d.begin() == 2));
  CHECK((e.data() == cvec.data() && e.size() == 2));
  CHECK((f.data() == vec.data() && f.size() == 5 && g.size() == 3 && h.size() == 4));
  CHECK((attnkern::span<const float>().empty() && attnkern::span<const float>().data() == nullptr));
  // a view of non-const elements is not made from const elements or a temporary (as std::span)
  static_assert(!std::is_constructible<attnkern::span<float>, const std::vector<float>&>::value, "");
  static_assert(!std::is_constructible<attnkern::span<float>, std::vector<float>&&>::value, "");
  static_assert(std::is_constructible<attnkern::span<const float>, std::vector<float>&&>::value, "");
  static_assert(!std::is_constructible<attnkern::span<const float>, std::vector<double>&>::value, "");
  static_assert(!std::is_convertible<attnkern::span<const float>, attnkern::span<float>>::value, "");
}

TEST_CASE("cpp: tanh, softmax and log_softmax, both forms, pointers and views: the C function's bits", "[cpp]") {
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    const std::size_t n = 3000;
    auto x = uniform(n, -8.0f, 8.0f, 41);
    x[7] = -std::numeric_limits<float>::infinity();
    std::vector<float> want(n);
    REQUIRE(attnkern_tanh_f32(x.data(), want.data(), n) == ATTNKERN_OK);
    same_as_c<form>({want}, {[&](auto& o) { return attnkern::nothrow::tanh(x.data(), o[0].data(), n); },
                             [&](auto& o) { return attnkern::nothrow::tanh(x, o[0]); },
                             [&](auto& o) { return status_of([&] { attnkern::tanh(x.data(), o[0].data(), n); }); },
                             [&](auto& o) { return status_of([&] { attnkern::tanh(x, o[0]); }); },
                             [&](auto& o) {  // in place
                               o[0] = x;
                               return attnkern::nothrow::tanh(o[0], o[0]);
                             }});
    for (std::size_t cols : {std::size_t(1), std::size_t(37), std::size_t(1000)}) {
      INFO("cols " << cols);
      const std::size_t rows = n / cols;
      REQUIRE(attnkern_softmax_f32(x.data(), want.data(), rows, cols) == ATTNKERN_OK);
      std::vector<float> want_sm(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(rows * cols));
      const attnkern::span<const float> xs(x.data(), rows * cols);
      same_as_c<form>(
          {want_sm},
          {[&](auto& o) { return attnkern::nothrow::softmax(x.data(), o[0].data(), rows, cols); },
           [&](auto& o) { return attnkern::nothrow::softmax(xs, o[0], rows, cols); },
           [&](auto& o) { return status_of([&] { attnkern::softmax(x.data(), o[0].data(), rows, cols); }); },
           [&](auto& o) { return status_of([&] { attnkern::softmax(xs, o[0], rows, cols); }); }});
      REQUIRE(attnkern_log_softmax_f32(x.data(), want.data(), rows, cols) == ATTNKERN_OK);
      std::vector<float> want_ls(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(rows * cols));
      same_as_c<form>(
          {want_ls},
          {[&](auto& o) { return attnkern::nothrow::log_softmax(x.data(), o[0].data(), rows, cols); },
           [&](auto& o) { return attnkern::nothrow::log_softmax(xs, o[0], rows, cols); },
           [&](auto& o) { return status_of([&] { attnkern::log_softmax(x.data(), o[0].data(), rows, cols); }); },
           [&](auto& o) { return status_of([&] { attnkern::log_softmax(xs, o[0], rows, cols); }); }});
    }
  }
}

TEST_CASE("cpp: attention_pool, additive_attention and sdpa, both forms, pointers and views: the C function's bits",
          "[cpp]") {
  const std::size_t B = 3, T = 9, F = 5, A = 4;
  const auto h = uniform(B * T * F, -2.0f, 2.0f, 1), w = uniform(F, -1.0f, 1.0f, 2), bias = uniform(T, -1.0f, 1.0f, 3);
  const auto keys = uniform(B * T * A, -1.0f, 1.0f, 4), query = uniform(B * A, -1.0f, 1.0f, 5);
  const std::vector<int32_t> lengths{9, 4, 0};
  const std::vector<int32_t> none;
  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    std::vector<float> context(B * F), weights(B * T);
    // with every optional array, then without
    REQUIRE(attnkern_attention_pool_f32(h.data(), w.data(), bias.data(), lengths.data(), B, T, F, context.data(),
                                        weights.data()) == ATTNKERN_OK);
    same_as_c<form>(
        {context, weights},
        {[&](auto& o) {
           return attnkern::nothrow::attention_pool(h.data(), w.data(), bias.data(), lengths.data(), B, T, F,
                                                    o[0].data(), o[1].data());
         },
         [&](auto& o) { return attnkern::nothrow::attention_pool(h, w, bias, lengths, B, T, F, o[0], o[1]); },
         [&](auto& o) {
           return status_of([&] {
             attnkern::attention_pool(h.data(), w.data(), bias.data(), lengths.data(), B, T, F, o[0].data(),
                                      o[1].data());
           });
         },
         [&](auto& o) {
           return status_of([&] { attnkern::attention_pool(h, w, bias, lengths, B, T, F, o[0], o[1]); });
         }});
    REQUIRE(attnkern_attention_pool_f32(h.data(), w.data(), nullptr, nullptr, B, T, F, context.data(), nullptr) ==
            ATTNKERN_OK);
    same_as_c<form>(
        {context},
        {[&](auto& o) {
           return attnkern::nothrow::attention_pool(h.data(), w.data(), nullptr, nullptr, B, T, F, o[0].data(),
                                                    nullptr);
         },
         [&](auto& o) { return attnkern::nothrow::attention_pool(h, w, {}, none, B, T, F, o[0], {}); },
         [&](auto& o) { return status_of([&] { attnkern::attention_pool(h, w, {}, {}, B, T, F, o[0], {}); }); }});

    REQUIRE(attnkern_additive_attention_f32(keys.data(), query.data(), w.data(), h.data(), lengths.data(), B, T, A, F,
                                            context.data(), weights.data()) == ATTNKERN_OK);
    const attnkern::span<const float> v(w.data(), A);  // (w has F >= A floats)
    same_as_c<form>(
        {context, weights},
        {[&](auto& o) {
           return attnkern::nothrow::additive_attention(keys.data(), query.data(), w.data(), h.data(), lengths.data(),
                                                        B, T, A, F, o[0].data(), o[1].data());
         },
         [&](auto& o) {
           return attnkern::nothrow::additive_attention(keys, query, v, h, lengths, B, T, A, F, o[0], o[1]);
         },
         [&](auto& o) {
           return status_of([&] {
             attnkern::additive_attention(keys.data(), query.data(), w.data(), h.data(), lengths.data(), B, T, A, F,
                                          o[0].data(), o[1].data());
           });
         },
         [&](auto& o) {
           return status_of([&] { attnkern::additive_attention(keys, query, v, h, lengths, B, T, A, F, o[0], o[1]); });
         }});
    REQUIRE(attnkern_additive_attention_f32(keys.data(), query.data(), w.data(), h.data(), nullptr, B, T, A, F,
                                            context.data(), nullptr) == ATTNKERN_OK);
    same_as_c<form>({context}, {[&](auto& o) {
                      return attnkern::nothrow::additive_attention(keys, query, v, h, {}, B, T, A, F, o[0], {});
                    }});

    // sdpa: q B x Q x D, k B x K x D (the first floats of `keys`), v B x K x Dv (of h)
    const std::size_t Q = 3, K = 9, D = 4, Dv = 5;
    const std::vector<int32_t> kv_lengths{9, 2, 0};
    const attnkern::span<const float> k(keys.data(), B * K * D);
    const auto qs = uniform(B * Q * D, -1.0f, 1.0f, 6);
    for (const bool causal : {false, true}) {
      INFO("causal " << causal);
      std::vector<float> out(B * Q * Dv);
      REQUIRE(attnkern_sdpa_f32(qs.data(), k.data(), h.data(), kv_lengths.data(), B, Q, K, D, Dv, 0.5f, causal,
                                out.data()) == ATTNKERN_OK);
      same_as_c<form>(
          {out},
          {[&](auto& o) {
             return attnkern::nothrow::sdpa(qs.data(), k.data(), h.data(), kv_lengths.data(), B, Q, K, D, Dv, 0.5f,
                                            causal, o[0].data());
           },
           [&](auto& o) { return attnkern::nothrow::sdpa(qs, k, h, kv_lengths, B, Q, K, D, Dv, 0.5f, causal, o[0]); },
           [&](auto& o) {
             return status_of([&] {
               attnkern::sdpa(qs.data(), k.data(), h.data(), kv_lengths.data(), B, Q, K, D, Dv, 0.5f, causal,
                              o[0].data());
             });
           },
           [&](auto& o) {
             return status_of([&] { attnkern::sdpa(qs, k, h, kv_lengths, B, Q, K, D, Dv, 0.5f, causal, o[0]); });
           }});
      REQUIRE(attnkern_sdpa_f32(qs.data(), k.data(), h.data(), nullptr, B, Q, K, D, Dv, 0.5f, causal, out.data()) ==
              ATTNKERN_OK);
      same_as_c<form>({out}, {[&](auto& o) {
                        return attnkern::nothrow::sdpa(qs, k, h, {}, B, Q, K, D, Dv, 0.5f, causal, o[0]);
                      }});
    }
  }
}

namespace {

// A GQA call with every field of attnkern_attention_args set (but a bias_dtype of F32), filled by
// hand, and the same call built with attention_desc.
struct full_call {
  static constexpr std::size_t B = 2, Hq = 4, Hk = 2, T = 5, K = 7, D = 8, Dv = 6;
  std::vector<float> q = uniform(B * Hq * T * D, -1.0f, 1.0f, 11), k = uniform(B * Hk * K * D, -1.0f, 1.0f, 12),
                     v = uniform(B * Hk * K * Dv, -1.0f, 1.0f, 13), bias = uniform(Hq * T * K, -1.0f, 1.0f, 14),
                     head_scales = uniform(Hq, 0.5f, 1.0f, 15), slopes = uniform(Hq, -0.5f, 0.0f, 16),
                     sinks = uniform(Hq, -1.0f, 1.0f, 17);
  std::vector<uint8_t> mask = std::vector<uint8_t>(T * K, 1);
  std::vector<int32_t> starts{1, 0}, ends{7, 6};
  // the strides: q BHSD, k BSHD, v BHSD, out BSHD; the bias per head and row, the mask per row
  attnkern_strides qs = attnkern::strides_bhsd(Hq, T, D), ks = attnkern::strides_bshd(Hk, K, D),
                   vs = attnkern::strides_bhsd(Hk, K, Dv), os = attnkern::strides_bshd(Hq, T, Dv),
                   ls = attnkern::strides_bhsd(Hq, T, 1), bs{0, int64_t(T * K), int64_t(K)}, ms{0, 0, int64_t(K)};

  full_call() { mask[3] = mask[K + 5] = 0; }

  attnkern_attention_args by_hand(float* out, float* lse) const {
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = B, a.q_heads = Hq, a.kv_heads = Hk, a.q_len = T, a.kv_len = K, a.head_dim = D, a.value_dim = Dv;
    a.q = q.data(), a.q_strides = qs, a.k = k.data(), a.k_strides = ks, a.v = v.data(), a.v_strides = vs;
    a.out = out, a.out_strides = os;
    a.q_dtype = a.k_dtype = a.v_dtype = a.out_dtype = ATTNKERN_F32;
    a.scale = 0.3f, a.causal = 1, a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
    a.window = 1, a.window_left = 3, a.window_right = 1;
    a.kv_starts = starts.data(), a.kv_lengths = ends.data();
    a.lse = lse, a.lse_strides = ls;
    a.softcap = 20.0f;
    a.bias = bias.data(), a.bias_strides = bs, a.bias_head_scales = head_scales.data();
    a.alibi_slopes = slopes.data();
    a.mask = mask.data(), a.mask_strides = ms;
    a.sinks = sinks.data();
    a.bias_dtype = ATTNKERN_F32;
    return a;
  }
  // Through views (checked), or pointers.
  attnkern::attention_desc built(std::vector<float>& out, std::vector<float>& lse, bool views) const {
    attnkern::attention_desc d;
    d.shape(B, Hq, Hk, T, K, D, Dv).scale(0.3f).causal(ATTNKERN_ALIGN_BOTTOM_RIGHT).window(3, 1).softcap(20.0f);
    if (views) {
      d.q(q, qs).k(k, ks).v(v, vs).out(out, os).lse(lse, ls).kv_starts(starts).kv_lengths(ends);
      d.bias(bias, bs).bias_head_scales(head_scales).alibi_slopes(slopes).mask(mask, ms).sinks(sinks);
    } else {
      d.q(q.data(), qs).k(k.data(), ks).v(v.data(), vs).out(out.data(), os).lse(lse.data(), ls);
      d.kv_starts(starts.data()).kv_lengths(ends.data()).bias(bias.data(), bs).bias_head_scales(head_scales.data());
      d.alibi_slopes(slopes.data()).mask(mask.data(), ms).sinks(sinks.data());
    }
    return d;
  }
};

bool same_struct(const attnkern_attention_args& a, const attnkern_attention_args& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("cpp: attention_desc fills attnkern_attention_args as by hand; attention and merge: the C bits", "[cpp]") {
  const full_call c;
  const std::size_t outs = c.B * c.Hq * c.T * c.Dv, rows = c.B * c.Hq * c.T;
  std::vector<float> out(outs), lse(rows);
  const attnkern_attention_args hand = c.by_hand(out.data(), lse.data());
  // every field, and the struct's padding (zeroed by attnkern_attention_args_init in both)
  for (bool views : {false, true}) CHECK(same_struct(c.built(out, lse, views).args(), hand));
  CHECK(same_struct(attnkern::attention_desc(hand).args(), hand));
  // the element types and the rest of the setters
  {
    std::vector<uint16_t> q16(c.q.size()), k16(c.k.size()), v16(c.v.size()), o16(outs), bias16(c.bias.size());
    attnkern_attention_args a = hand;
    a.q = q16.data(), a.q_dtype = ATTNKERN_F16, a.k = k16.data(), a.k_dtype = ATTNKERN_BF16;
    a.v = v16.data(), a.v_dtype = ATTNKERN_F16, a.out = o16.data(), a.out_dtype = ATTNKERN_BF16;
    a.bias = bias16.data(), a.bias_dtype = ATTNKERN_BF16;
    auto d = c.built(out, lse, true);
    d.q(q16, ATTNKERN_F16, c.qs).k(k16, ATTNKERN_BF16, c.ks).v(v16.data(), ATTNKERN_F16, c.vs);
    d.out(o16, ATTNKERN_BF16, c.os).bias(bias16, ATTNKERN_BF16, c.bs);
    CHECK(same_struct(d.args(), a));
    d.out(o16.data(), ATTNKERN_BF16, c.os).bias(bias16.data(), ATTNKERN_BF16, c.bs).q(q16.data(), ATTNKERN_F16, c.qs);
    d.k(k16.data(), ATTNKERN_BF16, c.ks).v(v16, ATTNKERN_F16, c.vs);
    CHECK(same_struct(d.args(), a));
    // one by one, and features turned off again
    attnkern::attention_desc e(a);
    e.batch(9).heads(3).q_len(1).kv_len(2).head_dim(3).value_dim(4).causal(false).align(ATTNKERN_ALIGN_TOP_LEFT);
    e.window_off().q(c.q, c.qs).out(out, c.os).lse(nullptr, {}).kv_starts(nullptr).kv_lengths({}).softcap(0);
    e.bias(nullptr, {}).bias_head_scales({}).alibi_slopes(nullptr).mask({}, {}).sinks({}).scale(0).k(c.k, c.ks);
    e.v(c.v.data(), c.vs);
    attnkern_attention_args f;
    attnkern_attention_args_init(&f);
    f.batch = 9, f.q_heads = f.kv_heads = 3, f.q_len = 1, f.kv_len = 2, f.head_dim = 3, f.value_dim = 4;
    f.q = c.q.data(), f.q_strides = c.qs, f.k = c.k.data(), f.k_strides = c.ks, f.v = c.v.data(), f.v_strides = c.vs;
    f.out = out.data(), f.out_strides = c.os;
    CHECK(same_struct(e.args(), f));
    const attnkern_attention_args g = attnkern::attention_desc().causal(ATTNKERN_ALIGN_BOTTOM_RIGHT).args();
    CHECK((g.causal == 1 && g.align == ATTNKERN_ALIGN_BOTTOM_RIGHT && g.struct_size == sizeof g));
  }

  for (const auto& isa : available_isas()) {
    INFO("path " << isa);
    isa_scope scope(isa);
    std::vector<float> want(outs), want_lse(rows);
    const attnkern_attention_args a = c.by_hand(want.data(), want_lse.data());
    REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
    same_as_c<form>(
        {want, want_lse},
        {[&](auto& o) { return attnkern::nothrow::attention(c.by_hand(o[0].data(), o[1].data())); },
         [&](auto& o) { return status_of([&] { attnkern::attention(c.by_hand(o[0].data(), o[1].data())); }); },
         [&](auto& o) { return c.built(o[0], o[1], false).try_run(); },
         [&](auto& o) { return c.built(o[0], o[1], true).try_run(); },
         [&](auto& o) { return status_of([&] { c.built(o[0], o[1], true).run(); }); }});

    // the merge of two parts (the keys before 3, and those from 3 on)
    std::vector<float> a_out(outs), a_lse(rows), b_out(outs), b_lse(rows);
    auto part = [&](std::vector<float>& o, std::vector<float>& l, int32_t from, int32_t to) {
      const std::vector<int32_t> s{std::max(from, c.starts[0]), std::max(from, c.starts[1])},
          e{std::min(to, c.ends[0]), std::min(to, c.ends[1])};
      REQUIRE(c.built(o, l, true).kv_starts(s).kv_lengths(e).sinks(nullptr).try_run() == ATTNKERN_OK);
    };
    part(a_out, a_lse, 0, 3);
    part(b_out, b_lse, 3, 7);
    auto merge_args = [&](float* merged, float* merged_lse) {
      attnkern_merge_args m{};
      m.struct_size = sizeof m;
      m.batch = c.B, m.heads = c.Hq, m.rows = c.T, m.value_dim = c.Dv;
      m.out_a = a_out.data(), m.out_a_strides = c.os, m.lse_a = a_lse.data(), m.lse_a_strides = c.ls;
      m.out_b = b_out.data(), m.out_b_strides = c.os, m.lse_b = b_lse.data(), m.lse_b_strides = c.ls;
      m.out = merged, m.out_strides = c.os, m.lse = merged_lse, m.lse_strides = c.ls;
      return m;
    };
    const attnkern_merge_args m = merge_args(want.data(), want_lse.data());
    REQUIRE(attnkern_attention_merge(&m) == ATTNKERN_OK);
    same_as_c<form>(
        {want, want_lse},
        {[&](auto& o) { return attnkern::nothrow::attention_merge(merge_args(o[0].data(), o[1].data())); },
         [&](auto& o) { return status_of([&] { attnkern::attention_merge(merge_args(o[0].data(), o[1].data())); }); }});
  }
}

TEST_CASE("cpp: a failure: the C function's status and message in both forms, nothing written", "[cpp][errors]") {
  std::vector<float> x = uniform(64, -1.0f, 1.0f, 1), y = poisoned(64);
  const std::vector<int32_t> bad{3, 9};
  const float inf = std::numeric_limits<float>::infinity();
  auto nothrow_message = [](attnkern_status s) {
    return s == ATTNKERN_OK ? std::string() : attnkern::last_error_message();
  };
  struct failure {
    const char* name;
    std::function<attnkern_status()> c, nothrow_form;
    std::function<void()> throwing_form;
  };
  attnkern_attention_args args;
  attnkern_attention_args_init(&args);
  args.struct_size = 3;
  attnkern_merge_args merge{};
  attnkern_kv_append_args append{};  // (struct_size 0: refused)
  attnkern_paged_attention_args paged;
  attnkern_paged_attention_args_init(&paged);  // (no cache: refused)
  int calls = 0;
  const std::vector<failure> failures{
      {"tanh", [&] { return attnkern_tanh_f32(x.data(), nullptr, 4); },
       [&] { return attnkern::nothrow::tanh(x.data(), nullptr, 4); }, [&] { attnkern::tanh(x.data(), nullptr, 4); }},
      {"tanh aliasing", [&] { return attnkern_tanh_f32(y.data(), y.data() + 1, 8); },
       [&] { return attnkern::nothrow::tanh({y.data(), 8}, {y.data() + 1, 8}); },
       [&] { attnkern::tanh({y.data(), 8}, {y.data() + 1, 8}); }},
      {"softmax", [&] { return attnkern_softmax_f32(nullptr, y.data(), 2, 2); },
       [&] { return attnkern::nothrow::softmax(nullptr, y.data(), 2, 2); },
       [&] { attnkern::softmax(nullptr, y.data(), 2, 2); }},
      {"softmax overflow", [&] { return attnkern_softmax_f32(x.data(), y.data(), SIZE_MAX, 2); },
       [&] { return attnkern::nothrow::softmax(x, y, SIZE_MAX, 2); }, [&] { attnkern::softmax(x, y, SIZE_MAX, 2); }},
      {"log_softmax", [&] { return attnkern_log_softmax_f32(x.data(), nullptr, 2, 2); },
       [&] { return attnkern::nothrow::log_softmax(x.data(), nullptr, 2, 2); },
       [&] { attnkern::log_softmax(x.data(), nullptr, 2, 2); }},
      {"attention_pool",
       [&] { return attnkern_attention_pool_f32(x.data(), x.data(), nullptr, bad.data(), 2, 8, 4, y.data(), nullptr); },
       [&] { return attnkern::nothrow::attention_pool(x, x, {}, bad, 2, 8, 4, y, {}); },
       [&] { attnkern::attention_pool(x.data(), x.data(), nullptr, bad.data(), 2, 8, 4, y.data(), nullptr); }},
      {"additive_attention",
       [&] {
         return attnkern_additive_attention_f32(x.data(), x.data(), x.data(), x.data(), bad.data(), 2, 8, 2, 2,
                                                y.data(), nullptr);
       },
       [&] { return attnkern::nothrow::additive_attention(x, x, x, x, bad, 2, 8, 2, 2, y, {}); },
       [&] { attnkern::additive_attention(x, x, x, x, bad, 2, 8, 2, 2, y, {}); }},
      {"sdpa",
       [&] { return attnkern_sdpa_f32(x.data(), x.data(), x.data(), nullptr, 1, 2, 2, 2, 2, inf, 0, y.data()); },
       [&] { return attnkern::nothrow::sdpa(x, x, x, {}, 1, 2, 2, 2, 2, inf, false, y); },
       [&] { attnkern::sdpa(x.data(), x.data(), x.data(), nullptr, 1, 2, 2, 2, 2, inf, false, y.data()); }},
      {"attention", [&] { return attnkern_attention(&args); }, [&] { return attnkern::nothrow::attention(args); },
       [&] { attnkern::attention(args); }},
      {"attention_desc", [&] { return attnkern_attention(&args); },
       [&] { return attnkern::attention_desc(args).try_run(); }, [&] { attnkern::attention_desc(args).run(); }},
      {"attention_merge", [&] { return attnkern_attention_merge(&merge); },
       [&] { return attnkern::nothrow::attention_merge(merge); }, [&] { attnkern::attention_merge(merge); }},
      {"kv_append", [&] { return attnkern_kv_append(&append); }, [&] { return attnkern::nothrow::kv_append(append); },
       [&] { attnkern::kv_append(append); }},
      {"paged_attention", [&] { return attnkern_paged_attention(&paged); },
       [&] { return attnkern::nothrow::paged_attention(paged); }, [&] { attnkern::paged_attention(paged); }},
      {"set_isa", [&] { return attnkern_set_isa("AVX2"); }, [&] { return attnkern::nothrow::set_isa("AVX2"); },
       [&] { attnkern::set_isa("AVX2"); }},
      {"set_threading", [&] { return attnkern_set_threading("tbb"); },
       [&] { return attnkern::nothrow::set_threading("tbb"); }, [&] { attnkern::set_threading("tbb"); }},
      {"set_thread_pool", [&] { return attnkern_set_thread_pool(serial_for, &calls, 0); },
       [&] { return attnkern::nothrow::set_thread_pool(serial_for, &calls, 0); },
       [&] { attnkern::set_thread_pool(serial_for, &calls, 0); }},
  };
  for (const auto& f : failures) {
    INFO(f.name);
    const attnkern_status want = f.c();
    REQUIRE(want != ATTNKERN_OK);
    const std::string message = attnkern_last_error_message();
    attnkern_set_isa("sse3");  // another message in between
    CHECK(f.nothrow_form() == want);
    CHECK(nothrow_message(want) == message);
    attnkern_set_isa("sse3");
    const outcome got = thrown(f.throwing_form);
    CHECK(got.status == want);
    CHECK(got.message == message);
    CHECK(untouched(y));
  }
  CHECK(std::string(attnkern::threading_mode()) != "external");
  CHECK(calls == 0);
}

TEST_CASE("cpp: a view smaller than its sizes: ATTNKERN_ERROR_INVALID_ARGUMENT, nothing written", "[cpp][errors]") {
  const std::vector<float> x = uniform(64, -1.0f, 1.0f, 1);
  std::vector<float> y = poisoned(64);
  const std::vector<int32_t> lengths{1, 2, 3};
  struct mismatch {
    std::function<attnkern_status()> nothrow_form;
    std::function<void()> throwing_form;
    std::string message;
  };
  const attnkern::span<const float> x6(x.data(), 6), x5(x.data(), 5);
  const attnkern::span<float> y6(y.data(), 6), y5(y.data(), 5);
  const std::vector<mismatch> cases{
      {[&] { return attnkern::nothrow::tanh(x6, y5); }, [&] { attnkern::tanh(x6, y5); },
       "attnkern::tanh: y holds 5 elements, fewer than x's size = 6"},
      {[&] { return attnkern::nothrow::softmax(x5, y6, 2, 3); }, [&] { attnkern::softmax(x5, y6, 2, 3); },
       "attnkern::softmax: x holds 5 elements, fewer than rows x cols = 2 x 3 = 6"},
      {[&] { return attnkern::nothrow::log_softmax(x6, y5, 3, 2); }, [&] { attnkern::log_softmax(x6, y5, 3, 2); },
       "attnkern::log_softmax: y holds 5 elements, fewer than rows x cols = 3 x 2 = 6"},
      {[&] { return attnkern::nothrow::attention_pool(x, x, x5, {}, 1, 6, 2, y, {}); },
       [&] { attnkern::attention_pool(x, x, x5, {}, 1, 6, 2, y, {}); },
       "attnkern::attention_pool: bias holds 5 elements, fewer than steps = 6"},
      {[&] { return attnkern::nothrow::attention_pool(x, x, {}, lengths, 4, 2, 2, y, {}); },
       [&] { attnkern::attention_pool(x, x, {}, lengths, 4, 2, 2, y, {}); },
       "attnkern::attention_pool: lengths holds 3 elements, fewer than batch = 4"},
      {[&] { return attnkern::nothrow::attention_pool(x, x, {}, {}, 3, 2, 2, y, y5); },
       [&] { attnkern::attention_pool(x, x, {}, {}, 3, 2, 2, y, y5); },
       "attnkern::attention_pool: weights holds 5 elements, fewer than batch x steps = 3 x 2 = 6"},
      {[&] { return attnkern::nothrow::attention_pool(x, x5, {}, {}, 1, 2, 6, y, {}); },
       [&] { attnkern::attention_pool(x, x5, {}, {}, 1, 2, 6, y, {}); },
       "attnkern::attention_pool: w holds 5 elements, fewer than features = 6"},
      {[&] { return attnkern::nothrow::additive_attention(x, x, x, x, {}, 2, 2, 3, 3, y5, {}); },
       [&] { attnkern::additive_attention(x, x, x, x, {}, 2, 2, 3, 3, y5, {}); },
       "attnkern::additive_attention: context holds 5 elements, fewer than batch x features = 2 x 3 = 6"},
      {[&] { return attnkern::nothrow::additive_attention(x, x5, x, x, {}, 2, 2, 3, 3, y, {}); },
       [&] { attnkern::additive_attention(x, x5, x, x, {}, 2, 2, 3, 3, y, {}); },
       "attnkern::additive_attention: query holds 5 elements, fewer than batch x attn_dim = 2 x 3 = 6"},
      {[&] { return attnkern::nothrow::sdpa(x, x, x5, {}, 1, 1, 3, 2, 2, 1.0f, false, y); },
       [&] { attnkern::sdpa(x, x, x5, {}, 1, 1, 3, 2, 2, 1.0f, false, y); },
       "attnkern::sdpa: v holds 5 elements, fewer than batch x kv_len x value_dim = 1 x 3 x 2 = 6"},
      {[&] { return attnkern::nothrow::sdpa(x, x, x, lengths, 4, 1, 3, 2, 2, 1.0f, false, y); },
       [&] { attnkern::sdpa(x, x, x, lengths, 4, 1, 3, 2, 2, 1.0f, false, y); },
       "attnkern::sdpa: kv_lengths holds 3 elements, fewer than batch = 4"},
      {[&] { return attnkern::nothrow::sdpa(x, x, x, {}, 2, 1, 1, 2, 3, 1.0f, true, y5); },
       [&] { attnkern::sdpa(x, x, x, {}, 2, 1, 1, 2, 3, 1.0f, true, y5); },
       "attnkern::sdpa: out holds 5 elements, fewer than batch x q_len x value_dim = 2 x 1 x 3 = 6"},
  };
  for (const auto& m : cases) {
    INFO(m.message);
    CHECK(m.nothrow_form() == ATTNKERN_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(attnkern::last_error_message()) == m.message);
    attnkern_set_isa("sse3");  // the C library's message in between
    const outcome got = thrown(m.throwing_form);
    CHECK(got.status == ATTNKERN_ERROR_INVALID_ARGUMENT);
    CHECK(got.message == m.message);
    CHECK(untouched(y));
  }

  // larger views are fine: only what the sizes say is written
  std::vector<float> want(6);
  REQUIRE(attnkern_softmax_f32(x.data(), want.data(), 2, 3) == ATTNKERN_OK);
  CHECK(attnkern::nothrow::softmax(x, y, 2, 3) == ATTNKERN_OK);
  CHECK(same_bits({y.begin(), y.begin() + 6}, want));
  CHECK(untouched({y.begin() + 6, y.end()}));

  // the last message is the later failure's, the header's or the C library's
  REQUIRE(attnkern::nothrow::tanh(x6, y5) == ATTNKERN_ERROR_INVALID_ARGUMENT);
  CHECK(attnkern::nothrow::tanh(x.data(), nullptr, 4) == ATTNKERN_ERROR_NULL_POINTER);
  CHECK(std::string(attnkern::last_error_message()) == "attnkern_tanh_f32: y is NULL while it holds 4 floats");
  REQUIRE(attnkern::nothrow::tanh(x6, y5) == ATTNKERN_ERROR_INVALID_ARGUMENT);
  CHECK(attnkern::nothrow::tanh(x, y) == ATTNKERN_OK);  // a success leaves it
  CHECK(std::string(attnkern::last_error_message()).rfind("attnkern::tanh: ", 0) == 0);
  // attnkern::check reports a C call's failure, whatever the header's last was
  const outcome direct = thrown([&] { attnkern::check(attnkern_tanh_f32(nullptr, y.data(), 2)); });
  CHECK(direct.status == ATTNKERN_ERROR_NULL_POINTER);
  CHECK(direct.message == "attnkern_tanh_f32: x is NULL while it holds 2 floats");
  // the message is the thread's own
  std::string other = "unset";
  std::thread([&] { other = attnkern::last_error_message(); }).join();
  CHECK(other.empty());
}

TEST_CASE("cpp: attention_desc checks its views against the shape and strides", "[cpp][errors]") {
  const full_call c;
  const std::size_t outs = c.B * c.Hq * c.T * c.Dv, rows = c.B * c.Hq * c.T;
  std::vector<float> out = poisoned(outs), lse = poisoned(rows);
  auto desc = [&] { return c.built(out, lse, true); };
  auto fails = [&](const attnkern::attention_desc& d, const std::string& message) {
    INFO(message);
    CHECK(d.try_run() == ATTNKERN_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(attnkern::last_error_message()) == message);
    const outcome got = thrown([&] { d.run(); });
    CHECK(got.status == ATTNKERN_ERROR_INVALID_ARGUMENT);
    CHECK(got.message == message);
    CHECK(untouched(out));
    CHECK(untouched(lse));
  };
  const std::vector<float> q_short(c.q.begin(), c.q.end() - 1), bias_short(c.bias.begin(), c.bias.end() - 1);
  fails(desc().q(q_short, c.qs),
        "attnkern::attention_desc: q holds 319 elements, fewer than the 320 its 2 x 4 x 5 x 8 reach with strides "
        "{160, 40, 8}");
  // strides that broadcast: the bias is per head and row, the mask per row
  fails(desc().bias(bias_short, c.bs),
        "attnkern::attention_desc: bias holds 139 elements, fewer than the 140 its 2 x 4 x 5 x 7 reach with strides "
        "{0, 35, 7}");
  const std::vector<uint8_t> mask_short(c.mask.begin(), c.mask.end() - 1);
  fails(desc().mask(mask_short, c.ms),
        "attnkern::attention_desc: mask holds 34 elements, fewer than the 35 its 2 x 4 x 5 x 7 reach with strides "
        "{0, 0, 7}");
  std::vector<float> lse_short(rows - 1);
  fails(desc().lse(lse_short, c.ls),
        "attnkern::attention_desc: lse holds 39 elements, fewer than the 40 its 2 x 4 x 5 x 1 reach with strides "
        "{20, 5, 1}");
  std::vector<float> out_short(outs - 1);
  fails(desc().out(out_short, c.os),
        "attnkern::attention_desc: out holds 239 elements, fewer than the 240 its 2 x 4 x 5 x 6 reach with strides "
        "{120, 6, 24}");
  const std::vector<int32_t> one{0};
  fails(desc().kv_lengths(one), "attnkern::attention_desc: kv_lengths holds 1 elements, fewer than batch = 2");
  fails(desc().kv_starts(one), "attnkern::attention_desc: kv_starts holds 1 elements, fewer than batch = 2");
  const std::vector<float> three(3);
  fails(desc().sinks(three), "attnkern::attention_desc: sinks holds 3 elements, fewer than q_heads = 4");
  fails(desc().alibi_slopes(three), "attnkern::attention_desc: alibi_slopes holds 3 elements, fewer than q_heads = 4");
  fails(desc().bias_head_scales(three),
        "attnkern::attention_desc: bias_head_scales holds 3 elements, fewer than q_heads = 4");
  const std::vector<uint16_t> k16(c.k.size() - 1);
  fails(desc().k(k16, ATTNKERN_F16, c.ks),
        "attnkern::attention_desc: k holds 223 elements, fewer than the 224 its 2 x 2 x 7 x 8 reach with strides "
        "{112, 8, 16}");

  // an array given by a pointer afterwards is not checked; an empty view of an optional array is none
  CHECK(desc().q(q_short, c.qs).q(c.q.data(), c.qs).try_run() == ATTNKERN_OK);
  CHECK(desc().sinks(three).sinks(c.sinks.data()).try_run() == ATTNKERN_OK);
  const std::vector<float> empty;
  const auto d = desc().sinks(empty).lse(attnkern::span<float>(), c.ls).bias({}, c.bs).kv_lengths({});
  CHECK((d.args().sinks == nullptr && d.args().lse == nullptr && d.args().bias == nullptr));
  CHECK(d.args().kv_lengths == nullptr);
  // a shape of zeros needs nothing
  CHECK(desc().q(attnkern::span<const float>(), c.qs).batch(0).try_run() == ATTNKERN_OK);
}

TEST_CASE("cpp: the controls: thread pool, threading mode, ISA, environment, strides, messages", "[cpp]") {
  int calls = 0;
  const auto x = uniform(1 << 18, -3.0f, 3.0f, 5);
  std::vector<float> want(x.size()), got(x.size());
  REQUIRE(attnkern_tanh_f32(x.data(), want.data(), x.size()) == ATTNKERN_OK);
  {
    threads_scope threads(2);
    REQUIRE(attnkern::nothrow::set_thread_pool(serial_for, &calls, 2) == ATTNKERN_OK);
    CHECK(attnkern::threading_mode() == "external");
    CHECK(attnkern::nothrow::tanh(x, got) == ATTNKERN_OK);
    CHECK(same_bits(got, want));
    CHECK(calls > 0);
    CHECK(attnkern::nothrow::set_thread_pool(nullptr, nullptr, 0) == ATTNKERN_OK);
    CHECK(attnkern::threading_mode() != "external");
    attnkern::set_thread_pool(serial_for, &calls, 3);
    CHECK(attnkern::threading_mode() == "external");
    attnkern::set_thread_pool(nullptr, nullptr, 0);
    CHECK(attnkern::threading_mode() == attnkern_threading_mode());
  }
  for (const auto& mode : threading_modes()) {
    threading_scope scope(attnkern_threading_mode());
    CHECK(attnkern::nothrow::set_threading(mode.c_str()) == ATTNKERN_OK);
    CHECK(attnkern::threading_mode() == mode);
    attnkern::set_threading("auto");
    CHECK(attnkern::threading_mode() == attnkern_threading_mode());
  }
  for (const auto& isa : available_isas()) {
    CHECK(attnkern::nothrow::set_isa(isa.c_str()) == ATTNKERN_OK);
    CHECK(attnkern::isa() == isa);
    attnkern::set_isa(nullptr);
    CHECK(attnkern::isa() == attnkern_isa());
  }
  attnkern::set_num_threads(3);
  CHECK(attnkern::num_threads() == attnkern_num_threads());
  attnkern::set_num_threads(0);
  CHECK(attnkern::isa_env_status() == attnkern_isa_env_status());
  CHECK(attnkern::threading_env_status() == attnkern_threading_env_status());
  for (std::size_t h : {std::size_t(1), std::size_t(3)})
    for (std::size_t s : {std::size_t(1), std::size_t(7)}) {
      const attnkern_strides a = attnkern::strides_bhsd(h, s, 5), b = attnkern_strides_bhsd(h, s, 5);
      const attnkern_strides e = attnkern::strides_bshd(h, s, 5), f = attnkern_strides_bshd(h, s, 5);
      CHECK((a.batch == b.batch && a.head == b.head && a.seq == b.seq));
      CHECK((e.batch == f.batch && e.head == f.head && e.seq == f.seq));
    }
  for (int s = ATTNKERN_OK; s <= ATTNKERN_ERROR_UNSUPPORTED; ++s)
    CHECK(attnkern::status_message(static_cast<attnkern_status>(s)) ==
          attnkern_status_message(static_cast<attnkern_status>(s)));
  CHECK(attnkern::version() == attnkern_version());
}
