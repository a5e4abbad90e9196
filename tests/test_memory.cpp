// Memory, on every path and at 1, 2 and 4 threads:
//  - a first call allocates at most the bytes docs/embedding.md states for its kernel and shape
//    (its "Memory" table; the formulas are scratch_bound() below), and a second call with the same shape
//    allocates nothing;
//  - a call whose allocation fails returns ATTNKERN_ERROR_OUT_OF_MEMORY and writes nothing, for every
//    allocation the call makes; the next call succeeds with the usual bits.
//  - the same on the caller's thread pool (examples/thread_pool.hpp, at 2 and 4 threads).
// Each first call runs on a fresh std::thread, whose scratch (and OpenMP team) starts empty.
// Counted by replacing the global operator new for this test binary (the library's std::vectors come
// through it too); OpenMP's own runtime allocates with malloc and is not counted. Not built into the
// sanitizer builds (they own the allocator there).
#include "support.hpp"

#include "../examples/thread_pool.hpp"

#include <attnkern/attnkern.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if !defined(ATTNKERN_TEST_NO_COUNTING_NEW)
namespace {

// Every block carries the counting window it was allocated in (0: none), so that a block freed in a
// later window (a thread of an earlier one exiting) does not count against it.
struct alignas(16) block_header {
  std::uint64_t window;
  std::uint64_t size;
};

std::atomic<std::uint64_t> current_window{0}, windows_opened{0};
std::atomic<long long> allocations{0}, live_bytes{0}, peak_bytes{0}, fail_at{-1};

void* counted_new(std::size_t size) {
  const std::uint64_t window = current_window.load();
  if (window != 0 && allocations++ == fail_at.load()) throw std::bad_alloc();
  void* raw = std::malloc(sizeof(block_header) + size);
  if (!raw) throw std::bad_alloc();
  new (raw) block_header{window, size};
  if (window != 0) {
    const long long now = live_bytes += static_cast<long long>(size);
    long long peak = peak_bytes.load();
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
    }
  }
  return static_cast<block_header*>(raw) + 1;
}

void counted_delete(void* p) noexcept {
  if (!p) return;
  block_header* header = static_cast<block_header*>(p) - 1;
  if (header->window != 0 && header->window == current_window.load())
    live_bytes -= static_cast<long long>(header->size);
  std::free(header);
}

}  // namespace

void* operator new(std::size_t size) { return counted_new(size); }
void* operator new[](std::size_t size) { return counted_new(size); }
void operator delete(void* p) noexcept { counted_delete(p); }
void operator delete[](void* p) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_delete(p); }
// Over-aligned types (alignas above 16) come through these: counted the same way, the block's own
// address kept just below the aligned one.
void* operator new(std::size_t size, std::align_val_t align) {
  const std::size_t a = static_cast<std::size_t>(align) < sizeof(void*) ? sizeof(void*) : static_cast<std::size_t>(align);
  char* raw = static_cast<char*>(counted_new(size + a));
  char* aligned = raw + a - reinterpret_cast<std::uintptr_t>(raw) % a;
  reinterpret_cast<void**>(aligned)[-1] = raw;
  return aligned;
}
void* operator new[](std::size_t size, std::align_val_t align) { return operator new(size, align); }
void operator delete(void* p, std::align_val_t) noexcept {
  if (p) counted_delete(reinterpret_cast<void**>(p)[-1]);
}
void operator delete[](void* p, std::align_val_t align) noexcept { operator delete(p, align); }
void operator delete(void* p, std::size_t, std::align_val_t align) noexcept { operator delete(p, align); }
void operator delete[](void* p, std::size_t, std::align_val_t align) noexcept { operator delete(p, align); }

using namespace attnkern_test;

namespace {

// Counts the allocations made while it lives; fail: the index of the one that throws std::bad_alloc.
struct window {
  explicit window(long long fail = -1) {
    allocations = 0;
    live_bytes = 0;
    peak_bytes = 0;
    fail_at = fail;
    current_window = ++windows_opened;
  }
  ~window() {
    current_window = 0;
    fail_at = -1;
  }
  window(const window&) = delete;
  window& operator=(const window&) = delete;
};

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }
std::size_t pad16(std::size_t n) { return ceil_div(n, 16) * 16; }

