// Where the kernels' parallel loops run (the C API's attnkern_set_threading, attnkern_threading_mode
// and attnkern_set_thread_pool), process-wide:
//   - pool: the library's own pool (the default), below;
//   - openmp: an OpenMP parallel region (a build with ATTNKERN_OPENMP only);
//   - external: the caller's parallel-for (attnkern_set_thread_pool), while one is set; setting it
//     to NULL returns to the mode chosen before.
// The mode decides who runs a loop's items, never how the work is cut: the bits are the same in every
// mode (executor.hpp).
//
// The built-in pool. `pool_run(workers, n, contiguous, item, context)` runs item(context, w, i) for
// every i in [0, n), w in [0, workers) naming the participant (whose calls never overlap: a
// participant's scratch is its own). The calling thread is participant 0; the pool's threads join
// while free places are left. Every participant claims items one at a time: the next item of the
// whole loop, or, `contiguous` (the executor's fixed schedule: tasks of equal cost, streaming through
// memory), the next of its own contiguous share first (participant w's share is the w-th of
// `workers`, as OpenMP's static schedule cuts them: a thread streams through one block, the same in
// every call), then the next of any share left. So an item waits only for a thread that is running,
// and a worker that is asleep, or whose core went to another program, never delays the call: the
// caller takes what nobody claimed. Only an item a worker has already claimed can keep the caller
// waiting. Further:
//   - Workers are started on first need (workers - 1 of them for a call of `workers`) and kept; after
//     a call they spin for spin_time (so that back-to-back calls find them awake), then sleep on a
//     condition variable. Spinning, a worker (and a caller waiting for a worker's last item) yields
//     its core every few microseconds, so that a thread sharing the core (the caller itself, when the
//     OS put both on one) gets it. Their signals are blocked.
//   - One call at a time uses the pool; a call made while another thread's call holds it runs on its
//     own thread (so calls from many threads at once, or from an engine's own threads, neither wait
//     for each other nor deadlock).
//   - Oversubscription: when the caller had to wait far longer for a worker's last item than it
//     worked itself (the worker's core was taken from it mid-item), the next calls run on the
//     calling thread for a back-off time (10 ms, doubled at each repeat within a second of the last
//     back-off, up to 1 s), after which the pool is tried again. After 8 calls in a row in which no
//     worker took an item though none was asleep (they have no core), or 64 that each had to wake
//     one in vain, the next calls run alone for 10 ms, so that the workers sleep rather than spin
//     for nothing.
//   - Nothing is allocated per call (the pool's state is one object, created on first use and never
//     freed; the library is linked -z nodelete, so that its workers' code stays mapped).
//   - Fork: a child gets a fresh pool (pthread_atfork), whose workers start on its first call.
#pragma once

#include <cstddef>

namespace attnkern {
namespace kernels {

enum class threading { pool, openmp, external };

// The caller's thread pool (attnkern_set_thread_pool): its parallel-for, its context and how many
// threads it has. Immutable once published.
struct thread_pool {
  void (*parallel_for)(void* pool, void (*task)(void*, std::size_t), void* context, std::size_t count);
  void* pool;
  int threads;
};

// The mode a parallel loop starting now runs in; `external` is set for threading::external only.
struct threading_now {
  threading mode;
  const thread_pool* external;
};
threading_now current_threading() noexcept;

// The name of a mode: "pool", "openmp" or "external".
const char* threading_name(threading mode) noexcept;
// Why attnkern_set_threading(name) cannot be done, or null when it can. Null and "auto" name the
// default (ATTNKERN_THREADING when it named a mode this build has, else "pool").
const char* threading_refusal(const char* name) noexcept;
// Selects a mode that threading_refusal accepted; unsets the caller's pool.
void select_threading(const char* name) noexcept;
// ATTNKERN_THREADING's value when it was set and ignored (read once, at first use), else null.
const char* threading_env_ignored() noexcept;

bool publish_thread_pool(const thread_pool& pool) noexcept;  // false: no memory for its record
void unset_thread_pool() noexcept;

// The built-in pool's threads when attnkern_set_num_threads has set none: OMP_NUM_THREADS's first
// value when that is a positive number (as OpenMP programs and PyTorch read it), else the CPUs this
// process may run on (its affinity mask). Read once.
int pool_default_threads() noexcept;

using pool_item = void (*)(void* context, std::size_t worker, std::size_t i);
void pool_run(std::size_t workers, std::size_t n, bool contiguous, pool_item item, void* context) noexcept;

}  // namespace kernels
}  // namespace attnkern
