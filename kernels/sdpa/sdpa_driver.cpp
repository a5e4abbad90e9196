// The scaled dot-product attention driver (sdpa_driver.hpp). Baseline flags: the per-ISA work is in
// the table.
//
// A unit is one batch item's block of query rows (the table's sdpa_query_rows). Its visible keys are
// cut into chunks of sdpa_key_chunk at fixed positions, each chunk runs the table's kernel, and the
// chunks' (m, l, acc) are merged into the unit's totals in chunk order, in double:
//   M = max(M, m),  L = L e^(M_old - M) + l e^(m - M),  Acc likewise;  out = Acc / L at the end.
// With at least twice as many units as threads, each thread runs whole units; otherwise (decoding:
// few query rows, long key sequences) every chunk of every unit is a task with its own slot, and the
// slots are merged afterwards. Both do the same arithmetic in the same order, so the result is
// bitwise the same for any thread count.
#include "sdpa_driver.hpp"
#include "../scratch.hpp"

#include <attnkern/reference.hpp>

#include <algorithm>
#include <cmath>
#include <new>
#include <limits>
#include <vector>

namespace attnkern {
namespace kernels {
namespace {

constexpr float neg_inf = -std::numeric_limits<float>::infinity();

// One thread's scratch in a call (its index in the parallel region picks it).
struct thread_scratch {
  std::vector<float> kernel;  // the chunk kernel's scratch
  std::vector<float> chunk_max;
  std::vector<double> chunk_sum;
  std::vector<float> chunk_acc;
  std::vector<float> total_max;
  std::vector<double> total_sum;
  std::vector<double> total_acc;
  std::vector<double> reference;  // the scalar path's scores
};

// The calling thread's scratch, reused across its calls: no allocation once a shape has been seen.
// Everything a call needs, its parallel region's threads' parts included, is sized here before any
// thread starts, so that a failed allocation returns before anything is written.
struct call_scratch {
  std::vector<thread_scratch> threads;
  // the chunk slots of the few-units path
  std::vector<std::size_t> first_task;  // per unit, its first chunk's task index
  std::vector<std::size_t> first_acc;   // per unit, the offset of its first slot accumulator
  std::vector<float> slot_max;
  std::vector<double> slot_sum;
  std::vector<float> slot_acc;
};
call_scratch& caller_scratch() {
  thread_local call_scratch s;
  return s;
}

// The shape of the work: units, their rows and visible keys, and the chunk arguments.
struct plan {
  const kernel_table& table;
  const sdpa_args& a;
  std::size_t block;    // query rows per unit (the table's)
  std::size_t qblocks;  // units per batch item
  std::size_t stride;   // accumulator row stride

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

