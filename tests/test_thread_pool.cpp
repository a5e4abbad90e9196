// The caller's thread pool (attnkern_set_thread_pool): every kernel's parallel work runs on it, with
// the bits of one thread and of OpenMP, on every path; calls from inside the pool's own tasks neither
// deadlock nor add threads; a pool that runs its tasks one after another on the calling thread is
// enough; bad arguments change nothing. The pool is examples/thread_pool.hpp's.
#include "kernel_calls.hpp"
#include "support.hpp"

#include "../examples/thread_pool.hpp"

#include <attnkern/attnkern.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

using namespace attnkern_test;

namespace {

// Sets a pool for the scope, and the default (OpenMP, or none) again after it.
struct pool_scope {
  pool_scope(attnkern_parallel_for_fn fn, void* pool, int threads) {
    REQUIRE(attnkern_set_thread_pool(fn, pool, threads) == ATTNKERN_OK);
  }
  ~pool_scope() { attnkern_set_thread_pool(nullptr, nullptr, 0); }
};

// A pool that counts what it is given, then hands it to the example pool.
struct counting_pool {
  attnkern_example::thread_pool* inner;
  std::atomic<std::size_t> loops{0}, most_tasks{0};
  static void parallel_for(void* pool, attnkern_task_fn task, void* context, std::size_t count) {
    auto& self = *static_cast<counting_pool*>(pool);
    ++self.loops;
    for (std::size_t seen = self.most_tasks.load(); count > seen && !self.most_tasks.compare_exchange_weak(seen, count);) {
    }
    self.inner->parallel_for(task, context, count);
  }
};

// The simplest pool there is: every task on the calling thread, in order.
void inline_parallel_for(void*, attnkern_task_fn task, void* context, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) task(context, i);
}

}  // namespace

TEST_CASE("thread pool: every kernel on the caller's pool gets the bits of one thread and of OpenMP", "[thread_pool]") {
  const auto all = calls();
  const auto expected = sequential(all);  // the default: OpenMP's threads
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    INFO("path " << isa);
    attnkern_set_num_threads(1);
    const std::vector<std::vector<float>> one = each_once(all);
    attnkern_set_num_threads(0);
    for (std::size_t i = 0; i < all.size(); ++i) {
      INFO(all[i].name);
      CHECK(same_result(one[i], expected.at(isa)[i]));
    }
    for (unsigned threads : {2u, 3u, 4u}) {
      attnkern_example::thread_pool pool(threads);
      counting_pool counter{&pool};
      pool_scope use(&counting_pool::parallel_for, &counter, static_cast<int>(threads));
      CHECK(attnkern_num_threads() == static_cast<int>(threads));
      for (std::size_t i = 0; i < all.size(); ++i) {
        INFO(all[i].name << ", a pool of " << threads);
        CHECK(same_result(all[i].run(), one[i]));
      }
      CHECK(counter.loops > 0);  // the parallel work went to the pool ...
      CHECK(counter.most_tasks <= threads);  // ... in at most `threads` tasks a loop
    }
    {
      pool_scope use(&inline_parallel_for, nullptr, 4);
      for (std::size_t i = 0; i < all.size(); ++i) {
        INFO(all[i].name << ", tasks run in order on the calling thread");
        CHECK(same_result(all[i].run(), one[i]));
      }
    }
  }
}

TEST_CASE("thread pool: kernels called from inside the pool's own tasks", "[thread_pool]") {
  const auto all = calls();
  const auto expected = sequential(all);
  const std::string path = attnkern_isa();
  attnkern_example::thread_pool pool(2);
  counting_pool counter{&pool};
  pool_scope use(&counting_pool::parallel_for, &counter, 2);
  // 6 tasks of an engine's own on a pool of 2, each calling every kernel: every kernel's parallel-for
  // is then called from a pool thread while the other is busy too
  struct engine_job {
    const std::vector<call>* all;
    const std::vector<std::vector<float>>* expected;
    std::atomic<int> mismatches{0};
    static void task(void* context, std::size_t i) {
      auto& job = *static_cast<engine_job*>(context);
      job.mismatches += mismatches_from(*job.all, *job.expected, i);
    }
  } job{&all, &expected.at(path)};
  pool.parallel_for(&engine_job::task, &job, 6);
  CHECK(job.mismatches == 0);
  CHECK(counter.most_tasks <= 2);
}

TEST_CASE("thread pool: set_num_threads caps the tasks; bad arguments change nothing", "[thread_pool]") {
  attnkern_example::thread_pool pool(4);
  counting_pool counter{&pool};
  pool_scope use(&counting_pool::parallel_for, &counter, 4);
  CHECK(attnkern_set_thread_pool(&inline_parallel_for, nullptr, 0) == ATTNKERN_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(attnkern_last_error_message()).find("threads is 0") != std::string::npos);
  CHECK(attnkern_set_thread_pool(&inline_parallel_for, nullptr, -3) == ATTNKERN_ERROR_INVALID_ARGUMENT);
  CHECK(attnkern_num_threads() == 4);  // still the pool of 4
  attnkern_set_num_threads(2);
  CHECK(attnkern_num_threads() == 2);
  const auto all = calls();
  each_once(all);
  CHECK(counter.loops > 0);
  CHECK(counter.most_tasks <= 2);
  attnkern_set_num_threads(0);
}