// Query rows per sdpa block on each vector path (docs/embedding.md, Threads).
std::size_t sdpa_rows(const std::string& isa) {
  return isa == "avx512" ? 32 : isa == "avx2" ? 16 : isa == "scalar" ? 1 : 8;
}

// The bounds of docs/embedding.md (Memory): the bytes of scratch a call may allocate, with T the
// thread cap (attnkern_num_threads()); every term of one thread includes 256 bytes of bookkeeping.
struct shape {
  enum kind_t { tanh, softmax, log_softmax, attention_pool, additive_attention, sdpa, attention } kind;
  std::size_t batch, steps, features, attn = 0;  // softmax: rows, cols; sdpa: batch, q_len, kv_len, head_dim
  bool weights = true;
  std::size_t value_dim = 0;  // sdpa
  std::size_t kv_heads = 1, group = 1;  // attention (batch: the batch items)
  bool strided_v = false;
  bool half_q = false, half_k = false, half_v = false, half_bias = false;  // attention: f16 or bf16 tensors
};

std::size_t scratch_bound(const shape& s, const std::string& isa, std::size_t T) {
  const bool few = T >= 2 && s.batch < 2 * T;  // (sdpa: see U below)
  switch (s.kind) {
    case shape::tanh:
      return 0;
    case shape::softmax:
    case shape::log_softmax: {
      if (s.steps < (std::size_t(1) << 22)) return 0;
      const std::size_t B = s.batch, C = ceil_div(s.steps, 16384);
      return 80 * T + (few ? 8 * (B + 1) + 16 * B * (C + 1) : 0);
    }
    case shape::attention_pool:
    case shape::additive_attention: {
      const std::size_t B = s.batch, S = s.steps, F = pad16(s.features), W = s.weights ? 1 : 0;
      const std::size_t A = pad16(s.kind == shape::attention_pool ? s.features : s.attn);
      std::size_t bytes = 8 * A + T * (16 * F + 4 * W * (ceil_div(S, 16) + 16) + 256);
      if (few) bytes += 8 * (B + 1) + B * ceil_div(S, 256) * (8 * F + 16 + 64 * W);
      return bytes;
    }
    case shape::attention: {  // as sdpa over batch x kv_heads items of q_len x group rows, + a packed V block
      shape as_sdpa = s;
      as_sdpa.kind = shape::sdpa;
      as_sdpa.batch = s.batch * s.kv_heads;
      as_sdpa.steps = s.steps * s.group;
      const std::size_t r = std::min(sdpa_rows(isa), s.steps * s.group);
      return scratch_bound(as_sdpa, isa, T) + T * ((s.strided_v || s.half_v ? 256 * s.value_dim : 0) +
                                                   (s.half_k ? 256 * s.attn : 0) + (s.half_q ? 4 * r * s.attn : 0) +
                                                   (s.half_bias ? 2048 * r : 0));
    }
    case shape::sdpa: {
      const std::size_t B = s.batch, Q = s.steps, K = s.features, H = s.attn, D = pad16(s.value_dim);
      const std::size_t R = sdpa_rows(isa), r = std::min(R, Q), U = B * ceil_div(Q, R), C = ceil_div(K, 512);
      std::size_t bytes = T * (128 * (H + 64) + 24 * r + 12 * r * D + 368);
      if (T >= 2 && U < 2 * T) bytes += 8 * (U + 1) + U * C * (12 * r + 4 * r * D);
      return bytes;
    }
  }
  return 0;
}

struct kernel_call {
  std::string name;
  shape s;
  std::size_t out_size, out2_size;
  std::function<attnkern_status(float*, float*)> run;
};