  // Chunk c of unit u into (max, sum, acc).
  void chunk(std::size_t u, std::size_t c, float* kernel_scratch, float* max, double* sum, float* acc) const {
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
    args.scratch = kernel_scratch;
    args.max = max;
    args.sum = sum;
    args.acc = acc;
    table.sdpa_chunk_f32(args);
  }
};

// The totals of one unit: M, L and Acc per row, in double but for M.
struct totals {
  float* max;
  double* sum;
  double* acc;
};

totals fresh_totals(thread_scratch& s, std::size_t rows, std::size_t stride) {
  totals t{s.total_max.data(), s.total_sum.data(), s.total_acc.data()};
  std::fill(t.max, t.max + rows, neg_inf);
  std::fill(t.sum, t.sum + rows, 0.0);
  std::fill(t.acc, t.acc + rows * stride, 0.0);
  return t;
}

// t := t merged with a chunk's results, row by row. Rows that see no key in the chunk (m = -inf)
// are left alone; a NaN m makes the row's sum NaN.
void merge(const totals& t, const float* max, const double* sum, const float* acc, std::size_t rows,
           std::size_t value_dim, std::size_t stride) {
  for (std::size_t r = 0; r < rows; ++r) {
    const float m = max[r];
    if (m == neg_inf) continue;
    double* o = t.acc + r * stride;
    const float* x = acc + r * stride;
    if (m > t.max[r] || std::isnan(m)) {  // (t.max = -inf at first: its factor is 0)
      const double f = std::exp(static_cast<double>(t.max[r]) - static_cast<double>(m));
      t.sum[r] = t.sum[r] * f + sum[r];
      for (std::size_t e = 0; e < value_dim; ++e) o[e] = o[e] * f + static_cast<double>(x[e]);
      t.max[r] = m;
    } else {
      const double f = std::exp(static_cast<double>(m) - static_cast<double>(t.max[r]));
      t.sum[r] += sum[r] * f;
      for (std::size_t e = 0; e < value_dim; ++e) o[e] += static_cast<double>(x[e]) * f;
    }
  }
}

// out rows = Acc / L, zeros for rows that saw no key.
void finish(const totals& t, std::size_t rows, std::size_t value_dim, std::size_t stride, float* out) {
  for (std::size_t r = 0; r < rows; ++r) {
    float* o = out + r * value_dim;
    if (t.max[r] == neg_inf) {
      std::fill(o, o + value_dim, 0.0f);
      continue;
    }
    const double inv = 1.0 / t.sum[r];
    for (std::size_t e = 0; e < value_dim; ++e) o[e] = static_cast<float>(t.acc[r * stride + e] * inv);
  }
}

// Sizes one thread's scratch for any unit of the call (throws std::bad_alloc).
void reserve_scratch(const plan& p, thread_scratch& s) {
  const std::size_t rows = std::min(p.block, p.a.q_len);
  grow(s.kernel, sdpa_scratch_floats(p.a.head_dim));
  grow(s.chunk_max, rows);
  grow(s.chunk_sum, rows);
  grow(s.chunk_acc, rows * p.stride);
  grow(s.total_max, rows);
  grow(s.total_sum, rows);
  grow(s.total_acc, rows * p.stride);
}

float* out_rows(const plan& p, std::size_t u) {
  return p.a.out + (p.item(u) * p.a.q_len + p.first_row(u)) * p.a.value_dim;
}

// Unit u on a thread with scratch s (reserved), its chunks one after the other.
void run_unit(const plan& p, std::size_t u, thread_scratch& s) {
  const std::size_t rows = p.rows(u);
  float* kernel_scratch = s.kernel.data();
  float* max = s.chunk_max.data();
  double* sum = s.chunk_sum.data();
  float* acc = s.chunk_acc.data();
  const totals t = fresh_totals(s, rows, p.stride);
  for (std::size_t c = 0, n = p.chunks(u); c < n; ++c) {
    p.chunk(u, c, kernel_scratch, max, sum, acc);
    merge(t, max, sum, acc, rows, p.a.value_dim, p.stride);
  }
  finish(t, rows, p.a.value_dim, p.stride, out_rows(p, u));
}

void run_reference(const sdpa_args& a, std::size_t b, double* scratch) {
  reference::sdpa(a.q + b * a.q_len * a.head_dim, a.k + b * a.kv_len * a.head_dim, a.v + b * a.kv_len * a.value_dim,
                  a.kv_lengths ? a.kv_lengths + b : nullptr, 1, a.q_len, a.kv_len, a.head_dim, a.value_dim, a.scale,
                  a.causal, a.out + b * a.q_len * a.value_dim, scratch);
}

}  // namespace

bool sdpa_run(const kernel_table& table, const sdpa_args& a, int max_threads) noexcept {
  if (a.batch == 0 || a.q_len == 0 || a.value_dim == 0) return true;
  const std::size_t block = table.sdpa_query_rows;
  const bool vectorized = table.sdpa_chunk_f32 != nullptr;
  const plan p{table, a, block, vectorized ? (a.q_len + block - 1) / block : 1, sdpa_acc_stride(a.value_dim)};

  // The work in multiply-adds (the scalar path: per batch item, as one unit).
  std::size_t work = 0;
  for (std::size_t u = 0; u < p.units(); ++u)
    work += (vectorized ? p.rows(u) * p.keys_end(u) : a.q_len * a.kv_len) * (a.head_dim + a.value_dim + 1);
  const int threads = static_cast<int>(
      std::max<std::size_t>(1, std::min<std::size_t>(work / sdpa_min_per_thread, static_cast<std::size_t>(max_threads))));
  const std::size_t units = p.units();

  // Each thread of the region gets its own scratch, sized for any unit of the call.
  call_scratch& cs = caller_scratch();
  const std::size_t nthreads = static_cast<std::size_t>(threads);
  auto reserve_threads = [&] {
    grow(cs.threads, nthreads);
    for (std::size_t t = 0; t < nthreads; ++t) {
      if (vectorized) {
        reserve_scratch(p, cs.threads[t]);
      } else {
        grow(cs.threads[t].reference, a.kv_len);
      }
    }
  };

  // Whole units (whole batch items on the scalar path) per thread.
  if (!vectorized || threads <= 1 || units >= 2 * nthreads) {
    try {
      reserve_threads();
    } catch (const std::bad_alloc&) {
      return false;
    }
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1)
#endif
    for (std::ptrdiff_t u = 0; u < static_cast<std::ptrdiff_t>(units); ++u) {
      thread_scratch& s = cs.threads[thread_index()];
      if (vectorized) {
        run_unit(p, static_cast<std::size_t>(u), s);
      } else {
        run_reference(a, static_cast<std::size_t>(u), s.reference.data());
      }
    }
    return true;
  }

