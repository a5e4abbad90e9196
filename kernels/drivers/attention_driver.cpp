// The attention driver (attention_driver.hpp): the plan it gives the executor (kernels/runtime/executor.hpp).
// Baseline flags: the per-ISA work is in the table.
//
// A unit is a block of the query rows (the table's sdpa_query_rows) of one batch item that share a
// K/V head: positions, times the query heads of the group, heads fastest. The keys its rows see are
// cut into chunks of sdpa_key_chunk at fixed positions of the sequence (multiples of it), each chunk
// runs the table's kernel, and the chunks' (m, l, acc) are merged into the unit's totals in chunk
// order, in double:
//   M = max(M, m),  L = L e^(M_old - M) + l e^(m - M),  Acc likewise;  out = Acc / L at the end.
#include "drivers/attention_driver.hpp"
#include "runtime/executor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace attnkern {
namespace kernels {
namespace {

constexpr float neg_inf = -std::numeric_limits<float>::infinity();

// Element offset of (b, h, i) in a tensor of the descriptor (its strides checked: not negative).
std::size_t offset(const attnkern_strides& s, std::size_t b, std::size_t h, std::size_t i) noexcept {
  return b * static_cast<std::size_t>(s.batch) + h * static_cast<std::size_t>(s.head) + i * static_cast<std::size_t>(s.seq);
}
std::size_t seq_stride(const attnkern_strides& s) noexcept { return static_cast<std::size_t>(s.seq); }

// A chunk's results (the kernel's outputs) for the rows of its unit.
struct chunk_result {
  float* max;
  double* sum;
  float* acc;
};

// The totals of one unit: M, L and Acc per row, in double but for M.
struct unit_totals {
  float* max;
  double* sum;
  double* acc;
};

struct plan {
  const kernel_table& table;
  const attention_args& a;
  std::size_t block;    // query rows per unit (the table's)
  std::size_t group;    // query heads per K/V head
  std::size_t blocks;   // units per (batch item, K/V head), when every item has q_len rows
  std::size_t stride;   // accumulator row stride
  // With variable-length rows (a.cu_q): item b's units are [unit_first[b], unit_first[b + 1]).
  const std::size_t* unit_first;

  // One thread's scratch: the kernel's, a chunk's results, a unit's totals.
  struct worker {
    std::vector<float> kernel;
    std::vector<float> q;     // the unit's query rows widened to float (q_type f16, bf16)
    std::vector<float> bias;  // the chunk's bias rows widened to float (bias_type f16, bf16)
    std::vector<float> chunk_max;
    std::vector<double> chunk_sum;
    std::vector<float> chunk_acc;
    std::vector<float> total_max;
    std::vector<double> total_sum;
    std::vector<double> total_acc;
  };
  // The chunk tasks' slots, each `block` rows.
  struct store {
    std::vector<float> max;
    std::vector<double> sum;
    std::vector<float> acc;
  };
  static constexpr bool finish_chunks = false;

  // Unit u: batch item b, K/V head g, and its rows, which are the group rows [row0, row0 + rows) of
  // (b, g); group row x is position x / group of query head g * group + x % group. The item's keys
  // are [start, stop).
  struct unit {
    std::size_t b, g, row0, rows;
    std::ptrdiff_t start, stop;
  };
  std::size_t units() const { return a.cu_q ? unit_first[a.batch] : a.batch * a.kv_heads * blocks; }
  // Item b's query rows (positions), and the first of them in q, out, lse, bias and mask.
  std::size_t q_rows(std::size_t b) const { return a.cu_q ? static_cast<std::size_t>(a.cu_q[b + 1] - a.cu_q[b]) : a.q_len; }
  std::size_t first_row(std::size_t b) const { return a.cu_q ? static_cast<std::size_t>(a.cu_q[b]) : 0; }
  unit unit_of(std::size_t u) const {
    unit n;
    std::size_t item_blocks = blocks, local = u;
    if (a.cu_q) {  // the item whose units hold u (the last with unit_first[b] <= u)
      n.b = static_cast<std::size_t>(std::upper_bound(unit_first, unit_first + a.batch + 1, u) - unit_first) - 1;
      local = u - unit_first[n.b];
      item_blocks = (q_rows(n.b) * group + block - 1) / block;
    } else {
      n.b = u / (a.kv_heads * blocks);
    }
    n.g = local / item_blocks % a.kv_heads;
    n.row0 = local % item_blocks * block;
    n.rows = std::min(block, q_rows(n.b) * group - n.row0);
    n.start = a.kv_starts ? a.kv_starts[n.b] : 0;
    n.stop = a.kv_lengths ? a.kv_lengths[n.b] : static_cast<std::ptrdiff_t>(a.kv_len);
    return n;
  }
  // Element offset of row i of item b, head h, in a tensor of the call.
  std::size_t row_offset(const attnkern_strides& s, std::size_t b, std::size_t h, std::size_t i) const {
    return offset(s, b, h, first_row(b) + i);
  }
  std::size_t position(const unit& n, std::size_t r) const { return group == 1 ? n.row0 + r : (n.row0 + r) / group; }
  std::size_t q_head(const unit& n, std::size_t r) const { return group == 1 ? n.g : n.g * group + (n.row0 + r) % group; }

