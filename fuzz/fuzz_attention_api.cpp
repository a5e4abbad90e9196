// libFuzzer target: attnkern_attention with every field of its descriptor decoded from the input
// (attention_case.hpp: shapes, GQA ratios, layouts and strides, packed QKV, f32/f16/bf16 per tensor,
// the scale, causal top-left and bottom-right, windows, kv_starts and kv_lengths, mask, bias with
// bias_head_scales, ALiBi, softcap, sinks, lse with its strides), on any path, against the float64
// reference (attnkern::reference::attention) within the documented bounds of attnkern/bounds.hpp:
//  - each out element within sdpa_max_error(head_dim, sigma, n) max|v| (a sink one more key), or with
//    a softcap, bias or ALiBi attention_max_error(head_dim, sigma, n) max|v|, plus attention_abs_floor,
//    plus half_out_error max|v| (and f16_out_floor) for an f16 or bf16 out; NaN exactly where the
//    reference has NaN;
//  - lse within lse_max_error(head_dim, sigma, n) (head_dim + 7 with those modifiers; a sink one more
//    key);
//  - a row that sees no key: +0 everywhere and lse = -inf, or its sink, bit for bit;
//  - nothing written outside the out and lse elements (their gaps keep a sentinel), and nothing at
//    all when value_dim is 0.
// One input in four is made invalid by one field (struct_size, NULL, a dtype, heads, scale, align,
// window, softcap, bias_head_scales without a bias, a negative or overflowing stride, a NULL tensor,
// kv_starts or kv_lengths out of range, overlapping out rows or lse rows, out overlapping an input,
// lse overlapping out): the documented status, and out and lse untouched.
#include "attention_case.hpp"

