// A plain std::thread pool with the parallel-for attnkern_set_thread_pool takes: the example of
// examples/thread_pool.cpp, and the pool of tests/test_thread_pool.cpp. An example of an engine's
// own pool only: attnkern's default threading is a pool of its own (kernels/runtime/threading.cpp, the
// "pool" mode of attnkern_set_threading), which needs nothing of this file.
//
// parallel_for(task, context, count) queues a job and the calling thread takes part in it: it claims
// indices like the workers do, then waits for the ones they claimed. So a call made from inside one of
// the pool's own tasks (an engine's task calling an attnkern kernel) always makes progress, even when
// every worker is busy: at worst the calling thread runs the whole job itself. No thread is ever
// added, and nothing is allocated per call (a job lives on its caller's stack).
// Between jobs a worker spins for a short while (spin_time, 50 us: a run of back-to-back calls then
// finds it awake, where a wake-up from sleep costs tens of microseconds), then sleeps on a condition
// variable (it never holds a core for long; OpenMP's libgomp spins 300,000 times, about a
// millisecond, by default). A worker that is not running (asleep, or descheduled by the OS) never
// delays a job: the calling thread takes the indices nobody claimed.
#pragma once

#include <attnkern/attnkern.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace attnkern_example {

class thread_pool {
 public:
  // `threads` threads take part in a job: the caller and threads - 1 workers.
  explicit thread_pool(unsigned threads) {
    for (unsigned t = 1; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~thread_pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  unsigned threads() const { return static_cast<unsigned>(workers_.size()) + 1; }

  // task(context, i) for every i in [0, count), on the pool's threads and the calling one; returns
  // when all have returned.
  void parallel_for(attnkern_task_fn task, void* context, std::size_t count) {
    if (count == 0) return;
    job j{task, context, count};
    if (count > 1 && !workers_.empty()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        (tail_ ? tail_->later : head_) = &j;
        tail_ = &j;
        ++queued_;
      }
      wake_.notify_all();
    }
    const std::size_t mine = run(j);
    std::unique_lock<std::mutex> lock(mutex_);
    unlink(j);  // (no worker takes it up after this)
    lock.unlock();
    j.finished.fetch_add(mine);
    // The workers' last indices: spin a while (they are often a few microseconds from done, and a
    // wake-up from sleep costs tens), then sleep until the last of them is out of j.
    auto done = [&] { return j.users.load() == 0 && j.finished.load() == j.count; };
    const auto until = std::chrono::steady_clock::now() + spin_time;
    while (!done() && std::chrono::steady_clock::now() < until) {
    }
    lock.lock();
    done_.wait(lock, done);
  }

  // The function for attnkern_set_thread_pool, with the pool as its `pool` argument.
  static void attnkern_parallel_for(void* pool, attnkern_task_fn task, void* context, std::size_t count) {
    static_cast<thread_pool*>(pool)->parallel_for(task, context, count);
  }

 private:
  struct job {
    attnkern_task_fn task;
    void* context;
    std::size_t count;
    std::atomic<std::size_t> next{0};  // the next index to claim
    std::atomic<std::size_t> finished{0};  // indices run
    std::atomic<int> users{0};             // workers inside it (taken up under the mutex)
    job* later = nullptr;              // the queue's link
  };

  // Runs indices of j while any are left; returns how many.
  static std::size_t run(job& j) {
    std::size_t ran = 0;
    for (std::size_t i = j.next.fetch_add(1); i < j.count; i = j.next.fetch_add(1), ++ran) j.task(j.context, i);
    return ran;
  }

  // Takes j out of the queue if it is still there (under the mutex): it has no index left to claim.
  void unlink(job& j) {
    job* before = nullptr;
    for (job* q = head_; q; before = q, q = q->later)
      if (q == &j) {
        (before ? before->later : head_) = j.later;
        if (tail_ == &j) tail_ = before;
        j.later = nullptr;
        return;
      }
  }

  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!head_ && !stop_) {  // spin a while for the next job, then sleep
        const std::size_t seen = queued_.load(std::memory_order_relaxed);
        lock.unlock();
        const auto until = std::chrono::steady_clock::now() + spin_time;
        while (queued_.load(std::memory_order_relaxed) == seen && std::chrono::steady_clock::now() < until) {
        }
        lock.lock();
      }
      wake_.wait(lock, [&] { return stop_ || head_; });
      if (!head_) return;  // stopping, and nothing queued
      job& j = *head_;
      ++j.users;
      lock.unlock();
      const std::size_t ran = run(j);
      lock.lock();
      unlink(j);
      j.finished.fetch_add(ran);
      j.users.fetch_sub(1);  // (the last touch of j: its caller may return from here on)
      done_.notify_all();    // (under the mutex: a caller about to sleep sees the count first)
    }
  }

  static constexpr std::chrono::microseconds spin_time{50};
  std::vector<std::thread> workers_;
  std::atomic<std::size_t> queued_{0};  // jobs queued so far (a spinning worker watches it)
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  job* head_ = nullptr;
  job* tail_ = nullptr;
  bool stop_ = false;
};

}  // namespace attnkern_example