  // Row r's diagonal key d (which may lie outside the keys).
  std::ptrdiff_t diagonal(const unit& n, std::size_t r) const {
    const std::ptrdiff_t i = static_cast<std::ptrdiff_t>(position(n, r));
    const std::ptrdiff_t q_len = static_cast<std::ptrdiff_t>(q_rows(n.b));
    return a.diagonal == alignment::top_left       ? n.start + i
           : a.diagonal == alignment::bottom_right ? n.stop - q_len + i
                                                : static_cast<std::ptrdiff_t>(a.kv_len) - q_len + i;
  }
  // The keys row r of a unit sees, [first, end) (first >= end: none).
  struct range {
    std::size_t first, end;
    bool empty() const { return first >= end; }
  };
  range keys(const unit& n, std::size_t r) const {
    std::ptrdiff_t first = n.start, end = n.stop;
    if (a.causal || a.window) {
      const std::ptrdiff_t d = diagonal(n, r);
      if (a.causal) end = std::min(end, d + 1);
      if (a.window) {
        first = std::max(first, d - static_cast<std::ptrdiff_t>(a.window_left));
        end = std::min(end, d + static_cast<std::ptrdiff_t>(a.window_right) + 1);
      }
    }
    if (end <= first) return {0, 0};
    return {static_cast<std::size_t>(first), static_cast<std::size_t>(end)};
  }
  // The keys some row of a unit sees. A row's first and end never decrease with its position, so
  // these are [the first seeing row's first, the last seeing row's end), which the chunks cover.
  range keys(const unit& n) const {
    std::size_t r0 = 0, r1 = n.rows;
    range lo{0, 0}, hi{0, 0};
    while (r0 < r1 && (lo = keys(n, r0)).empty()) ++r0;
    while (r1 > r0 && (hi = keys(n, r1 - 1)).empty()) --r1;
    return r0 < r1 ? range{lo.first, hi.end} : range{0, 0};
  }
  std::size_t chunks(std::size_t u) const {
    const range k = keys(unit_of(u));
    return k.empty() ? 0 : (k.end - 1) / sdpa_key_chunk - k.first / sdpa_key_chunk + 1;
  }
  // The work in multiply-adds.
  std::size_t work() const {
    std::size_t w = 0;
    for (std::size_t u = 0; u < units(); ++u) {
      const unit n = unit_of(u);
      const range k = keys(n);
      if (!k.empty()) w += n.rows * (k.end - k.first) * (a.head_dim + a.value_dim + 1);
    }
    return w;
  }
  std::size_t min_per_thread() const { return sdpa_min_per_thread; }

