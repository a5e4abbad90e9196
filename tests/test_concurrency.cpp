// Concurrent callers: many std::threads, and the threads of an enclosing OpenMP parallel region,
// calling every kernel at once with different shapes get exactly the bits of sequential calls;
// attnkern_set_isa and attnkern_set_num_threads called meanwhile change nothing but which path or
// how many threads a later call uses (each call runs on the path active when it started).
// tools/test.sh also runs these under ThreadSanitizer (build-tsan/, clang with libomp's Archer tool,
// so that the OpenMP regions inside and around the kernels are understood), where any report fails.
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

namespace {

// One call of one entry point on inputs of its own (one call: a path switch between two calls would
// mix paths); run() returns every output float, or nothing when the call failed (no Catch2 macros
// here: they are not thread-safe).
struct call {
  std::string name;
  std::function<std::vector<float>()> run;
};

std::vector<call> calls() {
  std::vector<call> all;
  for (std::size_t n : {std::size_t(1000), std::size_t(70000)}) {
    auto x = std::make_shared<std::vector<float>>(uniform(n, -6.0f, 6.0f, 1));
    all.push_back({"tanh " + std::to_string(n), [x] {
                     std::vector<float> y(x->size());
                     if (attnkern_tanh_f32(x->data(), y.data(), y.size()) != ATTNKERN_OK) return std::vector<float>{};
                     return y;
                   }});
  }
  for (std::size_t rows : {std::size_t(3), std::size_t(64)}) {
    const std::size_t cols = rows == 3 ? 20000 : 500;
    auto x = std::make_shared<std::vector<float>>(uniform(rows * cols, -10.0f, 10.0f, 2));
    for (bool log : {false, true})
      all.push_back({(log ? "log_softmax " : "softmax ") + std::to_string(rows), [x, rows, cols, log] {
                       std::vector<float> y(x->size());
                       if ((log ? attnkern_log_softmax_f32 : attnkern_softmax_f32)(x->data(), y.data(), rows, cols) != ATTNKERN_OK) return std::vector<float>{};
                       return y;
                     }});
  }
  for (std::size_t batch : {std::size_t(1), std::size_t(9)}) {
    const std::size_t steps = batch == 1 ? 3000 : 60, features = 37, attn = 11;
    auto h = std::make_shared<std::vector<float>>(uniform(batch * steps * features, -1.0f, 1.0f, 3));
    auto k = std::make_shared<std::vector<float>>(uniform(batch * steps * attn, -1.0f, 1.0f, 4));
    auto small = std::make_shared<std::vector<float>>(uniform(std::max(steps, batch * attn) + features, -0.3f, 0.3f, 5));
    all.push_back({"attention_pool " + std::to_string(batch), [=] {
                     std::vector<float> context(batch * features), weights(batch * steps);
                     if (attnkern_attention_pool_f32(h->data(), small->data(), small->data() + features, nullptr, batch,
                                                         steps, features, context.data(), weights.data()) != ATTNKERN_OK) return std::vector<float>{};
                     context.insert(context.end(), weights.begin(), weights.end());
                     return context;
                   }});
    all.push_back({"additive_attention " + std::to_string(batch), [=] {
                     std::vector<float> context(batch * features), weights(batch * steps);
                     if (attnkern_additive_attention_f32(k->data(), small->data(), small->data(), h->data(), nullptr, batch,
                                                             steps, attn, features, context.data(), weights.data()) != ATTNKERN_OK) return std::vector<float>{};
                     context.insert(context.end(), weights.begin(), weights.end());
                     return context;
                   }});
  }
  for (std::size_t q_len : {std::size_t(1), std::size_t(100)}) {
    const std::size_t batch = 4, kv = q_len == 1 ? 2000 : 100, d = 32;
    auto q = std::make_shared<std::vector<float>>(uniform(batch * q_len * d, -1.0f, 1.0f, 6));
    auto kv_data = std::make_shared<std::vector<float>>(uniform(2 * batch * kv * d, -1.0f, 1.0f, 7));
    all.push_back({"sdpa " + std::to_string(q_len), [=] {
                     std::vector<float> out(batch * q_len * d);
                     if (attnkern_sdpa_f32(q->data(), kv_data->data(), kv_data->data() + batch * kv * d, nullptr, batch, q_len,
                                               kv, d, d, 0.2f, q_len > 1, out.data()) != ATTNKERN_OK) return std::vector<float>{};
                     return out;
                   }});
  }
  return all;
}

// Sequential results of every call on every path: expected[path][call].
std::map<std::string, std::vector<std::vector<float>>> sequential(const std::vector<call>& all) {
  std::map<std::string, std::vector<std::vector<float>>> expected;
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (const call& c : all) expected[isa].push_back(c.run());
  }
  return expected;
}

// Runs every call once, beginning with call `offset` (so that threads run different shapes at once);
// returns how many results differ from `expected` (no Catch2 macros: called off the main thread).
int mismatches_from(const std::vector<call>& all, const std::vector<std::vector<float>>& expected, std::size_t offset) {
  int mismatches = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::size_t which = (i + offset) % all.size();
    if (!same_bits(all[which].run(), expected[which])) ++mismatches;
  }
  return mismatches;
}

}  // namespace

TEST_CASE("concurrency: std::threads calling every kernel at once get the sequential bits", "[concurrency]") {
  const auto all = calls();
  const auto expected = sequential(all);
  const std::string path = attnkern_isa();
  constexpr int threads = 8, rounds = 3;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) mismatches += mismatches_from(all, expected.at(path), static_cast<std::size_t>(t));
    });
  for (auto& th : pool) th.join();
  CHECK(mismatches == 0);
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
      if (same_bits(got, expected.at(isa)[which])) return true;
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
