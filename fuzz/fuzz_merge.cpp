// libFuzzer target: attnkern_attention_merge, three ways.
//  - Parts computed by attnkern_attention (half the inputs): a call decoded as in
//    fuzz_attention_api.cpp (attention_case.hpp: every field, out and lse in float), its keys split
//    into two disjoint sets, either by kv_starts / kv_lengths at a point of each item's range (when no
//    causal mask, window or ALiBi ties the scores to the range's diagonal) or by two complementary byte
//    masks over the whole range (any modifier; the call's own mask is kept inside both); the sink, if
//    any, in one part. The parts are merged (in place into part a's out and lse one time in four; lse
//    NULL now and then; any strides) and each row compared with the float64 reference of the whole
//    call: within merge_out_max_error (bounds.hpp, docs/numerics.md) of the parts' bounds (out_bound,
//    as fuzz_attention_api holds them), e_a and e_b their lse_max_error, and the larger |out| of the
//    parts' row: the larger part bound plus ((e_a + e_b) / 2 + merge_max_error) times that |out|; its
//    lse within merge_lse_max_error, max(e_a, e_b) + merge_max_error max(1, |lse|) (the reference's). Where a part's lse is -inf (no key on that side) the other part
//    is copied bit for bit, both -inf give zeros and -inf, a NaN lse gives a NaN row.
//  - Parts given by the fuzzer (a quarter): out values up to 1e30 and NaN, lse values up to 1e30,
//    -inf and NaN, any strides, merged and compared with the same merge evaluated in long double from
//    the same floats: each part exact, so merge_out_max_error with lse errors of 0 and part errors of
//    attention_abs_floor (the least a part of attnkern_attention is ever held to), and
//    merge_lse_max_error with lse errors of 0; the exact cases as above.
//  - Invalid arguments (a quarter): NULL args or tensors, struct_size, a negative or overflowing
//    stride, out or lse rows that overlap, out or lse over an input other than the exact in-place case,
//    lse over out: the documented status, and nothing written.
#include "attention_case.hpp"