  std::size_t max_rows() const { return std::min(block, a.q_len * group); }
  void reserve(worker& w) const {
    const std::size_t r = max_rows();
    const std::size_t ldv = a.paged ? a.value_dim : seq_stride(a.v_strides);
    grow(w.kernel, sdpa_scratch_floats(a.head_dim, a.value_dim, a.k_type != dtype::f32, ldv != a.value_dim || a.v_type != dtype::f32));
    if (a.q_type != dtype::f32) grow(w.q, r * a.head_dim);
    if (a.bias && a.bias_type != dtype::f32) grow(w.bias, r * sdpa_key_chunk);
    grow(w.chunk_max, r);
    grow(w.chunk_sum, r);
    grow(w.chunk_acc, r * stride);
    grow(w.total_max, r);
    grow(w.total_sum, r);
    grow(w.total_acc, r * stride);
  }
  void reserve(store& s, std::size_t tasks, std::size_t) const {
    const std::size_t r = max_rows();
    grow(s.max, tasks * r);
    grow(s.sum, tasks * r);
    grow(s.acc, tasks * r * stride);
  }
  chunk_result slot(worker& w) const { return {w.chunk_max.data(), w.chunk_sum.data(), w.chunk_acc.data()}; }
  chunk_result slot(store& s, std::size_t task) const {
    const std::size_t r = max_rows();
    return {s.max.data() + task * r, s.sum.data() + task * r, s.acc.data() + task * r * stride};
  }
  unit_totals total(worker& w) const { return {w.total_max.data(), w.total_sum.data(), w.total_acc.data()}; }

  // Chunk c of unit u into the slot.
  void chunk(std::size_t u, std::size_t c, worker& w, const chunk_result& out) const {
    const unit n = unit_of(u);
    const std::size_t b = n.b, g = n.g;
    const std::size_t k0 = (keys(n).first / sdpa_key_chunk + c) * sdpa_key_chunk;
    sdpa_chunk_args args;
    args.rows = n.rows;
    std::size_t end = k0;
    for (std::size_t r = 0; r < args.rows; ++r) {
      const std::size_t at = row_offset(a.q_strides, b, q_head(n, r), position(n, r));
      if (a.q_type == dtype::f32) {
        args.q[r] = static_cast<const float*>(a.q) + at;
      } else {  // (exact)
        float* row = w.q.data() + r * a.head_dim;
        widen_elements(a.q, a.q_type, at, a.head_dim, row);
        args.q[r] = row;
      }
      const range k = keys(n, r);
      const std::size_t first = std::min(std::max(k.first, k0), k0 + sdpa_key_chunk);
      const std::size_t stop = std::min(std::max(k.end, k0), k0 + sdpa_key_chunk);
      args.first[r] = first - k0;
      args.end[r] = std::max(first, stop) - k0;
      end = std::max(end, stop);
    }
    args.softcap = a.softcap;
    args.modified = a.softcap > 0 || a.bias || a.alibi_slopes;
    args.hides = a.bias || a.mask;
    if (args.modified || args.hides) {
      for (std::size_t r = 0; r < args.rows; ++r) {
        const std::size_t h = q_head(n, r), i = position(n, r);
        args.bias[r] = nullptr;
        if (a.bias) {
          const std::size_t at = row_offset(a.bias_strides, b, h, i) + k0;
          if (a.bias_type == dtype::f32) {
            args.bias[r] = static_cast<const float*>(a.bias) + at;
          } else {  // the chunk's keys of the row, widened (exact)
            float* row = w.bias.data() + r * sdpa_key_chunk;
            widen_elements(a.bias, a.bias_type, at, end - k0, row);
            args.bias[r] = row;
          }
        }
        args.mask[r] = a.mask ? a.mask + row_offset(a.mask_strides, b, h, i) + k0 : nullptr;
        args.bias_scale[r] = a.bias_head_scales ? a.bias_head_scales[h] : 1.0f;
        args.slope[r] = a.alibi_slopes ? a.alibi_slopes[h] : 0.0f;
        args.diagonal[r] = diagonal(n, r) - static_cast<std::ptrdiff_t>(k0);
      }
    }
    // the chunk's blocks of keys (those it reads), and the next chunk's first (prefetched at the end)
    auto rows_at = [&](std::size_t j, const void*& k, const void*& v) {
      if (const attention_args::paged_cache* p = a.paged) {  // (a block of keys lies in one of the cache's)
        const std::size_t blk = static_cast<std::size_t>(p->tables[b * p->table_stride + j / p->block_tokens]);
        const std::size_t row = g * p->block_tokens + j % p->block_tokens;
        k = static_cast<const char*>(a.k) + blk * p->k_block_bytes + row * p->k_row_bytes;
        v = static_cast<const char*>(a.v) + blk * p->v_block_bytes + row * p->v_row_bytes;
      } else {
        k = static_cast<const char*>(a.k) + offset(a.k_strides, b, g, j) * dtype_size(a.k_type);
        v = static_cast<const char*>(a.v) + offset(a.v_strides, b, g, j) * dtype_size(a.v_type);
      }
    };
    for (std::size_t m = 0; m < sdpa_chunk_blocks; ++m) {
      const std::size_t j = k0 + m * sdpa_key_block;
      args.k[m] = args.v[m] = nullptr;
      if (j < end) rows_at(j, args.k[m], args.v[m]);
    }
    args.k_next = args.v_next = nullptr;
    args.next_keys = 0;
    const std::size_t unit_end = keys(n).end;
    if (k0 + sdpa_key_chunk < unit_end) {
      rows_at(k0 + sdpa_key_chunk, args.k_next, args.v_next);
      args.next_keys = std::min(unit_end - k0 - sdpa_key_chunk, sdpa_key_block);
    }
    args.k_type = a.k_type;
    args.v_type = a.v_type;
    args.ldk = a.paged ? a.head_dim : seq_stride(a.k_strides);
    args.ldv = a.paged ? a.value_dim : seq_stride(a.v_strides);
    args.keys = end - k0;
    args.head_dim = a.head_dim;
    args.value_dim = a.value_dim;
    args.scale = a.scale;
    args.scratch = w.kernel.data();
    args.max = out.max;
    args.sum = out.sum;
    args.acc = out.acc;
    table.sdpa_chunk_f32(args);
  }

