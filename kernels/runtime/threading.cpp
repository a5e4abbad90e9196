// The threading modes and the built-in pool (threading.hpp).
#include "runtime/threading.hpp"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace attnkern {
namespace kernels {
namespace {

// ---- the modes ---------------------------------------------------------------------------------

bool openmp_built() noexcept {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

// What ATTNKERN_THREADING asked for, read once: the default mode, and the value when it was ignored.
struct environment {
  threading mode = threading::pool;
  char ignored[64] = "";

  environment() noexcept {
    const char* v = std::getenv("ATTNKERN_THREADING");
    if (!v || !*v || std::strcmp(v, "auto") == 0 || std::strcmp(v, "pool") == 0) return;
    if (std::strcmp(v, "openmp") == 0 && openmp_built()) {
      mode = threading::openmp;
      return;
    }
    std::strncpy(ignored, v, sizeof ignored - 1);
    if (std::strlen(v) >= sizeof ignored) std::strcpy(ignored + sizeof ignored - 4, "...");
  }
};

const environment& the_environment() noexcept {
  static const environment e;
  return e;
}

std::atomic<threading>& chosen_mode() noexcept {
  static std::atomic<threading> mode{the_environment().mode};
  return mode;
}

// The caller's pools: the one set last, and every one set before it, kept and reachable for calls
// that may still use them (a few bytes per attnkern_set_thread_pool).
struct published_pool {
  thread_pool pool;
  const published_pool* previous;
};
std::atomic<const published_pool*> pool_history{nullptr};
std::atomic<const thread_pool*> active_pool{nullptr};

// ---- the built-in pool -------------------------------------------------------------------------

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

using steady = std::chrono::steady_clock;

// The pool's state word: the call's epoch (bits 32-63), the workers inside it (16-31), and the free
// places left for more (0-15). A worker joins by one compare-exchange that checks all three.
constexpr std::uint64_t one_participant = std::uint64_t{1} << 16;
constexpr std::uint64_t free_mask = 0xffff;
constexpr std::size_t max_workers = 1023;
std::size_t free_of(std::uint64_t s) noexcept { return static_cast<std::size_t>(s & free_mask); }
std::size_t participants_of(std::uint64_t s) noexcept { return static_cast<std::size_t>((s >> 16) & 0xffff); }
std::uint64_t epoch_of(std::uint64_t s) noexcept { return s >> 32; }

// Spin this long before sleeping: a worker after a call, the caller for the workers' last items.
constexpr std::chrono::microseconds spin_time{50};
// A call counts as stalled when the caller waited for the workers longer than twice its own work
// plus stall_floor. The pool keeps a ledger of what the workers saved (the items they ran, timed at
// the caller's own pace) and what stalls cost (the waits), both decaying by half every
// ledger_half_life; a stall whose ledger shows the stalls costing more than a quarter of what the
// workers save sends the next calls to the caller for a back-off time (threading.hpp), doubled when
// the last back-off ended less than backoff_memory before. So a stall now and then on a machine
// whose workers pay (a noisy neighbour) changes nothing, and steady stalls (a core taken) do.
constexpr std::chrono::microseconds stall_floor{100};
constexpr std::chrono::milliseconds first_backoff{10}, last_backoff{1000}, backoff_memory{1000};
constexpr double ledger_half_life = 1.0, stall_share = 0.25;  // (seconds; the share of the savings)
// After useless_calls calls in a row in which no worker took an item although none was asleep (the
// workers have no core of their own), the calls run alone for first_backoff: the workers go back to
// sleep rather than spin for nothing (on a shared core, a spinning worker takes the caller's time).
// Calls that had to wake a worker count towards useless_woken_calls instead, so that the first calls
// after a pause, which wait for nobody while the workers wake, do not send the next ones away; a
// program whose calls always find the workers asleep and too short to wait for pays the wake-up
// 64 times, then runs alone.
constexpr unsigned useless_calls = 8, useless_woken_calls = 64;

// Spins while busy() for up to spin_time; true when it ended because busy() turned false. Every 64
// checks it yields the core (sched_yield: at once back when no other thread of the core is ready),
// so that a thread it waits for, or the caller, sharing its core gets it.
template <class Busy>
bool spin_while(Busy busy) noexcept {
  const steady::time_point until = steady::now() + spin_time;
  for (unsigned k = 1;; ++k) {
    if (!busy()) return true;
    cpu_relax();
    if (k % 64 == 0) {
      if (steady::now() >= until) return false;
      sched_yield();
    }
  }
}

class pool {
 public:
  void run(std::size_t workers, std::size_t n, bool contiguous, pool_item item, void* context) noexcept {
    if (busy_.exchange(true, std::memory_order_acquire)) return alone(n, item, context);
    const steady::time_point start = steady::now();
    std::size_t helpers = 0;
    if (start >= solo_until_) {
      grow(workers - 1);
      helpers = std::min(workers - 1, started_.load(std::memory_order_acquire));
    }
    if (helpers == 0) {
      alone(n, item, context);
      busy_.store(false, std::memory_order_release);
      return;
    }
    item_ = item;
    context_ = context;
    ranges_ = contiguous ? helpers + 1 : 1;
    for (std::size_t r = 0; r < ranges_; ++r) {
      ranges[r].next.store(n * r / ranges_, std::memory_order_relaxed);
      ranges[r].end = n * (r + 1) / ranges_;
    }
    next_worker_.store(1, std::memory_order_relaxed);
    ++epoch_;
    state_.store(epoch_ << 32 | helpers, std::memory_order_seq_cst);
    const int asleep = sleeping_.load(std::memory_order_seq_cst);
    if (asleep > 0) {
      { const std::lock_guard<std::mutex> lock(mutex_); }  // (a worker about to sleep has checked the state)
      for (std::size_t k = 0; k < std::min(helpers, static_cast<std::size_t>(asleep)); ++k) wake_.notify_one();
    }
    const std::size_t mine = take_items(0);
    const steady::time_point worked = steady::now();
    // No more joiners; then wait for those inside to finish their items.
    if (participants_of(state_.fetch_and(~free_mask, std::memory_order_seq_cst)) > 0 &&
        !spin_while([&] { return participants_of(state_.load(std::memory_order_acquire)) > 0; })) {
      caller_waiting_.store(true, std::memory_order_seq_cst);
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return participants_of(state_.load(std::memory_order_seq_cst)) == 0; });
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
    const steady::time_point end = steady::now();
    if (mine < n) {
      useless_ = useless_woken_ = 0;
    } else if (asleep > 0 ? ++useless_woken_ >= useless_woken_calls : ++useless_ >= useless_calls) {
      useless_ = useless_woken_ = 0;
      solo_until_ = end + first_backoff;
    }
    const double decay = std::exp2(-std::chrono::duration<double>(end - ledger_at_).count() / ledger_half_life);
    const double own = std::chrono::duration<double>(worked - start).count();
    ledger_at_ = end;
    saved_ = saved_ * decay + static_cast<double>(n - mine) * own / static_cast<double>(std::max<std::size_t>(mine, 1));
    lost_ *= decay;
    if (end - worked > 2 * (worked - start) + stall_floor) {
      lost_ += std::chrono::duration<double>(end - worked).count();
      if (lost_ > stall_share * saved_) {
        backoff_ = end - solo_until_ < backoff_memory ? std::min<steady::duration>(2 * backoff_, last_backoff)
                                                     : steady::duration(first_backoff);
        solo_until_ = end + backoff_;
      }
    }
    busy_.store(false, std::memory_order_release);
  }

 private:
  static void alone(std::size_t n, pool_item item, void* context) noexcept {
    for (std::size_t i = 0; i < n; ++i) item(context, 0, i);
  }

  // Participant w's items: its own range's, then every other range's that are left; returns how many.
  std::size_t take_items(std::size_t w) noexcept {
    std::size_t k = 0;
    for (std::size_t step = 0; step < ranges_; ++step) {
      range& r = ranges[(w + step) % ranges_];
      for (std::size_t i = r.next.fetch_add(1, std::memory_order_relaxed); i < r.end;
           i = r.next.fetch_add(1, std::memory_order_relaxed), ++k)
        item_(context_, w, i);
    }
    return k;
  }

  // Starts workers until there are `count` (at most max_workers), with every signal blocked; stops
  // quietly at the first that cannot be started.
  void grow(std::size_t count) noexcept {
    count = std::min(count, max_workers);
    if (started_.load(std::memory_order_acquire) >= count) return;
    const std::lock_guard<std::mutex> lock(grow_mutex_);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (std::size_t s = started_.load(std::memory_order_relaxed); s < count; ++s) {
      try {
        std::thread worker([this] { work(); });
#if defined(__linux__)
        pthread_setname_np(worker.native_handle(), "attnkern");  // (before it runs: /proc shows it at once)
#endif
        worker.detach();
      } catch (...) {
        break;
      }
      started_.store(s + 1, std::memory_order_release);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  void work() noexcept {
    std::uint64_t joined = ~std::uint64_t{0};  // the epoch of the last call this worker took part in
    auto joinable = [&](std::uint64_t s) { return free_of(s) > 0 && epoch_of(s) != joined; };
    for (;;) {
      std::uint64_t s = state_.load(std::memory_order_acquire);
      if (joinable(s)) {
        if (!state_.compare_exchange_weak(s, s + one_participant - 1, std::memory_order_acq_rel,
                                          std::memory_order_relaxed))
          continue;
        joined = epoch_of(s);
        take_items(next_worker_.fetch_add(1, std::memory_order_relaxed));
        state_.fetch_sub(one_participant, std::memory_order_seq_cst);  // (the last touch of the call's items)
        if (caller_waiting_.load(std::memory_order_seq_cst)) {
          const std::lock_guard<std::mutex> lock(mutex_);
          done_.notify_all();
        }
        continue;
      }
      if (spin_while([&] { return !joinable(state_.load(std::memory_order_relaxed)); })) continue;
      std::unique_lock<std::mutex> lock(mutex_);
      sleeping_.fetch_add(1, std::memory_order_seq_cst);
      wake_.wait(lock, [&] { return joinable(state_.load(std::memory_order_seq_cst)); });
      sleeping_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  alignas(64) std::atomic<std::uint64_t> state_{0};
  // The current call's, written by its caller before it publishes the epoch, read by the workers
  // that joined it.
  pool_item item_ = nullptr;
  void* context_ = nullptr;
  std::size_t ranges_ = 1;
  std::atomic<std::size_t> next_worker_{1};
  // The items, cut into ranges_ ranges: one (every participant claims the next item of all), or one
  // per participant (contiguous: participant w claims from range w first, then from the others).
  struct alignas(64) range {
    std::atomic<std::size_t> next{0};  // the next item to claim
    std::size_t end = 0;
  };
  range ranges[max_workers + 1];
  alignas(64) std::atomic<bool> busy_{false};     // a call holds the pool
  std::atomic<bool> caller_waiting_{false};
  std::atomic<int> sleeping_{0};
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::mutex grow_mutex_;
  std::atomic<std::size_t> started_{0};
  // The holder's (under busy_): the epoch counter and the back-off.
  std::uint64_t epoch_ = 0;
  steady::time_point solo_until_{}, ledger_at_{};
  steady::duration backoff_{first_backoff};
  double saved_ = 0, lost_ = 0;  // the ledger (seconds, decayed to ledger_at_)
  unsigned useless_ = 0, useless_woken_ = 0;  // calls in a row in which no worker took an item
};

std::atomic<pool*> the_pool{nullptr};

// In a forked child the workers did not come along (and one may have held the pool's mutex): the
// child starts a pool of its own on its first call (the parent's object is left as it was).
void forget_pool_in_child() noexcept { the_pool.store(nullptr, std::memory_order_relaxed); }

pool* get_pool() noexcept {
  if (pool* p = the_pool.load(std::memory_order_acquire)) return p;
  static const bool registered = pthread_atfork(nullptr, nullptr, &forget_pool_in_child) == 0;
  (void)registered;
  pool* fresh = new (std::nothrow) pool;
  pool* expected = nullptr;
  if (fresh && !the_pool.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
    delete fresh;
    return expected;
  }
  return fresh;
}

}  // namespace

threading_now current_threading() noexcept {
  if (const thread_pool* p = active_pool.load(std::memory_order_acquire)) return {threading::external, p};
  return {chosen_mode().load(std::memory_order_relaxed), nullptr};
}

const char* threading_name(threading mode) noexcept {
  return mode == threading::pool ? "pool" : mode == threading::openmp ? "openmp" : "external";
}

const char* threading_refusal(const char* name) noexcept {
  if (!name || !std::strcmp(name, "auto") || !std::strcmp(name, "pool")) return nullptr;
  if (!std::strcmp(name, "openmp"))
    return openmp_built() ? nullptr : "this build has no OpenMP (it was configured with ATTNKERN_OPENMP=OFF)";
  if (!std::strcmp(name, "external"))
    return "the external mode is the caller's pool: attnkern_set_thread_pool sets it";
  return "it names no mode (\"pool\", \"openmp\" or \"auto\"; exact and lower-case)";
}

void select_threading(const char* name) noexcept {
  const threading mode = !name || !std::strcmp(name, "auto") ? the_environment().mode
                         : !std::strcmp(name, "openmp")      ? threading::openmp
                                                             : threading::pool;
  chosen_mode().store(mode, std::memory_order_relaxed);
  unset_thread_pool();
}

const char* threading_env_ignored() noexcept {
  const environment& e = the_environment();
  return *e.ignored ? e.ignored : nullptr;
}

bool publish_thread_pool(const thread_pool& pool) noexcept {
  auto* p = new (std::nothrow) published_pool{pool, nullptr};
  if (!p) return false;
  p->previous = pool_history.load(std::memory_order_relaxed);
  while (!pool_history.compare_exchange_weak(p->previous, p, std::memory_order_acq_rel)) {
  }
  active_pool.store(&p->pool, std::memory_order_release);
  return true;
}

void unset_thread_pool() noexcept { active_pool.store(nullptr, std::memory_order_release); }

int pool_default_threads() noexcept {
  static const int threads = [] {
    if (const char* v = std::getenv("OMP_NUM_THREADS")) {
      char* end = nullptr;
      errno = 0;
      const long n = std::strtol(v, &end, 10);
      while (end && (*end == ' ' || *end == '\t')) ++end;
      if (end != v && errno == 0 && n > 0 && (*end == '\0' || *end == ','))
        return static_cast<int>(std::min<long>(n, static_cast<long>(max_workers) + 1));
    }
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    const unsigned h = std::thread::hardware_concurrency();
    return h > 0 ? static_cast<int>(std::min<unsigned>(h, max_workers + 1)) : 1;
  }();
  return threads;
}

void pool_run(std::size_t workers, std::size_t n, bool contiguous, pool_item item, void* context) noexcept {
  pool* p = workers > 1 && n > 1 ? get_pool() : nullptr;
  if (!p) {
    for (std::size_t i = 0; i < n; ++i) item(context, 0, i);
    return;
  }
  p->run(workers, n, contiguous, item, context);
}

}  // namespace kernels
}  // namespace attnkern