namespace {

using namespace attnkern_fuzz;
using namespace attnkern::bounds;

// A float tensor [batch, heads, rows, dim] of some layout in its own buffer (gaps: the sentinel).
struct ftensor {
  std::vector<float> data;
  view at;
  int layout = bhsd;
  void make(input& in, std::size_t batch, std::size_t heads, std::size_t rows, std::size_t dim, float fill) {
    layout = in.byte() % (layout_kinds - 1);
    at.st = layout_strides(in, layout, heads, rows, dim);
    data.assign(std::max<std::size_t>(span(batch, heads, rows, dim, at.st), 1), fill);
  }
  float* row(std::size_t b, std::size_t h, std::size_t i) { return data.data() + at.at(b, h, i); }
};

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct merge_shape {
  std::size_t batch, heads, rows, value_dim;
};

[[noreturn]] void fail_row(const std::string& mode, std::size_t b, std::size_t h, std::size_t i, const std::string& what) {
  fail("merge (" + mode + ") row b=" + std::to_string(b) + " h=" + std::to_string(h) + " i=" + std::to_string(i) + ": " + what);
}

// The documented exact cases of a merged row: true when the row was one of them (and matched).
bool exact_cases(const std::string& mode, std::size_t b, std::size_t h, std::size_t i, std::size_t dv, const float* oa,
                 float la, const float* ob, float lb, const float* o, const float* lse) {
  if (std::isnan(la) || std::isnan(lb)) {
    for (std::size_t e = 0; e < dv; ++e)
      if (!std::isnan(o[e])) fail_row(mode, b, h, i, "a NaN lse but out[" + std::to_string(e) + "] is not NaN");
    if (lse && !std::isnan(*lse)) fail_row(mode, b, h, i, "a NaN lse but the merged lse is not NaN");
    return true;
  }
  if (la == -INFINITY && lb == -INFINITY) {
    for (std::size_t e = 0; e < dv; ++e)
      if (!same_bits(o[e], 0.0f)) fail_row(mode, b, h, i, "both sides empty but out is not +0");
    if (lse && !same_bits(*lse, -INFINITY)) fail_row(mode, b, h, i, "both sides empty but lse is not -inf");
    return true;
  }
  if (la == -INFINITY || lb == -INFINITY) {
    const float* other = la == -INFINITY ? ob : oa;
    const float other_lse = la == -INFINITY ? lb : la;
    for (std::size_t e = 0; e < dv; ++e)
      if (!same_bits(o[e], other[e])) fail_row(mode, b, h, i, "one side empty but out is not the other side's, bit for bit");
    if (lse && !(*lse == other_lse)) {  // (the same value: a sink of -0 comes back +0, -0 + log 1)
      char buf[160];
      std::snprintf(buf, sizeof buf, "one side empty but lse = %.9g, not the other side's %.9g (lse_a %.9g, lse_b %.9g)",
                    static_cast<double>(*lse), static_cast<double>(other_lse), static_cast<double>(la), static_cast<double>(lb));
      fail_row(mode, b, h, i, buf);
    }
    return true;
  }
  return false;
}

// out and lse of the merge: in place into part a (out = out_a, lse = lse_a), or their own tensors
// (lse NULL now and then).
struct merge_outputs {
  bool in_place = false, has_lse = true;
  ftensor out, lse;
};

attnkern_merge_args merge_args(const merge_shape& s, ftensor& oa, ftensor& la, ftensor& ob, ftensor& lb, merge_outputs& m) {
  attnkern_merge_args a{};
  a.struct_size = sizeof a;
  a.batch = s.batch, a.heads = s.heads, a.rows = s.rows, a.value_dim = s.value_dim;
  a.out_a = oa.data.data(), a.out_a_strides = oa.at.st;
  a.lse_a = la.data.data(), a.lse_a_strides = la.at.st;
  a.out_b = ob.data.data(), a.out_b_strides = ob.at.st;
  a.lse_b = lb.data.data(), a.lse_b_strides = lb.at.st;
  if (m.in_place) {
    a.out = oa.data.data(), a.out_strides = oa.at.st;
    a.lse = m.has_lse ? la.data.data() : nullptr, a.lse_strides = la.at.st;
  } else {
    a.out = m.out.data.data(), a.out_strides = m.out.at.st;
    a.lse = m.has_lse ? m.lse.data.data() : nullptr, a.lse_strides = m.lse.at.st;
  }
  return a;
}

// Parts computed by attnkern_attention over disjoint keys, merged, against the whole's reference.
void computed_parts(input& in, value_source& vs) {
  decode_options opt;
  opt.half_out = false, opt.lse_optional = false;
  attention_case c = decode_case(in, vs, opt);
  const std::size_t B = c.batch, Hq = c.q_heads, T = c.q_len, K = c.kv_len, dv = c.value_dim;
  const bool diagonal = c.causal || c.window || !c.slopes.empty();
  const bool by_range = !diagonal && in.byte() % 2;
  // the split: per item a point in [start, end] (by range), or per item and key a side (by mask)
  std::vector<int32_t> point(B), a_starts(B), a_ends(B), b_starts(B), b_ends(B);
  std::vector<uint8_t> side(B * K, 0);  // 1: part a
  const uint8_t pattern = in.byte() % 5;  // (by mask) 0: a point, 1: alternate keys, 2: random, 3: all a, 4: all b
  for (std::size_t b = 0; b < B; ++b) {
    const int32_t start = static_cast<int32_t>(c.start_of(b)), end = static_cast<int32_t>(c.end_of(b));
    const uint8_t e = in.byte() % 4;
    point[b] = e == 0 ? start : e == 1 ? end : start + static_cast<int32_t>(in.below(static_cast<std::size_t>(end - start) + 1));
    a_starts[b] = start, a_ends[b] = point[b], b_starts[b] = point[b], b_ends[b] = end;
    for (std::size_t j = 0; j < K; ++j) {
      const bool in_a = pattern == 0 ? static_cast<int32_t>(j) < point[b]
                        : pattern == 1 ? j % 2 == 0
                        : pattern == 2 ? vs.random() % 2 == 0
                                       : pattern == 3;
      side[b * K + j] = in_a;
    }
  }
  if (by_range)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < K; ++j) side[b * K + j] = static_cast<int32_t>(j) < point[b];
  // the parts' masks (by mask): dense [B, Hq, T, K], the call's own mask kept inside both
  std::vector<uint8_t> mask_a, mask_b;
  const attnkern_strides mask_st = attnkern_strides_bhsd(Hq, T, K);
  if (!by_range) {
    mask_a.assign(std::max<std::size_t>(B * Hq * T * K, 1), 0);
    mask_b = mask_a;
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t h = 0; h < Hq; ++h)
        for (std::size_t i = 0; i < T; ++i)
          for (std::size_t j = 0; j < K; ++j) {
            const bool open = !c.has_mask || c.mask[b * static_cast<std::size_t>(c.mask_st.batch) +
                                                    h * static_cast<std::size_t>(c.mask_st.head) +
                                                    i * static_cast<std::size_t>(c.mask_st.seq) + j] != 0;
            const std::size_t x = ((b * Hq + h) * T + i) * K + j;
            mask_a[x] = open && side[b * K + j] ? 1 : 0;
            mask_b[x] = open && !side[b * K + j] ? 1 : 0;
          }
  }
  const bool sink_in_a = in.byte() % 2;
  const bool has_sink = !c.sinks.empty();
  // part a writes the case's out and lse; part b its own
  ftensor out_b, lse_b;
  out_b.make(in, B, Hq, T, dv, attention_case::sentinel);
  lse_b.make(in, B, Hq, T, 1, attention_case::sentinel);
  auto run = [&](bool part_a) {
    attnkern_attention_args a = c.args();
    if (by_range) {
      a.kv_starts = part_a ? a_starts.data() : b_starts.data();
      a.kv_lengths = part_a ? a_ends.data() : b_ends.data();
    } else {
      a.mask = part_a ? mask_a.data() : mask_b.data(), a.mask_strides = mask_st;
    }
    if (has_sink && part_a != sink_in_a) a.sinks = nullptr;
    if (!part_a) a.out = out_b.data.data(), a.out_strides = out_b.at.st, a.lse = lse_b.data.data(), a.lse_strides = lse_b.at.st;
    const attnkern_status s = attnkern_attention(&a);
    if (s != ATTNKERN_OK)
      fail(std::string("a part: status ") + attnkern_status_message(s) + " (" + attnkern_last_error_message() + ") [" +
           c.describe() + "]");
  };
  run(true);
  run(false);
  if (B == 0 || Hq == 0 || T == 0 || dv == 0) return;  // (the parts wrote nothing: zero sizes write nothing)
  ftensor out_a, lse_a;  // (part a's out and lse, as merge inputs)
  out_a.at = c.o, out_a.data = c.out.f;
  lse_a.at = c.l, lse_a.data = c.lse;
  const ftensor part_a_out = out_a, part_a_lse = lse_a;  // (kept: an in-place merge overwrites them)
  merge_outputs m;
  m.in_place = in.byte() % 4 == 0;
  m.has_lse = in.byte() % 4 != 0;
  if (!m.in_place) {
    m.out.make(in, B, Hq, T, dv, attention_case::sentinel);
    m.lse.make(in, B, Hq, T, 1, attention_case::sentinel);
  }
  const merge_shape shape{B, Hq, T, dv};
  const attnkern_merge_args args = merge_args(shape, out_a, lse_a, out_b, lse_b, m);
  const attnkern_status s = attnkern_attention_merge(&args);
  if (s != ATTNKERN_OK)
    fail(std::string("merge: status ") + attnkern_status_message(s) + " (" + attnkern_last_error_message() + ")");

  const auto p = c.problem();
  std::vector<double> want(B * Hq * T * dv), want_lse(B * Hq * T);
  attnkern::reference::attention(p, want.data(), want_lse.data());
  const std::string mode = std::string(by_range ? "split by range" : "split by mask") + " [" + c.describe() + "]";
  ftensor& mo = m.in_place ? out_a : m.out;
  ftensor& ml = m.in_place ? lse_a : m.lse;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < Hq; ++h)
      for (std::size_t i = 0; i < T; ++i) {
        const float* oa = part_a_out.data.data() + part_a_out.at.at(b, h, i);
        const float* ob = out_b.row(b, h, i);
        const float la = part_a_lse.data[part_a_lse.at.at(b, h, i)], lb = *lse_b.row(b, h, i);
        const float* o = mo.row(b, h, i);
        const float* lse = m.has_lse ? ml.row(b, h, i) : nullptr;
        if (exact_cases(mode, b, h, i, dv, oa, la, ob, lb, o, lse)) continue;
        const row_stats ra = c.stats(p, b, h, i, [&](std::size_t j) { return side[b * K + j] != 0; });
        const row_stats rb = c.stats(p, b, h, i, [&](std::size_t j) { return side[b * K + j] == 0; });
        const bool sa = has_sink && sink_in_a, sb = has_sink && !sink_in_a;
        const double e_a = c.lse_bound(ra, sa), e_b = c.lse_bound(rb, sb);
        double largest = 0;
        for (std::size_t e = 0; e < dv; ++e) largest = std::max({largest, std::fabs(static_cast<double>(oa[e])), std::fabs(static_cast<double>(ob[e]))});
        const double allowed = merge_out_max_error(c.out_bound(ra, sa), c.out_bound(rb, sb), e_a, e_b, largest);
        const std::size_t row = (b * Hq + h) * T + i;
        for (std::size_t e = 0; e < dv; ++e) {
          const double ref = want[row * dv + e];
          if (std::isnan(ref) ? !std::isnan(o[e]) : !(std::fabs(static_cast<double>(o[e]) - ref) <= allowed)) {
            char buf[300];
            std::snprintf(buf, sizeof buf,
                          "out[%zu] = %.9g, reference %.17g, error %.3g, bound %.3g (parts: %zu and %zu keys, lse %.9g and "
                          "%.9g, e %.3g and %.3g)",
                          e, static_cast<double>(o[e]), ref, std::fabs(o[e] - ref), allowed, ra.n, rb.n,
                          static_cast<double>(la), static_cast<double>(lb), e_a, e_b);
            fail_row(mode, b, h, i, buf);
          }
        }
        if (lse) {
          const double ref = want_lse[row];
          const double allowed_l = merge_lse_max_error(e_a, e_b, ref);
          if (std::isnan(ref) ? !std::isnan(*lse) : !(std::fabs(static_cast<double>(*lse) - ref) <= allowed_l)) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "lse = %.9g, reference %.17g, error %.3g, bound %.3g", static_cast<double>(*lse),
                          ref, std::fabs(*lse - ref), allowed_l);
            fail_row(mode, b, h, i, buf);
          }
        }
      }
}