  void start(std::size_t u, const unit_totals& t) const {
    const std::size_t r = unit_of(u).rows;
    std::fill(t.max, t.max + r, neg_inf);
    std::fill(t.sum, t.sum + r, 0.0);
    std::fill(t.acc, t.acc + r * stride, 0.0);
  }

  // t := t merged with a chunk's results, row by row. Rows that see no key in the chunk (m = -inf)
  // are left alone; a NaN m makes the row's sum NaN.
  void merge(std::size_t u, std::size_t, const unit_totals& t, const chunk_result& in) const {
    for (std::size_t r = 0, n = unit_of(u).rows; r < n; ++r) {
      const float m = in.max[r];
      if (m == neg_inf) continue;
      double* o = t.acc + r * stride;
      const float* x = in.acc + r * stride;
      if (m > t.max[r] || std::isnan(m)) {  // (t.max = -inf at first: its factor is 0)
        const double f = std::exp(static_cast<double>(t.max[r]) - static_cast<double>(m));
        t.sum[r] = t.sum[r] * f + in.sum[r];
        for (std::size_t e = 0; e < a.value_dim; ++e) o[e] = o[e] * f + static_cast<double>(x[e]);
        t.max[r] = m;
      } else {
        const double f = std::exp(static_cast<double>(m) - static_cast<double>(t.max[r]));
        t.sum[r] += in.sum[r] * f;
        for (std::size_t e = 0; e < a.value_dim; ++e) o[e] += static_cast<double>(x[e]) * f;
      }
    }
  }