std::vector<kernel_call> kernel_calls() {
  // inputs made here, outside the counting windows
  static const std::vector<float> x = uniform(std::size_t(1) << 22, -1.0f, 1.0f, 5);
  const float* in = x.data();
  std::vector<kernel_call> calls;
  for (std::size_t n : {std::size_t(100), std::size_t(1) << 20})
    calls.push_back({"tanh n=" + std::to_string(n), {shape::tanh, 1, n, 0}, n, 0,
                     [=](float* y, float*) { return attnkern_tanh_f32(in, y, n); }});
  for (auto rc : {std::make_pair(std::size_t(32), std::size_t(60)), std::make_pair(std::size_t(256), std::size_t(4096)),
                  std::make_pair(std::size_t(1), std::size_t(1) << 22)})
    for (bool log : {false, true}) {
      const std::size_t rows = rc.first, cols = rc.second;
      calls.push_back({std::string(log ? "log_softmax " : "softmax ") + std::to_string(rows) + "x" + std::to_string(cols),
                       {log ? shape::log_softmax : shape::softmax, rows, cols, 0}, rows * cols, 0,
                       [=](float* y, float*) {
                         return (log ? attnkern_log_softmax_f32 : attnkern_softmax_f32)(in, y, rows, cols);
                       }});
    }
  struct seq {
    std::size_t batch, steps, features;
    bool weights;
  };
  for (seq q : {seq{32, 60, 128, true}, seq{1, 20000, 64, true}, seq{3, 5000, 32, false}, seq{5, 700, 24, true}}) {
    const std::string label = std::to_string(q.batch) + "x" + std::to_string(q.steps) + "x" + std::to_string(q.features) +
                              (q.weights ? "" : " (no weights)");
    const std::size_t B = q.batch, S = q.steps, F = q.features, W = q.weights ? B * S : 0;
    calls.push_back({"attention_pool " + label, {shape::attention_pool, B, S, F, 0, q.weights}, B * F, W,
                     [=](float* context, float* weights) {
                       return attnkern_attention_pool_f32(in, in, in, nullptr, B, S, F, context, W ? weights : nullptr);
                     }});
    calls.push_back({"additive_attention " + label, {shape::additive_attention, B, S, F, 16, q.weights}, B * F, W,
                     [=](float* context, float* weights) {
                       return attnkern_additive_attention_f32(in, in, in, in, nullptr, B, S, 16, F, context,
                                                              W ? weights : nullptr);
                     }});
  }
  struct att {
    std::size_t batch, q_len, kv_len, d, dv;
    bool causal;
  };
  for (att a : {att{4, 256, 256, 64, 64, false}, att{4, 256, 256, 64, 64, true}, att{8, 1, 4096, 64, 64, false},
                att{1, 70, 1100, 32, 32, true}, att{2, 3, 3000, 48, 20, false}}) {
    const std::string label = std::to_string(a.batch) + "x" + std::to_string(a.q_len) + "x" + std::to_string(a.kv_len) +
                              "x" + std::to_string(a.d) + (a.dv != a.d ? " dv=" + std::to_string(a.dv) : "") +
                              (a.causal ? " causal" : "");
    calls.push_back({"sdpa " + label, {shape::sdpa, a.batch, a.q_len, a.kv_len, a.d, true, a.dv},
                     a.batch * a.q_len * a.dv, 0, [=](float* out, float*) {
                       return attnkern_sdpa_f32(in, in + (std::size_t(1) << 20), in + (std::size_t(2) << 20), nullptr,
                                                a.batch, a.q_len, a.kv_len, a.d, a.dv, 0.125f, a.causal, out);
                     }});
  }
  // attnkern_attention: BSHD with GQA (strided V: a packed block), and a GQA decode step (BHSD)
  struct described {
    std::size_t batch, q_heads, kv_heads, q_len, kv_len, d;
    bool bshd;
    bool half = false;  // q, k and v in bf16
  };
  for (described a : {described{2, 8, 2, 100, 700, 64, true}, described{1, 32, 8, 1, 4096, 64, false},
                      described{1, 32, 8, 1, 4096, 128, false, true}, described{1, 4, 4, 70, 600, 128, false, true}}) {
    const std::string label = std::to_string(a.batch) + "x" + std::to_string(a.q_heads) + "/" + std::to_string(a.kv_heads) +
                              "x" + std::to_string(a.q_len) + "x" + std::to_string(a.kv_len) + "x" + std::to_string(a.d) +
                              (a.bshd ? " BSHD causal" : " BHSD") + (a.half ? " bf16" : "");
    shape sh{shape::attention, a.batch, a.q_len, a.kv_len, a.d, true, a.d};
    sh.kv_heads = a.kv_heads, sh.group = a.q_heads / a.kv_heads, sh.strided_v = a.bshd && a.kv_heads > 1;
    sh.half_q = sh.half_k = sh.half_v = a.half;
    calls.push_back({"attention " + label, sh, a.batch * a.q_heads * a.q_len * a.d, a.batch * a.q_heads * a.q_len,
                     [=](float* out, float* lse) {
                       attnkern_attention_args args;
                       attnkern_attention_args_init(&args);
                       auto st = a.bshd ? attnkern_strides_bshd : attnkern_strides_bhsd;
                       args.batch = a.batch, args.q_heads = a.q_heads, args.kv_heads = a.kv_heads, args.q_len = a.q_len;
                       args.kv_len = a.kv_len, args.head_dim = args.value_dim = a.d;
                       args.q = in, args.q_strides = st(a.q_heads, a.q_len, a.d);
                       args.k = in + (std::size_t(1) << 20), args.k_strides = st(a.kv_heads, a.kv_len, a.d);
                       args.v = in + (std::size_t(2) << 20), args.v_strides = st(a.kv_heads, a.kv_len, a.d);
                       args.out = out, args.out_strides = st(a.q_heads, a.q_len, a.d);
                       args.lse = lse, args.lse_strides = attnkern_strides_bhsd(a.q_heads, a.q_len, 1);
                       args.causal = a.bshd, args.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
                       if (a.half) args.q_dtype = args.k_dtype = args.v_dtype = ATTNKERN_BF16;  // (the inputs' bits, as bf16)
                       return attnkern_attention(&args);
                     }});
  }
  return calls;
}

