// The built-in pool itself (kernels/runtime/threading.cpp, compiled into this test program: its own copy of
// the pool, reached through pool_run): every item runs once, a participant never runs two items at
// once, a worker takes the items the caller cannot, calls from two threads at once neither wait for
// each other, a forked child gets a pool that works, and a stalled call sends the next ones to the
// calling thread. The kernels on the pool: tests/test_thread_pool.cpp.
#include "runtime/threading.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using attnkern::kernels::pool_run;
using clock_type = std::chrono::steady_clock;

namespace {

// pool_run with a lambda.
template <class Fn>
void run(std::size_t workers, std::size_t n, Fn&& fn, bool contiguous = false) {
  pool_run(workers, n, contiguous, [](void* f, std::size_t w, std::size_t i) { (*static_cast<Fn*>(f))(w, i); }, &fn);
}

// Items that each wait until `threads` distinct threads have run an item (or until a deadline): the
// call can only end in time if the pool's workers take part.
struct meeting {
  explicit meeting(std::size_t threads) : wanted(threads) {}
  std::size_t wanted;
  std::atomic<std::size_t> arrived{0};
  std::atomic<int> seen_mask{0};
  bool met = true;  // (written by participant 0 only)

  void item(std::size_t w) {
    const int bit = 1 << w;
    if (!(seen_mask.fetch_or(bit) & bit)) ++arrived;
    const auto deadline = clock_type::now() + std::chrono::seconds(20);
    while (arrived.load() < wanted)
      if (clock_type::now() > deadline) {
        if (w == 0) met = false;
        return;
      }
  }
};

// Waits out any back-off an earlier call's stall started (at most 1 s), so that the next call is
// shared with the workers.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(1100)); }

}  // namespace

TEST_CASE("pool: every item once, a participant's items one at a time", "[pool]") {
  for (bool contiguous : {false, true})
  for (std::size_t workers : {2, 3, 5}) {
    for (std::size_t n : {2, 3, 17, 1000}) {
      for (int round = 0; round < 100; ++round) {
        std::vector<std::atomic<int>> runs(n);
        std::vector<std::atomic<int>> inside(workers);
        std::atomic<int> bad_worker{0}, overlap{0};
        run(workers, n, [&](std::size_t w, std::size_t i) {
          if (w >= workers) {
            ++bad_worker;
            return;
          }
          if (inside[w].fetch_add(1) != 0) ++overlap;
          ++runs[i];
          inside[w].fetch_sub(1);
        }, contiguous);
        int wrong = 0;
        for (auto& r : runs) wrong += r.load() != 1;
        INFO(workers << " workers, " << n << " items, round " << round << (contiguous ? ", contiguous" : ""));
        REQUIRE(wrong == 0);
        REQUIRE(bad_worker == 0);
        REQUIRE(overlap == 0);
      }
    }
  }
}

TEST_CASE("pool: the workers take the items the caller cannot, awake or woken", "[pool]") {
  settle();
  for (int pause_ms : {0, 0, 20, 20}) {  // (20 ms: the workers have gone to sleep)
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    meeting m(3);
    run(3, 3, [&](std::size_t w, std::size_t) { m.item(w); });
    INFO("after a pause of " << pause_ms << " ms");
    CHECK(m.met);
    CHECK(m.arrived == 3);
  }
}

TEST_CASE("pool: a call while another thread's call holds the pool runs on its own thread", "[pool]") {
  settle();
  meeting first(2);
  std::atomic<bool> first_started{false}, second_done{false};
  std::thread holder([&] {
    run(2, 2, [&](std::size_t w, std::size_t) {
      first_started = true;
      if (w == 0) {  // the caller's item waits until the other thread's call is done
        const auto deadline = clock_type::now() + std::chrono::seconds(20);
        while (!second_done && clock_type::now() < deadline) {
        }
      }
      first.item(w);
    });
  });
  while (!first_started) {
  }
  std::set<std::size_t> workers_seen;
  run(2, 50, [&](std::size_t w, std::size_t) { workers_seen.insert(w); });  // (one thread: no race)
  second_done = true;
  holder.join();
  CHECK(workers_seen == std::set<std::size_t>{0});
  CHECK(first.met);
}

TEST_CASE("pool: a forked child gets a pool of its own that works", "[pool]") {
  if (std::getenv("ATTNKERN_TEST_UNDER_QEMU")) {  // (tools/test_aarch64.sh)
    WARN("skipped under qemu-user, which aborts a forked child of a threaded process when it starts a thread");
    return;
  }
  run(2, 100, [](std::size_t, std::size_t) {});  // the parent's workers exist
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    meeting m(2);
    run(2, 2, [&](std::size_t w, std::size_t) { m.item(w); });
    _exit(m.met && m.arrived == 2 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("pool: after a call that waited long for a worker's item, the next calls run on the caller", "[pool]") {
  // A worker's item takes 250 ms; the caller's waits only until the worker holds one: the caller then
  // waits far longer than it worked, and more than a quarter of what the workers saved in the earlier
  // calls (after 3 s, an eighth of it is left on the ledger: kernels/runtime/threading.cpp).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::atomic<int> worker_items{0};
  run(2, 2, [&](std::size_t w, std::size_t) {
    if (w != 0) {
      ++worker_items;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    } else {
      const auto deadline = clock_type::now() + std::chrono::seconds(20);
      while (worker_items == 0 && clock_type::now() < deadline) {
      }
    }
  });
  REQUIRE(worker_items == 1);
  std::set<std::size_t> workers_seen;
  std::mutex m;
  run(2, 64, [&](std::size_t w, std::size_t) {
    std::lock_guard<std::mutex> lock(m);
    workers_seen.insert(w);
  });
  CHECK(workers_seen == std::set<std::size_t>{0});  // within the 10 ms back-off
}