  // Few units (decoding): every chunk of every unit is a task with its own slot.
  std::size_t tasks = 0, acc_floats = 0;
  for (std::size_t u = 0; u < units; ++u) {
    tasks += p.chunks(u);
    acc_floats += p.chunks(u) * p.rows(u) * p.stride;
  }
  try {
    reserve_threads();
    grow(cs.first_task, units + 1);
    grow(cs.first_acc, units + 1);
    grow(cs.slot_max, tasks * block);
    grow(cs.slot_sum, tasks * block);
    grow(cs.slot_acc, acc_floats);
  } catch (const std::bad_alloc&) {
    return false;
  }
  std::size_t* first_task = cs.first_task.data();
  std::size_t* first_acc = cs.first_acc.data();
  for (std::size_t u = 0, task = 0, acc = 0; u <= units; ++u) {
    first_task[u] = task;
    first_acc[u] = acc;
    if (u < units) {
      task += p.chunks(u);
      acc += p.chunks(u) * p.rows(u) * p.stride;
    }
  }
  float* slot_max = cs.slot_max.data();
  double* slot_sum = cs.slot_sum.data();
  float* slot_acc = cs.slot_acc.data();
  auto acc_of = [&](std::size_t u, std::size_t task) {
    return slot_acc + first_acc[u] + (task - first_task[u]) * p.rows(u) * p.stride;
  };
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
  {
    thread_scratch& s = cs.threads[thread_index()];
#if defined(_OPENMP)
#pragma omp for schedule(dynamic)
#endif
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(tasks); ++i) {
      const std::size_t task = static_cast<std::size_t>(i);
      const std::size_t u =
          static_cast<std::size_t>(std::upper_bound(first_task, first_task + units + 1, task) - first_task) - 1;
      p.chunk(u, task - first_task[u], s.kernel.data(), slot_max + task * block, slot_sum + task * block,
              acc_of(u, task));
    }
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(units); ++i) {
      const std::size_t u = static_cast<std::size_t>(i);
      const std::size_t rows = p.rows(u);
      const totals t = fresh_totals(s, rows, p.stride);
      for (std::size_t task = first_task[u]; task < first_task[u + 1]; ++task)
        merge(t, slot_max + task * block, slot_sum + task * block, acc_of(u, task), rows, a.value_dim, p.stride);
      finish(t, rows, a.value_dim, p.stride, out_rows(p, u));
    }
  }
  return true;
}

}  // namespace kernels
}  // namespace attnkern
