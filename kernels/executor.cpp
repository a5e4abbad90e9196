// The caller's thread pool (executor.hpp): the one set last, and every one set before it, kept and
// reachable for calls that may still use them (a few bytes per attnkern_set_thread_pool).
#include "executor.hpp"

#include <atomic>
#include <new>

namespace attnkern {
namespace kernels {
namespace {

struct published_pool {
  thread_pool pool;
  const published_pool* previous;
};
std::atomic<const published_pool*> pool_history{nullptr};
std::atomic<const thread_pool*> active_pool{nullptr};

}  // namespace

const thread_pool* current_thread_pool() noexcept { return active_pool.load(std::memory_order_acquire); }

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

}  // namespace kernels
}  // namespace attnkern
