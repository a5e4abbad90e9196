// The fused attention driver (attention_driver.hpp): the plan it gives the executor
// (kernels/runtime/executor.hpp). Baseline flags: the per-ISA work is in the table.
//
// A unit is a sequence, cut into chunks of attention_chunk steps. The chunks' states merge into the
// sequence's total in chunk order:
//   M = max(m_a, m_b),  S = S_a e^(m_a - M) + S_b e^(m_b - M),  acc likewise, in double.
#include "drivers/pooling_driver.hpp"
#include "runtime/executor.hpp"

#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

namespace attnkern {
namespace kernels {
namespace {

std::size_t padded(std::size_t n) {
  return (n + attention_acc_padding - 1) / attention_acc_padding * attention_acc_padding;
}

std::size_t blocks_of(std::size_t steps) { return (steps + attention_block - 1) / attention_block; }

constexpr std::size_t chunk_blocks = attention_chunk / attention_block;

// A chunk's state, or a sequence's total: the (max, sum), the accumulator, and the m in force per
// block (when weights are wanted; a chunk's own blocks, or the sequence's). A total with no chunk
// merged yet is `empty`.
struct state {
  attention_partial* part;
  double* acc;
  float* block_max;
  bool* empty;
};

// The parts shared by both kernels. Problem provides:
//   chunk(b, t0, n, out) -> attention_partial   one chunk of sequence b (the table's kernel)
//   read_per_step                                floats read per step (the thread heuristic)
template <class Problem>
struct plan {
  const Problem& problem;
  const std::int32_t* lengths;
  std::size_t batch, steps, features;
  float* context;
  float* weights;
  std::size_t acc_size;

  struct worker {
    std::vector<double> acc;       // a chunk's and the sequence's accumulators
    std::vector<float> block_max;  // a chunk's and the sequence's block maxima
    attention_partial part[2];
    bool empty;
  };
  struct store {
    std::vector<double> acc;
    std::vector<attention_partial> part;
    std::vector<float> block_max;
  };
  static constexpr bool finish_chunks = false;

  std::size_t length(std::size_t b) const { return lengths ? static_cast<std::size_t>(lengths[b]) : steps; }
  std::size_t units() const { return batch; }
  std::size_t chunks(std::size_t b) const { return (length(b) + attention_chunk - 1) / attention_chunk; }
  std::size_t work() const {
    std::size_t w = 0;
    for (std::size_t b = 0; b < batch; ++b) w += length(b) * problem.read_per_step;
    return w;
  }
  std::size_t min_per_thread() const { return attention_min_per_thread; }

  void reserve(worker& w) const {
    grow(w.acc, 2 * acc_size);
    if (weights) grow(w.block_max, chunk_blocks + blocks_of(steps));
  }
  void reserve(store& s, std::size_t tasks, std::size_t) const {
    grow(s.acc, tasks * acc_size);
    grow(s.part, tasks);
    if (weights) grow(s.block_max, tasks * chunk_blocks);
  }
  state slot(worker& w) const {
    return {&w.part[0], w.acc.data(), weights ? w.block_max.data() : nullptr, nullptr};
  }
  state slot(store& s, std::size_t task) const {
    return {&s.part[task], s.acc.data() + task * acc_size, weights ? s.block_max.data() + task * chunk_blocks : nullptr,
            nullptr};
  }
  state total(worker& w) const {
    return {&w.part[1], w.acc.data() + acc_size, weights ? w.block_max.data() + chunk_blocks : nullptr, &w.empty};
  }

  void chunk(std::size_t b, std::size_t c, worker&, const state& out) const {
    const std::size_t t0 = c * attention_chunk;
    *out.part = problem.chunk(b, t0, std::min(length(b) - t0, attention_chunk),
                              attention_outputs{out.acc, weights ? weights + b * steps + t0 : nullptr, out.block_max});
  }

  void start(std::size_t, const state& t) const { *t.empty = true; }

  // t := t merged with chunk c; the first chunk is copied.
  void merge(std::size_t b, std::size_t c, const state& t, const state& in) const {
    if (t.block_max) {
      const std::size_t blocks = std::min(chunk_blocks, blocks_of(length(b)) - c * chunk_blocks);
      std::copy(in.block_max, in.block_max + blocks, t.block_max + c * chunk_blocks);
    }
    if (*t.empty) {
      *t.part = *in.part;
      std::copy(in.acc, in.acc + acc_size, t.acc);
      *t.empty = false;
      return;
    }
    attention_partial& a = *t.part;
    const attention_partial& x = *in.part;
    if (x.max > a.max) {
      const double fa = std::exp(static_cast<double>(a.max) - static_cast<double>(x.max));
      a.sum = a.sum * fa + x.sum;
      for (std::size_t f = 0; f < acc_size; ++f) t.acc[f] = t.acc[f] * fa + in.acc[f];
      a.max = x.max;
    } else {
      const double fb = std::exp(static_cast<double>(x.max) - static_cast<double>(a.max));
      a.sum += x.sum * fb;
      for (std::size_t f = 0; f < acc_size; ++f) t.acc[f] += in.acc[f] * fb;
    }
  }

