// attnkern's kernels on an engine's own thread pool: a plain std::thread pool (thread_pool.hpp) set
// with attnkern_set_thread_pool, then a decode step run on it, and the engine's own tasks calling
// kernels from inside the pool. Checks that every result has the bits of a one-thread call; exits 1
// if one does not.
//   attnkern-example-thread-pool [threads]     (default: the hardware's threads)
#include "thread_pool.hpp"

#include <attnkern/attnkern.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

// One decode step of a GQA model: 32 query heads, 8 K/V heads, 1024 cached positions of 128.
struct decode_step {
  static constexpr size_t Hq = 32, Hk = 8, kv = 1024, d = 128;
  std::vector<float> q, k, v;
  decode_step() : q(Hq * d), k(Hk * kv * d), v(Hk * kv * d) {
    for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.37f * static_cast<float>(i));
    for (size_t i = 0; i < k.size(); ++i) k[i] = std::cos(0.11f * static_cast<float>(i)), v[i] = std::sin(0.05f * static_cast<float>(i));
  }
  std::vector<float> run() const {
    std::vector<float> out(Hq * d);
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = 1, a.q_heads = Hq, a.kv_heads = Hk, a.q_len = 1, a.kv_len = kv, a.head_dim = a.value_dim = d;
    a.q = q.data(), a.q_strides = attnkern_strides_bhsd(Hq, 1, d);
    a.k = k.data(), a.k_strides = attnkern_strides_bhsd(Hk, kv, d);
    a.v = v.data(), a.v_strides = attnkern_strides_bhsd(Hk, kv, d);
    a.out = out.data(), a.out_strides = attnkern_strides_bhsd(Hq, 1, d);
    if (attnkern_attention(&a) != ATTNKERN_OK) {
      std::fprintf(stderr, "attnkern_attention: %s\n", attnkern_last_error_message());
      std::exit(1);
    }
    return out;
  }
};

bool same(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned hw = std::thread::hardware_concurrency();
  const unsigned threads = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : hw > 0 ? hw : 2;
  if (threads < 1) {
    std::fprintf(stderr, "usage: %s [threads >= 1]\n", argv[0]);
    return 2;
  }
  const decode_step step;
  attnkern_set_num_threads(1);
  const std::vector<float> expected = step.run();  // one thread, for the comparison
  attnkern_set_num_threads(0);

  attnkern_example::thread_pool pool(threads);
  if (attnkern_set_thread_pool(&attnkern_example::thread_pool::attnkern_parallel_for, &pool, static_cast<int>(pool.threads())) !=
      ATTNKERN_OK) {
    std::fprintf(stderr, "attnkern_set_thread_pool: %s\n", attnkern_last_error_message());
    return 1;
  }
  int failures = 0;
  if (!same(step.run(), expected)) ++failures;
  std::printf("a decode step (32 query heads, 8 K/V heads, 1024 x 128) on a pool of %u threads: %s\n", pool.threads(),
              failures ? "DIFFERENT bits" : "the bits of one thread");

  // The engine's own tasks (say, one per request of a batch) calling kernels from inside the pool:
  // each call's parallel-for comes from a pool thread, and the calling thread takes part in it.
  struct requests {
    const decode_step* step;
    const std::vector<float>* expected;
    int wrong[8] = {};
    static void task(void* context, size_t i) {
      auto& r = *static_cast<requests*>(context);
      r.wrong[i] = same(r.step->run(), *r.expected) ? 0 : 1;
    }
  } batch{&step, &expected};
  pool.parallel_for(&requests::task, &batch, 8);
  int wrong = 0;
  for (int w : batch.wrong) wrong += w;
  std::printf("8 requests, each a task of the pool calling attnkern_attention from inside it: %s\n",
              wrong ? "DIFFERENT bits" : "the bits of one thread");
  failures += wrong;

  attnkern_set_thread_pool(nullptr, nullptr, 0);  // back to the default before the pool goes
  return failures ? 1 : 0;
}
