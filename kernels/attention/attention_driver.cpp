// The fused attention driver (attention_driver.hpp). Baseline flags: the per-ISA work is in the table.
//
// Every sequence is cut into chunks of attention_chunk steps. Chunk 0's accumulator is the
// sequence's; chunks 1, 2, ... are merged into it in order:
//   M = max(m_a, m_b),  S = S_a e^(m_a - M) + S_b e^(m_b - M),  acc likewise, in double.
// A thread that owns a whole sequence runs its chunks one after the other; when there are fewer
// sequences than threads, the chunks of all sequences run in parallel into separate slots and are
// merged afterwards. Both do the same arithmetic in the same order, so the result is bitwise the same
// for any thread count.
#include "attention_driver.hpp"
#include "../scratch.hpp"

#include <attnkern/reference.hpp>

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

// One thread's scratch in a call (its index in the parallel region picks it).
struct thread_scratch {
  std::vector<double> acc;        // two accumulators: the sequence's and a chunk's
  std::vector<float> block_max;   // one per block of a sequence
  std::vector<double> reference;  // the scalar path's scores
};

// The calling thread's scratch, reused across its calls: no allocation once a shape has been seen.
// Everything a call needs, its parallel region's threads' parts included, is sized here before any
// thread starts, so that a failed allocation returns before anything is written.
struct call_scratch {
  std::vector<double> converted;  // w or v in double, padded with zeros
  std::vector<thread_scratch> threads;
  // the chunk slots of the many-threads-few-sequences path
  std::vector<double> slot_acc;
  std::vector<attention_partial> slots;
  std::vector<float> block_max;
  std::vector<std::size_t> first_task;  // per sequence, its first chunk's task index
};
call_scratch& caller_scratch() {
  thread_local call_scratch s;
  return s;
}

// a := a merged with b (accumulators of `n` doubles).
void merge(attention_partial& a, double* acc_a, const attention_partial& b, const double* acc_b, std::size_t n) {
  if (b.max > a.max) {
    const double fa = std::exp(static_cast<double>(a.max) - static_cast<double>(b.max));
    a.sum = a.sum * fa + b.sum;
    for (std::size_t f = 0; f < n; ++f) acc_a[f] = acc_a[f] * fa + acc_b[f];
    a.max = b.max;
  } else {
    const double fb = std::exp(static_cast<double>(b.max) - static_cast<double>(a.max));
    a.sum += b.sum * fb;
    for (std::size_t f = 0; f < n; ++f) acc_a[f] += acc_b[f] * fb;
  }
}

// context = acc / S (undoing the 2^-5 of the block sums); weights[t] = p[t] e^(m_block - M) / S in
// place (p was written there by the chunks), zeros from len to steps. A sequence of length 0 (no
// chunk ran: total, acc and block_max are not read) gets zeros.
void finish(const attention_partial& total, const double* acc, std::size_t features, float* context, float* weights,
            const float* block_max, std::size_t len, std::size_t steps) {
  if (len == 0) {
    std::fill(context, context + features, 0.0f);
    if (weights) std::fill(weights, weights + steps, 0.0f);
    return;
  }
  const double inv = 1.0 / total.sum;
  const double context_scale = inv / static_cast<double>(attention_p_scale);
  for (std::size_t f = 0; f < features; ++f) context[f] = static_cast<float>(acc[f] * context_scale);
  if (!weights) return;
  const float factor_at_max = static_cast<float>(inv);
  for (std::size_t blk = 0; blk * attention_block < len; ++blk) {
    const float factor = block_max[blk] == total.max
                             ? factor_at_max
                             : static_cast<float>(std::exp(static_cast<double>(block_max[blk]) - total.max) * inv);
    const std::size_t end = std::min(len, (blk + 1) * attention_block);
    for (std::size_t t = blk * attention_block; t < end; ++t) weights[t] *= factor;
  }
  std::fill(weights + len, weights + steps, 0.0f);
}