  // out rows = Acc / L, and lse = M + log L; zeros and -inf for rows that saw no key. A sink sigma
  // joins the denominator: M' = max(M, sigma), L' = L e^(M - M') + e^(sigma - M'), Acc e^(M - M').
  void finish(std::size_t u, const unit_totals& t, worker&) const {
    const unit n = unit_of(u);
    const std::size_t b = n.b;
    constexpr double unscale = 1.0 / static_cast<double>(sdpa_p_scale);
    for (std::size_t r = 0; r < n.rows; ++r) {
      const std::size_t h = q_head(n, r), i = position(n, r);
      const std::size_t o = row_offset(a.out_strides, b, h, i);
      float* lse = a.lse ? a.lse + row_offset(a.lse_strides, b, h, i) : nullptr;
      const double sink = a.sinks ? static_cast<double>(a.sinks[h]) : -std::numeric_limits<double>::infinity();
      if (t.max[r] == neg_inf) {
        for (std::size_t e = 0; e < a.value_dim; ++e) store_element(a.out, a.out_type, o + e, 0.0);
        if (lse) *lse = static_cast<float>(sink);
        continue;
      }
      double m = t.max[r], sum = t.sum[r], factor = 1.0;
      if (a.sinks) {
        const double top = std::isnan(sink) ? sink : std::max(m, sink);
        factor = std::exp(m - top);
        sum = sum * factor + std::exp(sink - top);
        m = top;
      }
      const double inv = factor / sum;
      for (std::size_t e = 0; e < a.value_dim; ++e) store_element(a.out, a.out_type, o + e, t.acc[r * stride + e] * inv * unscale);
      if (lse) *lse = static_cast<float>(m + std::log(sum));
    }
  }
};

}  // namespace

bool attention_run(const kernel_table& table, const attention_args& a, int max_threads) noexcept {
  if (a.batch == 0 || a.q_heads == 0 || a.q_len == 0 || a.value_dim == 0) return true;
  const std::size_t block = table.sdpa_query_rows, group = a.q_heads / a.kv_heads;
  const std::size_t* unit_first = nullptr;
  if (a.cu_q) {  // each item's first unit (the calling thread's scratch, kept)
    static thread_local std::vector<std::size_t> first;
    try {
      grow(first, a.batch + 1);
    } catch (const std::bad_alloc&) {
      return false;
    }
    first[0] = 0;
    for (std::size_t b = 0; b < a.batch; ++b) {
      const std::size_t rows = static_cast<std::size_t>(a.cu_q[b + 1] - a.cu_q[b]) * group;
      first[b + 1] = first[b] + a.kv_heads * ((rows + block - 1) / block);
    }
    unit_first = first.data();
  }
  return run_chunked(plan{table, a, block, group, (a.q_len * group + block - 1) / block, sdpa_acc_stride(a.value_dim), unit_first},
                     max_threads);
}

void attention_merge_run(const merge_args& m) noexcept {
  auto at = [](auto* p, const strides& s, std::size_t b, std::size_t h, std::size_t i) {
    return p + b * s.batch + h * s.head + i * s.seq;
  };
  for (std::size_t b = 0; b < m.batch; ++b)
    for (std::size_t h = 0; h < m.heads; ++h)
      for (std::size_t i = 0; i < m.rows; ++i) {
        const float* oa = at(m.out_a, m.out_a_strides, b, h, i);
        const float* ob = at(m.out_b, m.out_b_strides, b, h, i);
        const double la = *at(m.lse_a, m.lse_a_strides, b, h, i), lb = *at(m.lse_b, m.lse_b_strides, b, h, i);
        float* o = at(m.out, m.out_strides, b, h, i);
        float* lse = m.lse ? at(m.lse, m.lse_strides, b, h, i) : nullptr;
        constexpr double none = -std::numeric_limits<double>::infinity();
        if (std::isnan(la) || std::isnan(lb)) {  // a NaN lse makes the row NaN, whatever the other side holds
          std::fill(o, o + m.value_dim, std::numeric_limits<float>::quiet_NaN());
          if (lse) *lse = std::numeric_limits<float>::quiet_NaN();
          continue;
        }
        if (la == none && lb == none) {  // no key on either side
          std::fill(o, o + m.value_dim, 0.0f);
          if (lse) *lse = neg_inf;
          continue;
        }
        if (la == none || lb == none) {  // one side empty: the other side's out and lse, bit for bit
          const float* from = la == none ? ob : oa;
          const double other = la == none ? lb : la;
          for (std::size_t e = 0; e < m.value_dim; ++e) o[e] = from[e];
          if (lse) *lse = static_cast<float>(other);
          continue;
        }
        const double top = std::max(la, lb);
        const double wa = std::exp(la - top), wb = std::exp(lb - top), total = wa + wb;
        const double fa = wa / total, fb = wb / total;
        for (std::size_t e = 0; e < m.value_dim; ++e) o[e] = static_cast<float>(fa * oa[e] + fb * ob[e]);
        if (lse) *lse = static_cast<float>(top + std::log(total));
      }
}

}  // namespace kernels
}  // namespace attnkern