// The paths the memory tests run on: every one; reduced (ATTNKERN_TEST_REDUCED), the best only, at
// 1 and 2 threads, and not on the caller's pool (the scalar path's scratch and the executor's are the
// same code on every machine, checked by every native run).
std::vector<std::string> memory_isas() {
  std::vector<std::string> isas = available_isas();
  if (reduced_run()) isas.resize(1);
  return isas;
}

const std::vector<std::size_t>& thread_caps() {
  static const std::vector<std::size_t> caps = reduced(std::vector<std::size_t>{1, 2, 4}, std::vector<std::size_t>{1, 2});
  return caps;
}

// A NaN with a payload no kernel writes.
constexpr std::uint32_t poison_bits = 0x7fc0dead;

}  // namespace

namespace {

// A first call of each kernel on a fresh thread allocates at most its bound, later calls nothing
// (the current path, a thread cap of T).
void check_first_calls(const std::vector<kernel_call>& calls, const std::string& isa, std::size_t T, bool report) {
  for (const kernel_call& call : calls) {
    INFO(isa << ", " << T << " threads: " << call.name);
    std::vector<float> out(call.out_size), out2(call.out2_size);
    attnkern_status first = ATTNKERN_OK, again = ATTNKERN_OK;
    long long first_peak = 0, first_allocations = 0, later_allocations = 0;
    std::thread([&] {  // a fresh thread: its scratch and OpenMP team start empty
      {
        window w;
        first = call.run(out.data(), out2.data());
        first_peak = peak_bytes;
        first_allocations = allocations;
      }
      window w;
      for (int i = 0; i < 3 && again == ATTNKERN_OK; ++i) again = call.run(out.data(), out2.data());
      later_allocations = allocations;
    }).join();
    const std::size_t bound = scratch_bound(call.s, isa, T);
    REQUIRE(first == ATTNKERN_OK);
    REQUIRE(again == ATTNKERN_OK);
    CHECK(static_cast<std::size_t>(first_peak) <= bound);
    CHECK(later_allocations == 0);
    if (report)
      std::printf("memory: %-7s T=%zu %-40s first call: %3lld allocations, peak %9lld bytes, bound %9zu (%.2f)\n",
                  isa.c_str(), T, call.name.c_str(), first_allocations, first_peak, bound,
                  bound ? static_cast<double>(first_peak) / static_cast<double>(bound) : 0.0);
  }
}

// Each allocation of a first call, failed in turn, gives ATTNKERN_ERROR_OUT_OF_MEMORY with nothing
// written, and the next call succeeds with the usual bits (the current path, a thread cap of T).
void check_failed_allocations(const std::vector<kernel_call>& calls, const std::string& isa, std::size_t T) {
  for (const kernel_call& call : calls) {
    if (scratch_bound(call.s, isa, T) == 0) continue;  // (allocates nothing: checked above)
    INFO(isa << ", " << T << " threads: " << call.name);
    std::vector<float> expected(call.out_size), expected2(call.out2_size);
    REQUIRE(call.run(expected.data(), expected2.data()) == ATTNKERN_OK);
    const std::vector<float> poisoned(call.out_size, from_bits(poison_bits)), poisoned2(call.out2_size, from_bits(poison_bits));
    // Fail allocation k of a first call, k = 0, 1, ... until the call makes fewer than k + 1.
    bool succeeded = false;
    for (long long k = 0; k < 64 && !succeeded; ++k) {
      INFO("allocation " << k << " fails");
      std::vector<float> out = poisoned, out2 = poisoned2;
      attnkern_status failed = ATTNKERN_OK, retried = ATTNKERN_OK;
      bool untouched = false;
      std::thread([&] {
        {
          window w(k);
          failed = call.run(out.data(), out2.data());
        }
        untouched = same_bits(out, poisoned) && same_bits(out2, poisoned2);
        retried = call.run(out.data(), out2.data());
      }).join();
      if (failed == ATTNKERN_OK) {
        CHECK(k > 0);  // (the call allocates)
        succeeded = true;
      } else {
        CHECK(failed == ATTNKERN_ERROR_OUT_OF_MEMORY);
        CHECK(untouched);
      }
      CHECK(retried == ATTNKERN_OK);
      CHECK(same_bits(out, expected));
      CHECK(same_bits(out2, expected2));
    }
    CHECK(succeeded);
  }
}

}  // namespace

