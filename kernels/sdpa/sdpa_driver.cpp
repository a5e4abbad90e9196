// The scaled dot-product attention driver (sdpa_driver.hpp): the plan it gives the executor
// (kernels/executor.hpp). Baseline flags: the per-ISA work is in the table.
//
// A unit is one batch item's block of query rows (the table's sdpa_query_rows). Its visible keys are
// cut into chunks of sdpa_key_chunk at fixed positions, each chunk runs the table's kernel, and the
// chunks' (m, l, acc) are merged into the unit's totals in chunk order, in double:
//   M = max(M, m),  L = L e^(M_old - M) + l e^(m - M),  Acc likewise;  out = Acc / L at the end.
#include "sdpa_driver.hpp"
#include "../executor.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace attnkern {
namespace kernels {
namespace {

constexpr float neg_inf = -std::numeric_limits<float>::infinity();

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
  const sdpa_args& a;
  std::size_t block;    // query rows per unit (the table's)
  std::size_t qblocks;  // units per batch item
  std::size_t stride;   // accumulator row stride

  // One thread's scratch: the kernel's, a chunk's results, a unit's totals.
  struct worker {
    std::vector<float> kernel;
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

  std::size_t units() const { return a.batch * qblocks; }
  std::size_t item(std::size_t u) const { return u / qblocks; }
  std::size_t first_row(std::size_t u) const { return u % qblocks * block; }
  std::size_t rows(std::size_t u) const { return std::min(block, a.q_len - first_row(u)); }
  // i + offset is the last key row i sees under the causal mask.
  std::ptrdiff_t offset() const { return static_cast<std::ptrdiff_t>(a.kv_len) - static_cast<std::ptrdiff_t>(a.q_len); }
  // The keys unit u's rows see at all: [0, keys_end).
  std::size_t keys_end(std::size_t u) const {
    const std::size_t len = a.kv_lengths ? static_cast<std::size_t>(a.kv_lengths[item(u)]) : a.kv_len;
    if (!a.causal) return len;
    const std::ptrdiff_t limit = static_cast<std::ptrdiff_t>(first_row(u) + rows(u)) + offset();
    return limit <= 0 ? 0 : std::min(len, static_cast<std::size_t>(limit));
  }
  std::size_t chunks(std::size_t u) const { return (keys_end(u) + sdpa_key_chunk - 1) / sdpa_key_chunk; }
  // The work in multiply-adds.
  std::size_t work() const {
    std::size_t w = 0;
    for (std::size_t u = 0; u < units(); ++u) w += rows(u) * keys_end(u) * (a.head_dim + a.value_dim + 1);
    return w;
  }
  std::size_t min_per_thread() const { return sdpa_min_per_thread; }

  void reserve(worker& w) const {
    const std::size_t r = std::min(block, a.q_len);
    grow(w.kernel, sdpa_scratch_floats(a.head_dim));
    grow(w.chunk_max, r);
    grow(w.chunk_sum, r);
    grow(w.chunk_acc, r * stride);
    grow(w.total_max, r);
    grow(w.total_sum, r);
    grow(w.total_acc, r * stride);
  }
  void reserve(store& s, std::size_t tasks, std::size_t) const {
    const std::size_t r = std::min(block, a.q_len);
    grow(s.max, tasks * r);
    grow(s.sum, tasks * r);
    grow(s.acc, tasks * r * stride);
  }
  chunk_result slot(worker& w) const { return {w.chunk_max.data(), w.chunk_sum.data(), w.chunk_acc.data()}; }
  chunk_result slot(store& s, std::size_t task) const {
    const std::size_t r = std::min(block, a.q_len);
    return {s.max.data() + task * r, s.sum.data() + task * r, s.acc.data() + task * r * stride};
  }
  unit_totals total(worker& w) const { return {w.total_max.data(), w.total_sum.data(), w.total_acc.data()}; }

  // Chunk c of unit u into the slot.
  void chunk(std::size_t u, std::size_t c, worker& w, const chunk_result& out) const {
    const std::size_t b = item(u), i0 = first_row(u), k0 = c * sdpa_key_chunk;
    sdpa_chunk_args args;
    args.q = a.q + (b * a.q_len + i0) * a.head_dim;
    args.k = a.k + (b * a.kv_len + k0) * a.head_dim;
    args.v = a.v + (b * a.kv_len + k0) * a.value_dim;
    args.rows = rows(u);
    args.keys = std::min(sdpa_key_chunk, keys_end(u) - k0);
    args.head_dim = a.head_dim;
    args.value_dim = a.value_dim;
    args.scale = a.scale;
    args.diagonal = a.causal ? static_cast<std::ptrdiff_t>(i0) + offset() - static_cast<std::ptrdiff_t>(k0)
                             : std::numeric_limits<std::ptrdiff_t>::max() / 2;
    args.scratch = w.kernel.data();
    args.max = out.max;
    args.sum = out.sum;
    args.acc = out.acc;
    table.sdpa_chunk_f32(args);
  }

  void start(std::size_t u, const unit_totals& t) const {
    const std::size_t r = rows(u);
    std::fill(t.max, t.max + r, neg_inf);
    std::fill(t.sum, t.sum + r, 0.0);
    std::fill(t.acc, t.acc + r * stride, 0.0);
  }

  // t := t merged with a chunk's results, row by row. Rows that see no key in the chunk (m = -inf)
  // are left alone; a NaN m makes the row's sum NaN.
  void merge(std::size_t u, std::size_t, const unit_totals& t, const chunk_result& in) const {
    for (std::size_t r = 0, n = rows(u); r < n; ++r) {
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

  // out rows = Acc / L, zeros for rows that saw no key.
  void finish(std::size_t u, const unit_totals& t, worker&) const {
    float* out = a.out + (item(u) * a.q_len + first_row(u)) * a.value_dim;
    for (std::size_t r = 0, n = rows(u); r < n; ++r) {
      float* o = out + r * a.value_dim;
      if (t.max[r] == neg_inf) {
        std::fill(o, o + a.value_dim, 0.0f);
        continue;
      }
      const double inv = 1.0 / t.sum[r];
      for (std::size_t e = 0; e < a.value_dim; ++e) o[e] = static_cast<float>(t.acc[r * stride + e] * inv);
    }
  }
};

}  // namespace

bool sdpa_run(const kernel_table& table, const sdpa_args& a, int max_threads) noexcept {
  if (a.batch == 0 || a.q_len == 0 || a.value_dim == 0) return true;
  const std::size_t block = table.sdpa_query_rows;
  return run_chunked(plan{table, a, block, (a.q_len + block - 1) / block, sdpa_acc_stride(a.value_dim)}, max_threads);
}

}  // namespace kernels
}  // namespace attnkern