// The parts shared by both kernels. Problem provides:
//   chunk(b, t0, n, out) -> attention_partial   one chunk of sequence b (the table's kernel)
//   reference(b, scratch)                        sequence b by the scalar reference (scalar path)
//   read_per_step                                floats read per step (the thread heuristic)
// False when scratch could not be allocated (then nothing is written).
template <class Problem>
bool run(const Problem& problem, const std::int32_t* lengths, std::size_t batch, std::size_t steps,
         std::size_t features, float* context, float* weights, bool vectorized, int max_threads) {
  auto length = [&](std::size_t b) { return lengths ? static_cast<std::size_t>(lengths[b]) : steps; };
  const std::size_t acc_size = padded(features);
  call_scratch& cs = caller_scratch();

  // One whole sequence on the thread with scratch s.
  auto sequence = [&](std::size_t b, thread_scratch& s) {
    if (!vectorized) {
      problem.reference(b, s.reference.data());
      return;
    }
    float* c = context + b * features;
    float* wr = weights ? weights + b * steps : nullptr;
    const std::size_t len = length(b);
    if (len == 0) {
      finish(attention_partial{}, nullptr, features, c, wr, nullptr, 0, steps);
      return;
    }
    double* acc = s.acc.data();
    double* chunk_acc = acc + acc_size;
    float* bm = wr ? s.block_max.data() : nullptr;
    auto outputs = [&](double* a, std::size_t t0) {
      return attention_outputs{a, wr ? wr + t0 : nullptr, bm ? bm + t0 / attention_block : nullptr};
    };
    attention_partial total = problem.chunk(b, 0, std::min(len, attention_chunk), outputs(acc, 0));
    for (std::size_t t0 = attention_chunk; t0 < len; t0 += attention_chunk)
      merge(total, acc, problem.chunk(b, t0, std::min(len - t0, attention_chunk), outputs(chunk_acc, t0)), chunk_acc,
            acc_size);
    finish(total, acc, features, c, wr, bm, len, steps);
  };

  std::size_t work = 0;
  for (std::size_t b = 0; b < batch; ++b) work += length(b) * problem.read_per_step;
  const int threads = static_cast<int>(
      std::max<std::size_t>(1, std::min<std::size_t>(work / attention_min_per_thread, static_cast<std::size_t>(max_threads))));
  const std::size_t nthreads = static_cast<std::size_t>(threads);
  if (threads <= 1 || !vectorized || batch >= 2 * nthreads) {
    // Whole sequences per thread: each thread of the region gets its own scratch, sized for any
    // sequence of the call.
    try {
      grow(cs.threads, nthreads);
      for (std::size_t t = 0; t < nthreads; ++t) {
        thread_scratch& s = cs.threads[t];
        if (!vectorized) {
          grow(s.reference, steps);
          continue;
        }
        grow(s.acc, 2 * acc_size);
        if (weights) grow(s.block_max, blocks_of(steps));
      }
    } catch (const std::bad_alloc&) {
      return false;
    }
    if (threads <= 1) {
      for (std::size_t b = 0; b < batch; ++b) sequence(b, cs.threads[0]);
      return true;
    }
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(dynamic)
#endif
    for (std::ptrdiff_t b = 0; b < static_cast<std::ptrdiff_t>(batch); ++b)
      sequence(static_cast<std::size_t>(b), cs.threads[thread_index()]);
    return true;
  }

  // Fewer sequences than twice the threads: every chunk of every sequence is a task with its own slot.
  std::size_t tasks = 0;
  for (std::size_t b = 0; b < batch; ++b) tasks += (length(b) + attention_chunk - 1) / attention_chunk;
  try {
    grow(cs.first_task, batch + 1);
    grow(cs.slot_acc, tasks * acc_size);
    grow(cs.slots, tasks);
    if (weights) grow(cs.block_max, batch * blocks_of(steps));
  } catch (const std::bad_alloc&) {
    return false;
  }
  for (std::size_t b = 0, task = 0; b <= batch; ++b) {
    cs.first_task[b] = task;
    if (b < batch) task += (length(b) + attention_chunk - 1) / attention_chunk;
  }
  const std::size_t* first = cs.first_task.data();
  double* slot_acc = cs.slot_acc.data();
  attention_partial* slots = cs.slots.data();
  float* block_max = weights ? cs.block_max.data() : nullptr;
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
  {
#if defined(_OPENMP)
#pragma omp for schedule(dynamic)
#endif
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(tasks); ++i) {
      const std::size_t task = static_cast<std::size_t>(i);
      const std::size_t b = static_cast<std::size_t>(std::upper_bound(first, first + batch + 1, task) - first) - 1;
      const std::size_t t0 = (task - first[b]) * attention_chunk;
      float* wr = weights ? weights + b * steps + t0 : nullptr;
      float* bm = weights ? block_max + b * blocks_of(steps) + t0 / attention_block : nullptr;
      slots[task] = problem.chunk(b, t0, std::min(length(b) - t0, attention_chunk),
                                  attention_outputs{slot_acc + task * acc_size, wr, bm});
    }
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(batch); ++i) {
      const std::size_t b = static_cast<std::size_t>(i);
      float* c = context + b * features;
      float* wr = weights ? weights + b * steps : nullptr;
      if (first[b] == first[b + 1]) {  // length 0
        finish(attention_partial{}, nullptr, features, c, wr, nullptr, 0, steps);
        continue;
      }
      double* acc = slot_acc + first[b] * acc_size;
      attention_partial total = slots[first[b]];
      for (std::size_t task = first[b] + 1; task < first[b + 1]; ++task)
        merge(total, acc, slots[task], slot_acc + task * acc_size, acc_size);
      finish(total, acc, features, c, wr, weights ? block_max + b * blocks_of(steps) : nullptr, length(b), steps);
    }
  }
  return true;
}