TEST_CASE("memory: a first call allocates at most the documented bound, a second one nothing; every kernel, path and thread cap",
          "[memory]") {
  const bool report = std::getenv("ATTNKERN_TEST_REPORT") != nullptr;
  const auto calls = kernel_calls();
  for (const auto& isa : memory_isas()) {
    isa_scope scope(isa);
    for (std::size_t T : thread_caps()) {
      attnkern_set_num_threads(static_cast<int>(T));
      check_first_calls(calls, isa, T, report);
    }
  }
  attnkern_set_num_threads(0);
}

TEST_CASE("memory: a failed allocation gives ATTNKERN_ERROR_OUT_OF_MEMORY and writes nothing, for each allocation of a call",
          "[memory]") {
  const auto calls = kernel_calls();
  for (const auto& isa : memory_isas()) {
    isa_scope scope(isa);
    for (std::size_t T : reduced(std::vector<std::size_t>{1, 2}, std::vector<std::size_t>{2})) {
      attnkern_set_num_threads(static_cast<int>(T));
      check_failed_allocations(calls, isa, T);
    }
  }
  attnkern_set_num_threads(0);
}

TEST_CASE("memory: on the caller's thread pool, the same bounds, nothing allocated by later calls, and OUT_OF_MEMORY with "
          "nothing written",
          "[memory]") {
  if (reduced_run()) return;
  const auto calls = kernel_calls();
  for (std::size_t T : {std::size_t(2), std::size_t(4)}) {
    attnkern_example::thread_pool pool(static_cast<unsigned>(T));  // (made before any counting window)
    REQUIRE(attnkern_set_thread_pool(&attnkern_example::thread_pool::attnkern_parallel_for, &pool, static_cast<int>(T)) ==
            ATTNKERN_OK);
    for (const auto& isa : memory_isas()) {
      isa_scope scope(isa);
      check_first_calls(calls, isa, T, false);
      check_failed_allocations(calls, isa, T);
    }
    attnkern_set_thread_pool(nullptr, nullptr, 0);
  }
}
#endif  // !ATTNKERN_TEST_NO_COUNTING_NEW