// A float up to `range`, NaN among the fuzzer's values; `lse`: also -inf one time in eight.
float part_value(input& in, value_source& vs, float range, bool lse) {
  if (lse && in.byte() % 8 == 0) return -INFINITY;
  const float x = vs.next(range);
  return std::isinf(x) ? 0.0f : x;
}

// Parts given by the fuzzer, against the same merge in long double.
void given_parts(input& in, value_source& vs) {
  const merge_shape s{1 + in.below(2), 1 + in.below(4), 1 + in.below(8), in.below(17)};
  static const float ranges[] = {1.0f, 100.0f, 1e6f, 1e30f};
  const float out_range = ranges[in.byte() % 4], lse_range = ranges[in.byte() % 4];
  ftensor oa, la, ob, lb;
  oa.make(in, s.batch, s.heads, s.rows, s.value_dim, NAN);
  la.make(in, s.batch, s.heads, s.rows, 1, NAN);
  ob.make(in, s.batch, s.heads, s.rows, s.value_dim, NAN);
  lb.make(in, s.batch, s.heads, s.rows, 1, NAN);
  for (std::size_t b = 0; b < s.batch; ++b)
    for (std::size_t h = 0; h < s.heads; ++h)
      for (std::size_t i = 0; i < s.rows; ++i) {
        for (std::size_t e = 0; e < s.value_dim; ++e) oa.row(b, h, i)[e] = part_value(in, vs, out_range, false);
        for (std::size_t e = 0; e < s.value_dim; ++e) ob.row(b, h, i)[e] = part_value(in, vs, out_range, false);
        *la.row(b, h, i) = part_value(in, vs, lse_range, true);
        *lb.row(b, h, i) = part_value(in, vs, lse_range, true);
      }
  const ftensor oa0 = oa, la0 = la;
  merge_outputs m;
  m.in_place = in.byte() % 4 == 0;
  m.has_lse = in.byte() % 4 != 0;
  if (!m.in_place) {
    m.out.make(in, s.batch, s.heads, s.rows, s.value_dim, attention_case::sentinel);
    m.lse.make(in, s.batch, s.heads, s.rows, 1, attention_case::sentinel);
  }
  const attnkern_merge_args a = merge_args(s, oa, la, ob, lb, m);
  const attnkern_status st = attnkern_attention_merge(&a);
  if (st != ATTNKERN_OK) fail(std::string("merge (given parts): status ") + attnkern_status_message(st));
  ftensor& mo = m.in_place ? oa : m.out;
  ftensor& ml = m.in_place ? la : m.lse;
  const std::string mode = "given parts";
  for (std::size_t b = 0; b < s.batch; ++b)
    for (std::size_t h = 0; h < s.heads; ++h)
      for (std::size_t i = 0; i < s.rows; ++i) {
        const float* pa = oa0.data.data() + oa0.at.at(b, h, i);
        const float* pb = ob.row(b, h, i);
        const float fa = la0.data[la0.at.at(b, h, i)], fb = *lb.row(b, h, i);
        const float* o = mo.row(b, h, i);
        const float* lse = m.has_lse ? ml.row(b, h, i) : nullptr;
        if (exact_cases(mode, b, h, i, s.value_dim, pa, fa, pb, fb, o, lse)) continue;
        const long double top = std::max<long double>(fa, fb);
        const long double wa = std::exp(static_cast<long double>(fa) - top), wb = std::exp(static_cast<long double>(fb) - top);
        double largest = 0;
        for (std::size_t e = 0; e < s.value_dim; ++e) largest = std::max({largest, std::fabs(static_cast<double>(pa[e])), std::fabs(static_cast<double>(pb[e]))});
        const double allowed = merge_out_max_error(attention_abs_floor, attention_abs_floor, 0, 0, largest);
        for (std::size_t e = 0; e < s.value_dim; ++e) {
          const long double exact = (wa * pa[e] + wb * pb[e]) / (wa + wb);
          if (std::isnan(exact) ? !std::isnan(o[e]) : !(std::fabs(static_cast<long double>(o[e]) - exact) <= allowed)) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "out[%zu] = %.9g, exact %.17Lg, bound %.3g (lse %.9g and %.9g)", e,
                          static_cast<double>(o[e]), exact, allowed, static_cast<double>(fa), static_cast<double>(fb));
            fail_row(mode, b, h, i, buf);
          }
        }
        if (lse) {
          const long double exact = top + std::log(wa + wb);
          const double allowed_l = merge_lse_max_error(0, 0, static_cast<double>(exact));
          if (!(std::fabs(static_cast<long double>(*lse) - exact) <= allowed_l)) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "lse = %.9g, exact %.17Lg, bound %.3g", static_cast<double>(*lse), exact, allowed_l);
            fail_row(mode, b, h, i, buf);
          }
        }
      }
}