  // context = acc / S (undoing the 2^-5 of the block sums); weights[t] = p[t] e^(m_block - M) / S in
  // place (p was written there by the chunks), zeros from len to steps. A sequence of length 0 (no
  // chunk merged) gets zeros.
  void finish(std::size_t b, const state& t, worker&) const {
    float* c = context + b * features;
    float* wr = weights ? weights + b * steps : nullptr;
    const std::size_t len = length(b);
    if (*t.empty) {
      std::fill(c, c + features, 0.0f);
      if (wr) std::fill(wr, wr + steps, 0.0f);
      return;
    }
    const double inv = 1.0 / t.part->sum;
    const double context_scale = inv / static_cast<double>(attention_p_scale);
    for (std::size_t f = 0; f < features; ++f) c[f] = static_cast<float>(t.acc[f] * context_scale);
    if (!wr) return;
    const float factor_at_max = static_cast<float>(inv);
    for (std::size_t blk = 0; blk * attention_block < len; ++blk) {
      const float factor = t.block_max[blk] == t.part->max
                               ? factor_at_max
                               : static_cast<float>(std::exp(static_cast<double>(t.block_max[blk]) - t.part->max) * inv);
      const std::size_t end = std::min(len, (blk + 1) * attention_block);
      for (std::size_t i = blk * attention_block; i < end; ++i) wr[i] *= factor;
    }
    std::fill(wr + len, wr + steps, 0.0f);
  }
};

template <class Problem>
bool run(const Problem& problem, const std::int32_t* lengths, std::size_t batch, std::size_t steps,
         std::size_t features, float* context, float* weights, int max_threads) {
  return run_chunked(plan<Problem>{problem, lengths, batch, steps, features, context, weights, padded(features)},
                     max_threads);
}

// out := `n` floats as doubles, padded with zeros to a multiple of attention_acc_padding (the
// calling thread's scratch); false when it could not be allocated.
bool to_padded_doubles(const float* x, std::size_t n, const double*& out) noexcept {
  thread_local std::vector<double> converted;
  double* d;
  try {
    d = grow(converted, padded(n));
  } catch (const std::bad_alloc&) {
    return false;
  }
  for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<double>(x[i]);
  std::fill(d + n, d + padded(n), 0.0);
  out = d;
  return true;
}

}  // namespace

bool attention_pool_run(const kernel_table& table, const attention_pool_args& a, int max_threads) noexcept {
  struct problem {
    const kernel_table& table;
    const attention_pool_args& a;
    const double* w;
    std::size_t read_per_step;
    attention_partial chunk(std::size_t b, std::size_t t0, std::size_t n, const attention_outputs& out) const {
      return table.attention_pool_chunk_f32(a.h + (b * a.steps + t0) * a.features, w, a.bias ? a.bias + t0 : nullptr,
                                            n, a.features, out);
    }
  };
  const double* w = nullptr;
  if (!to_padded_doubles(a.w, a.features, w)) return false;
  const problem p{table, a, w, a.features + 1};
  return run(p, a.lengths, a.batch, a.steps, a.features, a.context, a.weights, max_threads);
}

bool additive_attention_run(const kernel_table& table, const additive_attention_args& a, int max_threads) noexcept {
  struct problem {
    const kernel_table& table;
    const additive_attention_args& a;
    const double* v;
    std::size_t read_per_step;
    attention_partial chunk(std::size_t b, std::size_t t0, std::size_t n, const attention_outputs& out) const {
      return table.additive_attention_chunk_f32(a.keys + (b * a.steps + t0) * a.attn_dim, a.query + b * a.attn_dim, v,
                                                a.values + (b * a.steps + t0) * a.features, n, a.attn_dim,
                                                a.features, out);
    }
  };
  const double* v = nullptr;
  if (!to_padded_doubles(a.v, a.attn_dim, v)) return false;
  // (tanh costs as much as reading several floats: attn_dim counts four times)
  const problem p{table, a, v, 4 * a.attn_dim + a.features + 1};
  return run(p, a.lengths, a.batch, a.steps, a.features, a.context, a.weights, max_threads);
}

}  // namespace kernels
}  // namespace attnkern
