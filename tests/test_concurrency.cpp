// Concurrent callers: many std::threads (in every threading mode), and the threads of an enclosing
// OpenMP parallel region, calling every kernel at once with different shapes get exactly the bits of
// sequential calls;
// attnkern_set_isa and attnkern_set_num_threads called meanwhile change nothing but which path or
// how many threads a later call uses (each call runs on the path active when it started).
// tools/test.sh also runs these under ThreadSanitizer (build-tsan/, clang with libomp's Archer tool,
// so that the OpenMP regions inside and around the kernels are understood), where any report fails.
#include "kernel_calls.hpp"
#include "support.hpp"

#include <attnkern/attnkern.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace attnkern_test;

TEST_CASE("concurrency: std::threads calling every kernel at once get the sequential bits, in every threading mode",
          "[concurrency]") {
  const auto all = calls();
  const auto expected = sequential(all);
  const std::string path = attnkern_isa();
  for (const std::string& mode : threading_modes()) {
    threading_scope use(mode);
    constexpr int threads = 8, rounds = 3;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int r = 0; r < rounds; ++r) mismatches += mismatches_from(all, expected.at(path), static_cast<std::size_t>(t));
      });
    for (auto& th : pool) th.join();
    INFO("mode " << mode);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("concurrency: calls inside an OpenMP parallel region run on their thread and get the sequential bits",
          "[concurrency]") {
#if defined(_OPENMP)
  const auto all = calls();
  const auto expected = sequential(all);
  const std::string path = attnkern_isa();
  std::atomic<int> mismatches{0}, not_one{0};
#pragma omp parallel num_threads(4)
  {
    if (attnkern_num_threads() != 1) ++not_one;  // no nested oversubscription
    mismatches += mismatches_from(all, expected.at(path), static_cast<std::size_t>(omp_get_thread_num()));
  }
  CHECK(mismatches == 0);
  CHECK(not_one == 0);
#else
  SUCCEED("built without OpenMP");
#endif
}

TEST_CASE("concurrency: with nested parallelism allowed, calls inside an OpenMP region fork their own teams and get the "
          "sequential bits",
          "[concurrency]") {
#if defined(_OPENMP)
  const auto all = calls();
  const auto expected = sequential(all);
  const std::string path = attnkern_isa();
  std::atomic<int> mismatches{0}, not_two{0};
  omp_set_max_active_levels(2);
#pragma omp parallel num_threads(2)
  {
    omp_set_num_threads(2);  // this thread's inner regions: 2 threads
    if (attnkern_num_threads() != 2) ++not_two;
    mismatches += mismatches_from(all, expected.at(path), static_cast<std::size_t>(omp_get_thread_num()));
  }
  omp_set_max_active_levels(1);
  CHECK(mismatches == 0);
  CHECK(not_two == 0);
#else
  SUCCEED("built without OpenMP");
#endif
}

TEST_CASE("concurrency: set_isa and set_num_threads while other threads compute", "[concurrency]") {
  const auto all = calls();
  const auto expected = sequential(all);
  const auto paths = available_isas();
  std::atomic<bool> stop{false};
  std::atomic<int> mismatches{0}, calls_done{0};
  // each result must be the sequential result of some path (the one active when the call began)
  auto matches_a_path = [&](std::size_t which, const std::vector<float>& got) {
    for (const auto& isa : paths)
      if (same_result(got, expected.at(isa)[which])) return true;
    return false;
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&, t] {
      for (int r = 0; r < 2; ++r)
        for (std::size_t i = 0; i < all.size(); ++i) {
          const std::size_t which = (i + static_cast<std::size_t>(t)) % all.size();
          if (!matches_a_path(which, all[which].run())) ++mismatches;
          ++calls_done;
        }
    });
  std::thread switcher([&] {
    for (unsigned i = 0; !stop; ++i) {
      attnkern_set_isa(paths[i % paths.size()].c_str());
      attnkern_set_num_threads(static_cast<int>(i % 4));
      std::this_thread::yield();
    }
  });
  for (auto& th : pool) th.join();
  stop = true;
  switcher.join();
  attnkern_set_isa("auto");
  attnkern_set_num_threads(0);
  CHECK(calls_done == 4 * 2 * static_cast<int>(all.size()));
  CHECK(mismatches == 0);
}
