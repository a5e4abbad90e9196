// The executor: the one place where attnkern's kernels get threads, scratch memory and ordered
// merges. Baseline code, used by the drivers (kernels/<op>/*_driver.cpp) and the C API.
//
// Threads. A call is worth `threads_for(work, min_per_thread, tasks, cap)` threads: one per
// min_per_thread of its work, at most the caller's cap (attnkern_num_threads: 1 inside an enclosing
// OpenMP region) and at most the tasks there are; one below the threshold (a fork costs microseconds).
// `for_each_parallel<schedule>(threads, n, fn)` shares a loop among that many workers, in the
// threading mode of threading.hpp (the built-in pool by default, OpenMP, or the caller's pool). Which
// worker runs which item never changes a result.
//
// The chunked online-softmax executor, `run_chunked(plan, cap)`. A plan cuts a call into units (a
// softmax row, a sequence of the fused kernels, a block of query rows of attention) and each unit
// into chunks at fixed positions (never T / threads). A chunk's result is a partial state; a unit's
// total starts empty, takes the chunks' states in chunk order, and is finished into the outputs.
// Two regimes, with the same arithmetic in the same order, so the result is bitwise the same for any
// thread count:
//   - whole units per thread, when there is one thread or at least twice as many units as threads:
//     a thread runs a unit's chunks one after the other, merging each into the total as it goes;
//   - chunk tasks, otherwise (a long softmax row, decoding): every chunk of every unit is a task with
//     its own slot; then each unit's slots are merged in chunk order and the unit is finished; a plan
//     whose finish is chunked too (softmax's output pass) finishes its chunks as tasks again.
// Scratch. All of it is the calling thread's (thread_local, per plan type), grown to the largest call
// seen and kept: a worker's part per thread of the region, and the slots of the chunk-task regime.
// It is sized before any work starts, so that a std::bad_alloc makes run_chunked return false with
// nothing written (the C API's ATTNKERN_ERROR_OUT_OF_MEMORY).
//
// A plan provides:
//   using worker = ...;   one thread's scratch; default-constructible
//   using store = ...;    the slots (and, with finish_chunks, the totals) of the chunk-task regime
//   static constexpr bool finish_chunks;   whether the finish is per chunk (else per unit)
//   std::size_t units() const;  std::size_t chunks(std::size_t u) const;   (a unit may have none)
//   std::size_t work() const;   std::size_t min_per_thread() const;        (for threads_for)
//   void reserve(worker&) const;  void reserve(store&, std::size_t tasks, std::size_t units) const;
//                                                     (sizes them for this call; may throw bad_alloc)
//   slot(worker&), slot(store&, task)                 a chunk's output: the worker's, or task's own
//   total(worker&), total(store&, u)                  a unit's total: the worker's, or u's own
//   void chunk(u, c, worker&, slot) const;            runs chunk c of unit u into the slot
//   void start(u, total) const;                       empties the total
//   void merge(u, c, total, slot) const;              total := total merged with chunk c's slot
//   finish_chunks == false: void finish(u, total, worker&) const;     writes unit u's outputs
//   finish_chunks == true:  void finish(u, c, total) const;           writes chunk c's outputs
#pragma once

#include "runtime/scratch.hpp"
#include "runtime/threading.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <new>
#include <type_traits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace attnkern {
namespace kernels {

// The threads a call's work is worth (see above); at least 1.
inline int threads_for(std::size_t work, std::size_t min_per_thread, std::size_t tasks, int cap) noexcept {
  const std::size_t useful = std::min(work / min_per_thread, tasks);
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(useful, static_cast<std::size_t>(cap > 0 ? cap : 1))));
}

enum class schedule {
  fixed,    // contiguous equal shares, decided in advance: for tasks of equal cost
  dynamic,  // a task at a time to whichever worker asks first: for tasks of unequal cost
};

namespace executor_detail {

// One for_each's items shared among its workers, as the caller's pool runs them: its task w is
// worker w, and takes its share of the items (fixed) or items while any are left (dynamic).
template <schedule Schedule, class Fn>
struct pool_loop {
  Fn* fn;
  std::size_t n, workers;
  std::atomic<std::size_t> next{0};

  static void task(void* context, std::size_t w) {
    pool_loop& l = *static_cast<pool_loop*>(context);
    if (w >= l.workers) return;
    if constexpr (Schedule == schedule::fixed) {
      for (std::size_t i = l.n * w / l.workers, end = l.n * (w + 1) / l.workers; i < end; ++i) (*l.fn)(w, i);
    } else {
      for (std::size_t i = l.next.fetch_add(1, std::memory_order_relaxed); i < l.n;
           i = l.next.fetch_add(1, std::memory_order_relaxed))
        (*l.fn)(w, i);
    }
  }
};

}  // namespace executor_detail