// out := `n` floats as doubles, padded with zeros to a multiple of attention_acc_padding (the
// calling thread's scratch); false when it could not be allocated.
bool to_padded_doubles(const float* x, std::size_t n, const double*& out) noexcept {
  double* d;
  try {
    d = grow(caller_scratch().converted, padded(n));
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
  const bool vectorized = table.attention_pool_chunk_f32 != nullptr;
  struct problem {
    const kernel_table& table;
    const attention_pool_args& a;
    const double* w;
    std::size_t read_per_step;
    attention_partial chunk(std::size_t b, std::size_t t0, std::size_t n, const attention_outputs& out) const {
      return table.attention_pool_chunk_f32(a.h + (b * a.steps + t0) * a.features, w, a.bias ? a.bias + t0 : nullptr,
                                            n, a.features, out);
    }
    void reference(std::size_t b, double* scratch) const {
      reference::attention_pool(a.h + b * a.steps * a.features, a.w, a.bias, a.lengths ? a.lengths + b : nullptr, 1,
                                a.steps, a.features, a.context + b * a.features,
                                a.weights ? a.weights + b * a.steps : nullptr, scratch);
    }
  };
  const double* w = nullptr;
  if (vectorized && !to_padded_doubles(a.w, a.features, w)) return false;
  const problem p{table, a, w, a.features + 1};
  return run(p, a.lengths, a.batch, a.steps, a.features, a.context, a.weights, vectorized, max_threads);
}

bool additive_attention_run(const kernel_table& table, const additive_attention_args& a, int max_threads) noexcept {
  const bool vectorized = table.additive_attention_chunk_f32 != nullptr;
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
    void reference(std::size_t b, double* scratch) const {
      reference::additive_attention(a.keys + b * a.steps * a.attn_dim, a.query + b * a.attn_dim, a.v,
                                    a.values + b * a.steps * a.features, a.lengths ? a.lengths + b : nullptr, 1,
                                    a.steps, a.attn_dim, a.features, a.context + b * a.features,
                                    a.weights ? a.weights + b * a.steps : nullptr, scratch);
    }
  };
  const double* v = nullptr;
  if (vectorized && !to_padded_doubles(a.v, a.attn_dim, v)) return false;
  // (tanh costs as much as reading several floats: attn_dim counts four times)
  const problem p{table, a, v, 4 * a.attn_dim + a.features + 1};
  return run(p, a.lengths, a.batch, a.steps, a.features, a.context, a.weights, vectorized, max_threads);
}

}  // namespace kernels
}  // namespace attnkern