namespace {

using namespace attnkern_fuzz;

// Every byte of the out and lse buffers, to compare with after a refused call.
struct snapshot {
  std::vector<uint8_t> out, lse;
  explicit snapshot(const attention_case& c) {
    const uint8_t* o = static_cast<const uint8_t*>(c.out.data());
    out.assign(o, o + c.out.bytes());
    const uint8_t* l = reinterpret_cast<const uint8_t*>(c.lse.data());
    lse.assign(l, l + c.lse.size() * sizeof(float));
  }
  bool operator==(const snapshot& s) const { return out == s.out && lse == s.lse; }
};

// The call made invalid by one field (`kind`), and the status attnkern.h documents for it; false when
// this call's shape cannot hold that error (an empty tensor, no dimension of 2 or more).
bool make_invalid(input& in, attention_case& c, attnkern_attention_args& a, uint8_t kind, attnkern_status& want,
                  std::string& what) {
  const bool nonempty = c.batch && c.q_heads && c.q_len && c.value_dim;  // (else the call returns before its tensors)
  auto pick_strides = [&](uint8_t which) -> attnkern_strides* {
    switch (which % 7) {
      case 0: return &a.q_strides;
      case 1: return &a.k_strides;
      case 2: return &a.v_strides;
      case 3: return &a.out_strides;
      case 4: return c.has_lse ? &a.lse_strides : nullptr;
      case 5: return c.has_bias ? &a.bias_strides : nullptr;
      default: return c.has_mask ? &a.mask_strides : nullptr;
    }
  };
  switch (kind % 17) {
    case 0:
      a.struct_size = in.byte() % 2 ? 0 : sizeof a - 1 - in.below(sizeof a - 1);
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "struct_size too small";
      return true;
    case 1:
      a.struct_size = std::size_t(1) << (13 + in.byte() % 40);
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "struct_size of no version";
      return true;
    case 2: {
      const uint8_t which = in.byte() % 5;
      int32_t* t[] = {&a.q_dtype, &a.k_dtype, &a.v_dtype, &a.out_dtype, &a.bias_dtype};
      static const int32_t bad[] = {3, -1, 255, INT32_MIN};
      *t[which] = bad[in.byte() % 4];
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "an unknown dtype";
      return true;
    }
    case 3:
      a.kv_heads = in.byte() % 2 ? 0 : a.q_heads + 1 + in.below(3);
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "kv_heads that do not divide q_heads";
      return true;
    case 4: {
      static const float bad[] = {NAN, INFINITY, -INFINITY};
      a.scale = bad[in.byte() % 3];
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "a non-finite scale";
      return true;
    }
    case 5:
      a.align = in.byte() % 2 ? -1 : 2 + static_cast<int32_t>(in.byte());
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "an unknown align";
      return true;
    case 6:
      a.window = 1 + in.byte() % 3;
      (in.byte() % 2 ? a.window_left : a.window_right) = -1 - static_cast<int64_t>(in.below(1000)) * (in.byte() % 2 ? 1 : INT64_MAX / 1000);
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "a negative window";
      return true;
    case 7: {
      static const float bad[] = {-1.0f, -1e-30f, NAN, INFINITY, -INFINITY};
      a.softcap = bad[in.byte() % 5];
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "a bad softcap";
      return true;
    }
    case 8:
      a.bias = nullptr;
      a.bias_head_scales = c.lse.data();  // (any floats)
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "bias_head_scales without a bias";
      return true;
    case 9: {
      attnkern_strides* s = pick_strides(in.byte());
      if (!nonempty || !s) return false;
      int64_t* f[] = {&s->batch, &s->head, &s->seq};
      *f[in.byte() % 3] = -1 - static_cast<int64_t>(in.below(100));
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "a negative stride";
      return true;
    }
    case 10: {  // a span beyond size_t: a stride of INT64_MAX over a dimension of 3 or more
      if (!nonempty || c.q_heads < 3 || c.head_dim == 0) return false;
      a.q_strides.head = INT64_MAX;
      want = ATTNKERN_ERROR_INVALID_SIZE, what = "q's span overflows";
      return true;
    }
    case 11: {
      if (!nonempty) return false;
      const uint8_t which = in.byte() % 4;
      if (which == 0 && c.head_dim) a.q = nullptr;
      else if (which == 1 && c.head_dim && c.kv_len) a.k = nullptr;
      else if (which == 2 && c.kv_len) a.v = nullptr;
      else a.out = nullptr;
      want = ATTNKERN_ERROR_NULL_POINTER, what = "a NULL tensor";
      return true;
    }
    case 12: {
      if (!nonempty) return false;
      static thread_local std::vector<int32_t> bad;
      const std::size_t b = in.below(c.batch);
      const uint8_t which = in.byte() % 4;
      if (which < 2) {  // a length outside [0, kv_len]
        bad = c.lengths.empty() ? std::vector<int32_t>(c.batch, static_cast<int32_t>(c.kv_len)) : c.lengths;
        bad[b] = which ? -1 - static_cast<int32_t>(in.below(5)) : static_cast<int32_t>(c.kv_len) + 1 + static_cast<int32_t>(in.below(5));
        a.kv_lengths = bad.data();
      } else {  // a start outside [0, kv_len] or past its end
        bad = c.starts.empty() ? std::vector<int32_t>(c.batch, 0) : c.starts;
        bad[b] = which == 2 ? -1 : static_cast<int32_t>(c.end_of(b)) + 1 + static_cast<int32_t>(in.below(5));
        a.kv_starts = bad.data();
      }
      want = ATTNKERN_ERROR_INVALID_LENGTH, what = "kv_starts or kv_lengths out of range";
      return true;
    }
    case 13: {  // out's rows overlap: a stride of 0 (or 1 short) over a dimension of 2 or more
      if (!nonempty) return false;
      if (c.q_len >= 2) a.out_strides.seq = c.value_dim >= 2 && in.byte() % 2 ? static_cast<int64_t>(c.value_dim) - 1 : 0;
      else if (c.q_heads >= 2) a.out_strides.head = 0;
      else if (c.batch >= 2) a.out_strides.batch = 0;
      else return false;
      want = ATTNKERN_ERROR_ALIASING, what = "out rows overlap";
      return true;
    }
    case 14: {
      if (!nonempty || !c.has_lse) return false;
      if (c.q_len >= 2) a.lse_strides.seq = 0;
      else if (c.q_heads >= 2) a.lse_strides.head = 0;
      else if (c.batch >= 2) a.lse_strides.batch = 0;
      else return false;
      want = ATTNKERN_ERROR_ALIASING, what = "lse rows overlap";
      return true;
    }
    case 15: {  // out over an input: q (or K, V, the bias, the mask, the lengths, slopes, sinks)
      if (!nonempty) return false;
      const uint8_t which = in.byte() % 6;
      if (which == 0 && c.head_dim) a.out = const_cast<void*>(a.q);
      else if (which == 1 && c.head_dim && c.kv_len) a.out = const_cast<void*>(a.k);
      else if (which == 2 && c.kv_len) a.out = const_cast<void*>(a.v);
      else if (which == 3 && c.has_mask && c.kv_len) a.out = const_cast<uint8_t*>(a.mask);
      else if (which == 4 && !c.sinks.empty()) a.out = c.sinks.data();
      else if (which == 5 && !c.lengths.empty()) a.out = c.lengths.data();
      else return false;
      want = ATTNKERN_ERROR_ALIASING, what = "out overlaps an input";
      return true;
    }
    default: {  // lse inside out
      if (!nonempty || !c.has_lse) return false;
      a.lse = static_cast<float*>(c.out.data());
      want = ATTNKERN_ERROR_ALIASING, what = "lse overlaps out";
      return true;
    }
  }
}

[[noreturn]] void fail_case(const attention_case& c, const std::string& what) { fail(what + " [" + c.describe() + "]"); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace attnkern::bounds;
  input in(data, size);
  in.random_tail(data, size);
  in.select_isa();
  const bool invalid = in.byte() % 4 == 0;
  const uint8_t invalid_kind = in.byte();
  const uint8_t call_kind = in.byte() % 8;  // 0: through a larger struct (a newer header's) with zeros past this one
  value_source vs(in, data, size);
  attention_case c = decode_case(in, vs, decode_options{});
  attnkern_attention_args a = c.args();

  if (invalid) {
    attnkern_status want = ATTNKERN_OK;
    std::string what;
    uint8_t kind = invalid_kind;
    if (!make_invalid(in, c, a, kind, want, what)) {  // (this shape cannot hold it: a bad scale instead)
      a = c.args();
      make_invalid(in, c, a, kind = 4, want, what);
    }
    const snapshot before(c);
    // (out aimed at an input: the inputs are unchanged too)
    auto inputs = [&c] {
      std::vector<uint8_t> all;
      auto add = [&all](const void* p, std::size_t bytes) {
        all.insert(all.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + bytes);
      };
      add(c.qb->data(), c.qb->bytes()), add(c.kb->data(), c.kb->bytes()), add(c.vb->data(), c.vb->bytes());
      add(c.mask.data(), c.mask.size()), add(c.sinks.data(), c.sinks.size() * 4), add(c.lengths.data(), c.lengths.size() * 4);
      return all;
    };
    const std::vector<uint8_t> inputs_before = inputs();
    attnkern_status got;
    if (kind % 17 == 0 && in.byte() % 8 == 0) {
      got = attnkern_attention(nullptr);
      want = ATTNKERN_ERROR_NULL_POINTER, what = "args NULL";
    } else if (kind % 17 == 1 && in.byte() % 2 == 0) {  // a newer header's struct, its new fields not zero
      struct newer {
        attnkern_attention_args a;
        int64_t future[3];
      } n{};
      n.a = c.args();
      n.a.struct_size = sizeof n;
      n.future[in.byte() % 3] = 1 + in.byte();
      got = attnkern_attention(&n.a);
      want = ATTNKERN_ERROR_UNSUPPORTED, what = "a newer struct's fields";
    } else {
      got = attnkern_attention(&a);
    }
    if (got != want)
      fail_case(c, std::string(what) + ": status " + attnkern_status_message(got) + " (" + attnkern_last_error_message() +
                       "), expected " + attnkern_status_message(want));
    if (attnkern_last_error_message()[0] == '\0') fail_case(c, what + ": no error message");
    if (!(snapshot(c) == before)) fail_case(c, what + ": out or lse written on error");
    if (inputs() != inputs_before) fail_case(c, what + ": an input written on error");
    return 0;
  }

  const attnkern_status got = call_kind == 0 ? call_as_newer(a, attnkern_attention, 0, 0) : attnkern_attention(&a);
  if (got != ATTNKERN_OK)
    fail_case(c, std::string("status ") + attnkern_status_message(got) + " (" + attnkern_last_error_message() + ")");

  // nothing written outside the elements (and nothing at all when value_dim is 0: zero sizes write nothing)
  const bool writes = c.batch && c.q_heads && c.q_len && c.value_dim;
  {
    std::vector<char> element(c.out.f.size(), 0), lse_element(c.lse.size(), 0);
    if (writes)
      for (std::size_t b = 0; b < c.batch; ++b)
        for (std::size_t h = 0; h < c.q_heads; ++h)
          for (std::size_t i = 0; i < c.q_len; ++i) {
            for (std::size_t e = 0; e < c.value_dim; ++e) element[c.o.at(b, h, i) + e] = 1;
            if (c.has_lse) lse_element[c.l.at(b, h, i)] = 1;
          }
    const float sentinel_out = attention_case::sentinel;
    const uint16_t sentinel_half = half_bits(attention_case::sentinel, c.out_type);
    for (std::size_t x = 0; x < element.size(); ++x)
      if (!element[x] && (is_half(c.out_type) ? c.out.h[x] != sentinel_half : std::memcmp(&c.out.f[x], &sentinel_out, 4) != 0))
        fail_case(c, "out written outside its elements, at " + std::to_string(x));
    for (std::size_t x = 0; x < lse_element.size(); ++x)
      if (!lse_element[x] && c.lse[x] != attention_case::sentinel)
        fail_case(c, "lse written outside its elements, at " + std::to_string(x));
  }
  if (!writes) return 0;

  const auto p = c.problem();
  std::vector<double> want(c.batch * c.q_heads * c.q_len * c.value_dim), want_lse(c.batch * c.q_heads * c.q_len);
  attnkern::reference::attention(p, want.data(), want_lse.data());
  const bool sink = !c.sinks.empty();
  for (std::size_t b = 0; b < c.batch; ++b)
    for (std::size_t h = 0; h < c.q_heads; ++h)
      for (std::size_t i = 0; i < c.q_len; ++i) {
        const std::size_t row = (b * c.q_heads + h) * c.q_len + i;
        const row_stats r = c.stats(p, b, h, i, [](std::size_t) { return true; });
        const std::string at = "row b=" + std::to_string(b) + " h=" + std::to_string(h) + " i=" + std::to_string(i) +
                               " (" + std::to_string(r.n) + " keys)";
        if (r.n == 0) {  // zeros and lse = -inf (or the sink), bit for bit
          for (std::size_t e = 0; e < c.value_dim; ++e) {
            const float x = c.out_at(b, h, i, e);
            if (x != 0.0f || std::signbit(x)) fail_case(c, at + ": sees no key but out is not +0");
          }
          const float empty = sink ? c.sinks[h] : -INFINITY, got_l = c.has_lse ? c.lse_at(b, h, i) : empty;
          if (std::isnan(empty) ? !std::isnan(got_l) : std::memcmp(&got_l, &empty, 4) != 0)
            fail_case(c, at + ": sees no key but lse is " + std::to_string(got_l) + ", not " + std::to_string(empty));
          continue;
        }
        const double allowed = c.out_bound(r, sink) + c.half_out_bound(r);
        for (std::size_t e = 0; e < c.value_dim; ++e) {
          const float got_e = c.out_at(b, h, i, e);
          const double ref = want[row * c.value_dim + e];
          if (std::isnan(ref) ? !std::isnan(got_e) : !(std::fabs(static_cast<double>(got_e) - ref) <= allowed)) {
            char buf[256];
            std::snprintf(buf, sizeof buf, ": out[%zu] = %.9g, reference %.17g, error %.3g, bound %.3g (sigma %.6g, max|v| %.6g)", e,
                          static_cast<double>(got_e), ref, std::fabs(got_e - ref), allowed, r.sigma, r.max_v);
            fail_case(c, at + buf);
          }
        }
        if (c.has_lse) {
          const float got_l = c.lse_at(b, h, i);
          const double ref = want_lse[row], allowed_l = c.lse_bound(r, sink);
          if (std::isnan(ref) ? !std::isnan(got_l) : !(std::fabs(static_cast<double>(got_l) - ref) <= allowed_l)) {
            char buf[256];
            std::snprintf(buf, sizeof buf, ": lse = %.9g, reference %.17g, error %.3g, bound %.3g (sigma %.6g)",
                          static_cast<double>(got_l), ref, std::fabs(got_l - ref), allowed_l, r.sigma);
            fail_case(c, at + buf);
          }
        }
      }
  return 0;
}
