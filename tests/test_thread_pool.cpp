// Where the kernels' parallel work runs (attnkern_set_threading, attnkern_set_thread_pool): in every
// threading mode ("pool", the library's own, the default; "openmp"), and on the caller's pool, every
// kernel gets the bits of one thread, on every path; the pool's workers exist and carry the library's
// name; an engine's own threads and tasks calling the kernels neither deadlock nor change the bits
// (on the library's pool and on the engine's pool set as the caller's); a forked child computes the
// same bits on a pool of its own; a pool that runs its tasks one after another on the calling thread
// is enough; bad arguments change nothing. The caller's pool is examples/thread_pool.hpp's; the
// library's pool on its own: tests/test_pool.cpp.
#include "kernel_calls.hpp"
#include "support.hpp"

#include "../examples/thread_pool.hpp"

#include <attnkern/attnkern.h>

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace attnkern_test;

namespace {

// Sets a pool for the scope, and the mode before it again after it.
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

// The threads of this process named "attnkern" (the library's pool's workers), from /proc.
std::size_t library_threads() {
  std::size_t n = 0;
  if (DIR* tasks = opendir("/proc/self/task")) {
    while (const dirent* e = readdir(tasks)) {
      std::string name;
      if (std::getline(std::ifstream(std::string("/proc/self/task/") + e->d_name + "/comm"), name) && name == "attnkern") ++n;
    }
    closedir(tasks);
  }
  return n;
}

// An engine's job on its own pool: `tasks` tasks, task i calling every kernel from call i on
// (mismatches_from); returns the results that differ from `expected`.
struct engine_job {
  const std::vector<call>* all;
  const std::vector<std::vector<float>>* expected;
  std::atomic<int> mismatches{0};
  static void task(void* context, std::size_t i) {
    auto& job = *static_cast<engine_job*>(context);
    job.mismatches += mismatches_from(*job.all, *job.expected, i);
  }
  static int mismatches_on(attnkern_example::thread_pool& engine, const std::vector<call>& all,
                           const std::vector<std::vector<float>>& expected, std::size_t tasks) {
    engine_job job{&all, &expected};
    engine.parallel_for(&task, &job, tasks);
    return job.mismatches;
  }
};

}  // namespace

TEST_CASE("threading: every kernel in every mode gets the bits of one thread, on every path", "[thread_pool]") {
  const auto all = calls();
  const auto one = sequential(all);
  for (const std::string& mode : threading_modes()) {
    threading_scope use(mode);
    for (const auto& isa : available_isas()) {
      isa_scope scope(isa);
      for (int threads : {2, 3, 4}) {
        threads_scope t(threads);
        INFO("mode " << mode << ", path " << isa << ", " << threads << " threads");
        for (std::size_t i = 0; i < all.size(); ++i) {
          INFO(all[i].name);
          CHECK(same_result(all[i].run(), one.at(isa)[i]));
        }
      }
    }
    if (mode == "pool") CHECK(library_threads() >= 1);  // (its first call started a worker)
  }
}

TEST_CASE("threading: an engine's own threads calling the kernels on the library's pool", "[thread_pool]") {
  const auto all = calls();
  const auto expected = sequential(all);
  const std::string path = attnkern_isa();
  threading_scope use("pool");
  threads_scope two(2);
  // 6 tasks of an engine's pool of 2 (not set as the caller's pool), each calling every kernel: the
  // two engine threads' calls meet at the library's pool
  attnkern_example::thread_pool engine(2);
  CHECK(engine_job::mismatches_on(engine, all, expected.at(path), 6) == 0);
}

TEST_CASE("threading: a forked child computes the same bits on a pool of its own", "[thread_pool]") {
  if (std::getenv("ATTNKERN_TEST_UNDER_QEMU")) {  // (tools/test_aarch64.sh)
    WARN("skipped under qemu-user, which aborts a forked child of a threaded process when it starts a thread");
    return;
  }
  const auto all = calls();
  const auto expected = sequential(all);
  const std::string path = attnkern_isa();
  threading_scope use("pool");
  threads_scope two(2);
  REQUIRE(mismatches_from(all, expected.at(path), 0) == 0);  // the parent's workers exist
  REQUIRE(library_threads() >= 1);
  std::fflush(nullptr);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // (no Catch2 here: the answer is the exit status)
    const bool no_workers_came = library_threads() == 0;
    const int mismatches = mismatches_from(all, expected.at(path), 3);
    _exit(!no_workers_came ? 2 : mismatches != 0 ? 3 : library_threads() == 0 ? 4 : 0);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  INFO("2: the parent's workers in the child; 3: other bits; 4: no worker started in the child");
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("thread pool: every kernel on the caller's pool gets the bits of one thread", "[thread_pool]") {
  const auto all = calls();
  const auto expected = sequential(all);
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    INFO("path " << isa);
    const std::vector<std::vector<float>>& one = expected.at(isa);
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
  CHECK(engine_job::mismatches_on(pool, all, expected.at(path), 6) == 0);
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
