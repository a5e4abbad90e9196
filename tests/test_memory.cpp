// Memory: once a shape has been run, calling a kernel with it again allocates nothing, on every
// path: every kernel's scratch is kept per thread, only grows, and is sized by every thread of a
// parallel region before it takes work. Counted by replacing the global operator new for this test
// binary (the library's std::vectors come through it too); OpenMP's own runtime allocates with
// malloc and is not counted. The extra memory a first call allocated (beyond what earlier shapes
// left) is reported with ATTNKERN_TEST_REPORT=1. Not built into the sanitizer build (ASan owns the
// allocator there).
#include "support.hpp"

#include <attnkern/attnkern.h>

#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <vector>

#if !defined(ATTNKERN_TEST_NO_COUNTING_NEW)
namespace {

std::atomic<bool> counting{false};
std::atomic<long long> allocations{0}, live_bytes{0}, peak_bytes{0};

// Plain malloc and free underneath (so that a block from any allocator frees correctly); sizes
// from malloc_usable_size, for the live-byte count.
void* counted_new(std::size_t size) {
  void* p = std::malloc(size ? size : 1);
  if (!p) throw std::bad_alloc();
  if (counting.load(std::memory_order_relaxed)) {
    ++allocations;
    const long long now = live_bytes += static_cast<long long>(malloc_usable_size(p));
    long long peak = peak_bytes.load();
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
    }
  }
  return p;
}

void counted_delete(void* p) noexcept {
  if (!p) return;
  if (counting.load(std::memory_order_relaxed)) live_bytes -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}

}  // namespace

void* operator new(std::size_t size) { return counted_new(size); }
void* operator new[](std::size_t size) { return counted_new(size); }
void operator delete(void* p) noexcept { counted_delete(p); }
void operator delete[](void* p) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_delete(p); }

using namespace attnkern_test;

namespace {

struct window {
  window() {
    allocations = 0;
    live_bytes = 0;
    peak_bytes = 0;
    counting = true;
  }
  ~window() { counting = false; }
};

struct kernel_call {
  std::string name;
  std::function<void()> run;
};

std::vector<kernel_call> kernel_calls() {
  std::vector<kernel_call> calls;
  // inputs made here, outside the counting windows
  static const std::vector<float> x = uniform(std::size_t(1) << 22, -1.0f, 1.0f, 5);
  static std::vector<float> out(std::size_t(1) << 22), out2(std::size_t(1) << 20);
  const float* in = x.data();
  for (std::size_t n : {std::size_t(100), std::size_t(1) << 20})
    calls.push_back({"tanh n=" + std::to_string(n), [=] { attnkern_tanh_f32(in, out.data(), n); }});
  for (auto shape : {std::make_pair(std::size_t(32), std::size_t(60)), std::make_pair(std::size_t(256), std::size_t(4096)),
                     std::make_pair(std::size_t(1), std::size_t(1) << 22)})
    calls.push_back({"softmax " + std::to_string(shape.first) + "x" + std::to_string(shape.second), [=] {
                       attnkern_softmax_f32(in, out.data(), shape.first, shape.second);
                       attnkern_log_softmax_f32(in, out.data(), shape.first, shape.second);
                     }});
  struct seq {
    std::size_t batch, steps, features;
  };
  for (seq s : {seq{32, 60, 128}, seq{1, 20000, 64}, seq{3, 5000, 32}}) {
    const std::string label = std::to_string(s.batch) + "x" + std::to_string(s.steps) + "x" + std::to_string(s.features);
    calls.push_back({"attention_pool " + label, [=] {
                       attnkern_attention_pool_f32(in, in, in, nullptr, s.batch, s.steps, s.features, out.data(), out2.data());
                     }});
    calls.push_back({"additive_attention " + label, [=] {
                       attnkern_additive_attention_f32(in, in, in, in, nullptr, s.batch, s.steps, 16, s.features, out.data(),
                                                       out2.data());
                     }});
  }
  struct att {
    std::size_t batch, q_len, kv_len, d;
  };
  for (att s : {att{4, 256, 256, 64}, att{8, 1, 4096, 64}, att{1, 70, 1100, 32}}) {
    const std::string label = std::to_string(s.batch) + "x" + std::to_string(s.q_len) + "x" + std::to_string(s.kv_len) + "x" +
                              std::to_string(s.d);
    for (int causal : {0, 1})
      calls.push_back({"sdpa " + label + (causal ? " causal" : ""), [=] {
                         attnkern_sdpa_f32(in, in + (std::size_t(1) << 20), in + (std::size_t(2) << 20), nullptr, s.batch, s.q_len,
                                           s.kv_len, s.d, s.d, 0.125f, causal, out.data());
                       }});
  }
  return calls;
}

}  // namespace

TEST_CASE("memory: no allocation once a shape has been run, every kernel and path", "[memory]") {
  const bool report = std::getenv("ATTNKERN_TEST_REPORT") != nullptr;
  for (const auto& isa : available_isas()) {
    isa_scope scope(isa);
    for (const kernel_call& call : kernel_calls()) {
      INFO(isa << ": " << call.name);
      long long first_peak;
      {
        window w;
        call.run();
        first_peak = peak_bytes;
      }
      window w;
      for (int i = 0; i < 5; ++i) call.run();

      CHECK(allocations == 0);
      if (report) std::printf("memory: %-8s %-36s first call's peak extra %lld bytes\n", isa.c_str(), call.name.c_str(), first_peak);
    }
  }
}
#endif  // !ATTNKERN_TEST_NO_COUNTING_NEW