// Invalid arguments: the documented status, nothing written.
void invalid_args(input& in, value_source& vs) {
  const merge_shape s{1 + in.below(3), 1 + in.below(4), 1 + in.below(6), 1 + in.below(8)};
  ftensor oa, la, ob, lb;
  oa.make(in, s.batch, s.heads, s.rows, s.value_dim, 0.0f);
  la.make(in, s.batch, s.heads, s.rows, 1, 0.0f);
  ob.make(in, s.batch, s.heads, s.rows, s.value_dim, 0.0f);
  lb.make(in, s.batch, s.heads, s.rows, 1, 0.0f);
  for (ftensor* t : {&oa, &la, &ob, &lb})
    for (float& x : t->data) x = part_value(in, vs, 4.0f, t == &la || t == &lb);
  merge_outputs m;
  m.in_place = in.byte() % 4 == 0;
  m.has_lse = in.byte() % 4 != 0;
  m.out.make(in, s.batch, s.heads, s.rows, s.value_dim, attention_case::sentinel);
  m.lse.make(in, s.batch, s.heads, s.rows, 1, attention_case::sentinel);
  attnkern_merge_args a = merge_args(s, oa, la, ob, lb, m);
  attnkern_status want = ATTNKERN_OK;
  std::string what;
  const uint8_t kind = in.byte() % 12;
  // a dimension of at least `n` (batch, heads or rows): the stride to break; null when none is
  auto dimension = [&](attnkern_strides& st, std::size_t n) -> int64_t* {
    if (s.rows >= n) return &st.seq;
    if (s.heads >= n) return &st.head;
    if (s.batch >= n) return &st.batch;
    return nullptr;
  };
  attnkern_strides* const all[] = {&a.out_a_strides, &a.lse_a_strides, &a.out_b_strides, &a.lse_b_strides, &a.out_strides,
                                   &a.lse_strides};
  bool null_args = false;
  switch (kind) {
    case 0:
      null_args = in.byte() % 2;
      if (!null_args) a.struct_size = in.byte() % 2 ? sizeof a - 1 - in.below(sizeof a - 1) : std::size_t(1) << (13 + in.byte() % 40);
      want = null_args ? ATTNKERN_ERROR_NULL_POINTER : ATTNKERN_ERROR_INVALID_ARGUMENT, what = null_args ? "args NULL" : "struct_size";
      break;
    case 1: {
      const uint8_t which = in.byte() % 5;
      if (which == 0) a.out_a = nullptr;
      if (which == 1) a.lse_a = nullptr;
      if (which == 2) a.out_b = nullptr;
      if (which == 3) a.lse_b = nullptr;
      if (which == 4) a.out = nullptr;
      want = ATTNKERN_ERROR_NULL_POINTER, what = "a NULL tensor";
      break;
    }
    case 2: {
      attnkern_strides* st = all[in.byte() % (m.has_lse ? 6 : 5)];
      int64_t* f[] = {&st->batch, &st->head, &st->seq};
      *f[in.byte() % 3] = -1 - static_cast<int64_t>(in.below(50));
      want = ATTNKERN_ERROR_INVALID_ARGUMENT, what = "a negative stride";
      break;
    }
    case 3: {
      int64_t* f = dimension(*all[in.byte() % (m.has_lse ? 6 : 5)], 3);
      if (!f) return;
      *f = INT64_MAX;
      want = ATTNKERN_ERROR_INVALID_SIZE, what = "a span beyond size_t";
      break;
    }
    case 4: {  // out's rows overlap
      int64_t* f = dimension(a.out_strides, 2);
      if (!f) return;
      *f = 0;
      want = ATTNKERN_ERROR_ALIASING, what = "out rows overlap";
      break;
    }
    case 5: {
      if (!a.lse) return;
      int64_t* f = dimension(a.lse_strides, 2);
      if (!f) return;
      *f = 0;
      want = ATTNKERN_ERROR_ALIASING, what = "lse rows overlap";
      break;
    }
    case 6:  // out over out_b (or lse_b, lse_a)
      a.out = const_cast<float*>(in.byte() % 3 == 0 ? a.out_b : in.byte() % 2 ? a.lse_b : a.lse_a);
      want = ATTNKERN_ERROR_ALIASING, what = "out overlaps an input";
      break;
    case 7:  // out over out_a, but not exactly (another offset or other strides)
      if (s.batch * s.heads * s.rows == 1) {
        if (s.value_dim < 2) return;  // (one float: nothing to overlap but itself)
        a.out = const_cast<float*>(a.out_a) + 1;
      } else if (in.byte() % 2) {
        a.out = const_cast<float*>(a.out_a) + 1;
      } else {
        a.out = const_cast<float*>(a.out_a);
        a.out_strides = a.out_a_strides;
        (s.rows > 1 ? a.out_strides.seq : s.heads > 1 ? a.out_strides.head : a.out_strides.batch) += 1;
      }
      want = ATTNKERN_ERROR_ALIASING, what = "out overlaps out_a, not in place";
      break;
    case 8:  // lse over an input other than exactly lse_a
      a.lse = const_cast<float*>(in.byte() % 2 ? a.lse_b : a.out_a);
      if (!a.lse) return;
      want = ATTNKERN_ERROR_ALIASING, what = "lse overlaps an input";
      break;
    case 9:  // lse over out
      if (!a.lse || m.in_place) return;
      a.lse = a.out;
      want = ATTNKERN_ERROR_ALIASING, what = "lse overlaps out";
      break;
    case 10:  // lse over lse_a with other strides
      if (s.batch * s.heads * s.rows == 1) return;
      a.lse = const_cast<float*>(a.lse_a);
      a.lse_strides = a.lse_a_strides;
      (s.rows > 1 ? a.lse_strides.seq : s.heads > 1 ? a.lse_strides.head : a.lse_strides.batch) += 1;
      want = ATTNKERN_ERROR_ALIASING, what = "lse overlaps lse_a, not in place";
      break;
    default: {  // a newer struct whose fields past this one are not zero
      const std::size_t which = in.byte();
      const std::vector<float> before[6] = {oa.data, la.data, ob.data, lb.data, m.out.data, m.lse.data};
      const attnkern_status got = call_as_newer(a, attnkern_attention_merge, -1, which);
      if (got != ATTNKERN_ERROR_UNSUPPORTED)
        fail(std::string("merge, a newer struct's fields: status ") + attnkern_status_message(got));
      const std::vector<float> after[6] = {oa.data, la.data, ob.data, lb.data, m.out.data, m.lse.data};
      for (int t = 0; t < 6; ++t)
        if (std::memcmp(before[t].data(), after[t].data(), before[t].size() * 4) != 0) fail("merge wrote on error");
      return;
    }
  }
  const std::vector<float> before[6] = {oa.data, la.data, ob.data, lb.data, m.out.data, m.lse.data};
  const attnkern_status got = attnkern_attention_merge(null_args ? nullptr : &a);
  if (got != want)
    fail(std::string("merge, ") + what + ": status " + attnkern_status_message(got) + " (" + attnkern_last_error_message() +
         "), expected " + attnkern_status_message(want));
  if (attnkern_last_error_message()[0] == '\0') fail("merge, " + what + ": no error message");
  const std::vector<float> after[6] = {oa.data, la.data, ob.data, lb.data, m.out.data, m.lse.data};
  for (int t = 0; t < 6; ++t)
    if (std::memcmp(before[t].data(), after[t].data(), before[t].size() * 4) != 0) fail("merge, " + what + ": written on error");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  input in(data, size);
  in.random_tail(data, size);
  in.select_isa();  // (the merge has one path; the parts' calls use it)
  const uint8_t mode = in.byte() % 4;
  value_source vs(in, data, size);
  if (mode < 2)
    computed_parts(in, vs);
  else if (mode == 2)
    given_parts(in, vs);
  else
    invalid_args(in, vs);
  return 0;
}