// fn(worker, i) for i in [0, n), on `threads` workers (indices 0 .. threads - 1, whose calls never
// overlap: a worker's scratch is its own), returning when all are done: on the threading mode's
// threads (threading.hpp: the built-in pool, an OpenMP parallel region, or the caller's pool with one
// task per worker), or on the calling thread alone when threads <= 1. The workers never wait for one
// another, so any pool that runs every task, in any order, on any of its threads or the caller's, is
// enough. Which worker runs which item never changes a result.
template <schedule Schedule, class Fn>
void for_each_parallel(int threads, std::size_t n, Fn&& fn) {
  if (threads > 1 && n > 1) {
    const std::size_t workers = std::min(static_cast<std::size_t>(threads), n);
    const threading_now now = current_threading();
    using F = std::remove_reference_t<Fn>;
    if (now.mode == threading::external) {
      executor_detail::pool_loop<Schedule, F> l{&fn, n, workers};
      now.external->parallel_for(now.external->pool, &executor_detail::pool_loop<Schedule, F>::task, &l, workers);
      return;
    }
#if defined(_OPENMP)
    if (now.mode == threading::openmp) {
      const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(n);
#pragma omp parallel num_threads(static_cast<int>(workers))
      {
        const std::size_t w = static_cast<std::size_t>(omp_get_thread_num());
        if constexpr (Schedule == schedule::fixed) {
#pragma omp for schedule(static)
          for (std::ptrdiff_t i = 0; i < count; ++i) fn(w, static_cast<std::size_t>(i));
        } else {
#pragma omp for schedule(dynamic)
          for (std::ptrdiff_t i = 0; i < count; ++i) fn(w, static_cast<std::size_t>(i));
        }
      }
      return;
    }
#endif
    // (the built-in pool claims items one at a time in either schedule, so that a worker that has
    // claimed none never delays the call; fixed: from each participant's own contiguous share first)
    pool_run(workers, n, Schedule == schedule::fixed, [](void* f, std::size_t w, std::size_t i) { (*static_cast<F*>(f))(w, i); }, &fn);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) fn(std::size_t(0), i);
}

namespace executor_detail {

// A worker whose fields lie at least a cache line (64 bytes) away from the next worker's: threads
// write to their workers' fields (no false sharing). Padded rather than over-aligned, so that it is
// allocated by the plain operator new (which the memory tests count and fail).
template <class Worker>
struct own_lines {
  Worker worker;
  char padding[64];
};

template <class Plan>
struct call_scratch {
  std::vector<own_lines<typename Plan::worker>> workers;  // one per thread of the region
  std::vector<std::size_t> first_task;         // per unit, its first chunk's task index (and the total)
  typename Plan::store store;
};

// The calling thread's scratch for plans of this type, reused across its calls.
template <class Plan>
call_scratch<Plan>& scratch_of() {
  thread_local call_scratch<Plan> s;
  return s;
}

// Unit u's total on worker w after its chunks c0, c0 + 1, ... have been merged in order; chunk(c)
// gives chunk c's slot (running it first, in the whole-units regime).
template <class Plan, class Total, class Chunk>
void merge_in_order(const Plan& p, std::size_t u, std::size_t chunks, Total&& total, Chunk&& chunk) {
  p.start(u, total);
  for (std::size_t c = 0; c < chunks; ++c) p.merge(u, c, total, chunk(c));
}

}  // namespace executor_detail

// Runs the plan; false (nothing written) when its scratch could not be allocated.
template <class Plan>
[[nodiscard]] bool run_chunked(const Plan& p, int max_threads) noexcept {
  const std::size_t units = p.units();
  if (units == 0) return true;
  std::size_t tasks = 0;
  for (std::size_t u = 0; u < units; ++u) tasks += p.chunks(u);
  const int threads = threads_for(p.work(), p.min_per_thread(), std::max<std::size_t>(tasks, 1), max_threads);
  const std::size_t nthreads = static_cast<std::size_t>(threads);
  const bool whole_units = threads <= 1 || units >= 2 * nthreads;

  executor_detail::call_scratch<Plan>& cs = executor_detail::scratch_of<Plan>();
  try {
    grow(cs.workers, nthreads);
    for (std::size_t t = 0; t < nthreads; ++t) p.reserve(cs.workers[t].worker);
    if (!whole_units) {
      grow(cs.first_task, units + 1);
      p.reserve(cs.store, tasks, units);
    }
  } catch (const std::bad_alloc&) {
    return false;
  }

  if (whole_units) {
    for_each_parallel<schedule::dynamic>(threads, units, [&](std::size_t worker, std::size_t u) {
      typename Plan::worker& w = cs.workers[worker].worker;
      auto total = p.total(w);
      const std::size_t chunks = p.chunks(u);
      executor_detail::merge_in_order(p, u, chunks, total, [&](std::size_t c) {
        auto slot = p.slot(w);
        p.chunk(u, c, w, slot);
        return slot;
      });
      if constexpr (Plan::finish_chunks) {
        for (std::size_t c = 0; c < chunks; ++c) p.finish(u, c, total);
      } else {
        p.finish(u, total, w);
      }
    });
    return true;
  }

  std::size_t* first = cs.first_task.data();
  for (std::size_t u = 0, task = 0; u <= units; ++u) {
    first[u] = task;
    if (u < units) task += p.chunks(u);
  }
  typename Plan::store& store = cs.store;
  auto unit_of = [&](std::size_t task) {
    return static_cast<std::size_t>(std::upper_bound(first, first + units + 1, task) - first) - 1;
  };
  for_each_parallel<schedule::dynamic>(threads, tasks, [&](std::size_t worker, std::size_t task) {
    const std::size_t u = unit_of(task);
    p.chunk(u, task - first[u], cs.workers[worker].worker, p.slot(store, task));
  });
  for_each_parallel<schedule::fixed>(threads, units, [&](std::size_t worker, std::size_t u) {
    auto slot_of = [&](std::size_t c) { return p.slot(store, first[u] + c); };
    if constexpr (Plan::finish_chunks) {
      executor_detail::merge_in_order(p, u, first[u + 1] - first[u], p.total(store, u), slot_of);
    } else {
      typename Plan::worker& w = cs.workers[worker].worker;
      auto total = p.total(w);
      executor_detail::merge_in_order(p, u, first[u + 1] - first[u], total, slot_of);
      p.finish(u, total, w);
    }
  });
  if constexpr (Plan::finish_chunks) {
    for_each_parallel<schedule::fixed>(threads, tasks, [&](std::size_t, std::size_t task) {
      const std::size_t u = unit_of(task);
      p.finish(u, task - first[u], p.total(store, u));
    });
  }
  return true;
}

}  // namespace kernels
}  // namespace attnkern
