// attnkern's kernels on oneTBB's threads: tbb::parallel_for as attnkern's parallel-for, then a
// softmax and an attention pooling run on it, from the main thread and from inside TBB's own tasks
// (TBB runs nested parallel loops on the same workers: no deadlock, no extra threads). Checks that
// every result has the bits of a one-thread call; exits 1 if one does not.
#include <attnkern/attnkern.h>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

void tbb_parallel_for(void*, attnkern_task_fn task, void* context, size_t count) {
  tbb::parallel_for(size_t(0), count, [&](size_t i) { task(context, i); });
}

bool same(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A softmax of 64 rows of 5000, and attention pooling over 8 sequences of 4000 steps of 64 features.
std::vector<float> kernels() {
  static std::vector<float> x, h, w(64);
  if (x.empty()) {
    x.resize(64 * 5000), h.resize(8 * 4000 * 64);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 10.0f * std::sin(0.3f * static_cast<float>(i));
    for (size_t i = 0; i < h.size(); ++i) h[i] = std::cos(0.07f * static_cast<float>(i));
    for (size_t i = 0; i < 64; ++i) w[i] = 0.1f * std::sin(static_cast<float>(i));
  }
  std::vector<float> out(x.size() + 8 * 64);
  if (attnkern_softmax_f32(x.data(), out.data(), 64, 5000) != ATTNKERN_OK ||
      attnkern_attention_pool_f32(h.data(), w.data(), nullptr, nullptr, 8, 4000, 64, out.data() + x.size(), nullptr) !=
          ATTNKERN_OK) {
    std::fprintf(stderr, "%s\n", attnkern_last_error_message());
    return {};
  }
  return out;
}

}  // namespace

int main() {
  attnkern_set_num_threads(1);
  const std::vector<float> expected = kernels();
  attnkern_set_num_threads(0);
  if (expected.empty()) return 1;

  const int threads = tbb::this_task_arena::max_concurrency();
  if (attnkern_set_thread_pool(&tbb_parallel_for, nullptr, threads) != ATTNKERN_OK) {
    std::fprintf(stderr, "attnkern_set_thread_pool: %s\n", attnkern_last_error_message());
    return 1;
  }
  int failures = same(kernels(), expected) ? 0 : 1;
  std::printf("softmax and attention pooling on oneTBB's %d threads: %s\n", threads,
              failures ? "DIFFERENT bits" : "the bits of one thread");
  std::atomic<int> wrong{0};
  tbb::parallel_for(0, 6, [&](int) { wrong += same(kernels(), expected) ? 0 : 1; });
  std::printf("6 TBB tasks calling them from inside a tbb::parallel_for: %s\n",
              wrong ? "DIFFERENT bits" : "the bits of one thread");
  failures += wrong;
  attnkern_set_thread_pool(nullptr, nullptr, 0);
  return failures ? 1 : 0;
}
