// Every kernel stays inside its arrays: each input and output is placed against an inaccessible
// page (mmap + mprotect), once ending where the guard page begins (a tail read or written past
// the end faults) and once beginning where a guard page ends (a read before the start faults),
// for every length 0 .. 3W + 1 (W = 16 floats, the widest vector) of each dimension, on every ISA
// path. A fault ends the test binary: ctest reports the crash.
#include "support.hpp"

#include <attnkern/attnkern.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

using namespace attnkern_test;

namespace {

constexpr std::size_t widest = 16;
constexpr std::size_t max_length = 3 * widest + 1;

// n values of T against a PROT_NONE page: after them (at_end) or before them.
template <class T>
class guarded {
 public:
  guarded(const std::vector<T>& values, bool at_end) : n_(values.size()) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = n_ * sizeof(T);
    const std::size_t data_pages = (bytes + page - 1) / page;
    size_ = (data_pages + 2) * page;  // a guard page on each side
    void* base = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base != MAP_FAILED);
    base_ = static_cast<char*>(base);
    REQUIRE(mprotect(base_, page, PROT_NONE) == 0);
    REQUIRE(mprotect(base_ + (data_pages + 1) * page, page, PROT_NONE) == 0);
    char* first = base_ + page;
    char* start = at_end ? first + data_pages * page - bytes : first;
    data_ = reinterpret_cast<T*>(start);
    if (n_) std::memcpy(data_, values.data(), bytes);
  }
  ~guarded() { munmap(base_, size_); }
  guarded(const guarded&) = delete;
  guarded& operator=(const guarded&) = delete;
  T* data() { return data_; }  // (a valid pointer even for n = 0)

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0, n_;
  T* data_ = nullptr;
};

std::vector<float> values_for(std::size_t n, uint32_t seed) { return uniform(n, -2.0f, 2.0f, seed); }

template <class Body>
void on_every_path(Body&& body) {
  for (const auto& isa : available_isas()) {
    INFO("ISA " << isa);
    isa_scope scope(isa);
    for (bool at_end : {true, false}) {
      INFO((at_end ? "arrays end at a guard page" : "arrays start after a guard page"));
      body(at_end);
    }
  }
}

}  // namespace

TEST_CASE("guard pages: tanh reads and writes only its n elements", "[guard]") {
  on_every_path([](bool at_end) {
    for (std::size_t n = 0; n <= max_length; ++n) {
      guarded<float> x(values_for(n, 1), at_end), y(std::vector<float>(n, 0.0f), at_end);
      REQUIRE(attnkern_tanh_f32(x.data(), y.data(), n) == ATTNKERN_OK);
    }
  });
}

TEST_CASE("guard pages: softmax and log-softmax stay inside their rows", "[guard]") {
  on_every_path([](bool at_end) {
    for (std::size_t rows : {1, 2, 3})
      for (std::size_t cols = 0; cols <= max_length; ++cols) {
        INFO("rows " << rows << ", cols " << cols);
        guarded<float> x(values_for(rows * cols, 2), at_end), y(std::vector<float>(rows * cols), at_end);
        REQUIRE(attnkern_softmax_f32(x.data(), y.data(), rows, cols) == ATTNKERN_OK);
        REQUIRE(attnkern_log_softmax_f32(x.data(), y.data(), rows, cols) == ATTNKERN_OK);
      }
  });
}

TEST_CASE("guard pages: attention_pool and additive_attention stay inside their arrays", "[guard]") {
  // features (and attn_dim) over 0 .. 3W + 1 at a few step counts, and steps over 0 .. 3W + 1 at a
  // few feature counts; lengths of 0, 1 and all steps
  struct shape {
    std::size_t steps, features;
  };
  std::vector<shape> shapes;
  for (std::size_t f = 0; f <= max_length; ++f)
    for (std::size_t t : {1, 3, 17}) shapes.push_back({t, f});
  for (std::size_t t = 0; t <= max_length; ++t)
    for (std::size_t f : {1, 5, 16}) shapes.push_back({t, f});
  on_every_path([&](bool at_end) {
    for (const shape& s : shapes) {
      INFO("steps " << s.steps << ", features " << s.features);
      const std::size_t batch = 3, t = s.steps, f = s.features;
      std::vector<int32_t> len_values{static_cast<int32_t>(t), 0, t > 0 ? 1 : 0};
      guarded<int32_t> lengths(len_values, at_end);
      guarded<float> h(values_for(batch * t * f, 3), at_end), w(values_for(f, 4), at_end), bias(values_for(t, 5), at_end);
      guarded<float> context(std::vector<float>(batch * f), at_end), weights(std::vector<float>(batch * t), at_end);
      REQUIRE(attnkern_attention_pool_f32(h.data(), w.data(), bias.data(), lengths.data(), batch, t, f, context.data(),
                                          weights.data()) == ATTNKERN_OK);
      REQUIRE(attnkern_attention_pool_f32(h.data(), w.data(), nullptr, nullptr, batch, t, f, context.data(), nullptr) ==
              ATTNKERN_OK);
      // additive attention with attn_dim = features, and with attn_dim 7 against these features
      for (std::size_t a : {f, std::size_t(7)}) {
        guarded<float> keys(values_for(batch * t * a, 6), at_end), query(values_for(batch * a, 7), at_end),
            v(values_for(a, 8), at_end), values(values_for(batch * t * f, 9), at_end);
        REQUIRE(attnkern_additive_attention_f32(keys.data(), query.data(), v.data(), values.data(), lengths.data(), batch, t,
                                                a, f, context.data(), weights.data()) == ATTNKERN_OK);
      }
    }
  });
}

TEST_CASE("guard pages: sdpa stays inside q, k, v, the lengths and out", "[guard]") {
  struct shape {
    std::size_t q_len, kv_len, head_dim, value_dim;
  };
  std::vector<shape> shapes;
  for (std::size_t d = 0; d <= max_length; ++d) {
    shapes.push_back({3, 5, d, 7});
    shapes.push_back({2, 9, 5, d});
  }
  for (std::size_t n = 0; n <= max_length; ++n) {
    shapes.push_back({n, n, 3, 5});
    shapes.push_back({1, n, 17, 16});
  }
  shapes.push_back({33, 70, 16, 17});  // past the query block and the 64-key block
  on_every_path([&](bool at_end) {
    for (const shape& s : shapes) {
      INFO("q_len " << s.q_len << ", kv_len " << s.kv_len << ", head_dim " << s.head_dim << ", value_dim " << s.value_dim);
      const std::size_t batch = 2;
      guarded<float> q(values_for(batch * s.q_len * s.head_dim, 10), at_end), k(values_for(batch * s.kv_len * s.head_dim, 11), at_end),
          v(values_for(batch * s.kv_len * s.value_dim, 12), at_end), out(std::vector<float>(batch * s.q_len * s.value_dim), at_end);
      guarded<int32_t> lengths(std::vector<int32_t>{static_cast<int32_t>(s.kv_len), static_cast<int32_t>(s.kv_len / 2)}, at_end);
      for (int causal : {0, 1}) {
        REQUIRE(attnkern_sdpa_f32(q.data(), k.data(), v.data(), lengths.data(), batch, s.q_len, s.kv_len, s.head_dim, s.value_dim,
                                  0.5f, causal, out.data()) == ATTNKERN_OK);
        REQUIRE(attnkern_sdpa_f32(q.data(), k.data(), v.data(), nullptr, batch, s.q_len, s.kv_len, s.head_dim, s.value_dim, 0.5f,
                                  causal, out.data()) == ATTNKERN_OK);
      }
    }
  });
}

TEST_CASE("guard pages: attnkern_attention stays inside every tensor (BSHD, GQA, key ranges, bias, mask, lse, f16 and bf16)",
          "[guard]") {
  // q, k, v and out in one type (f32, f16 or bf16: 2-byte tails), or K f16 and V bf16 (type 3)
  for (int types = 0; types < 4; ++types)
    on_every_path([types](bool at_end) {
      for (std::size_t kv_len : {std::size_t(1), std::size_t(63), std::size_t(65), std::size_t(520)})
        for (std::size_t d : {std::size_t(1), std::size_t(17)})
          for (std::size_t T : {std::size_t(3), std::size_t(20)}) {  // (units of both shapes: 6 and 40 rows)
            const std::size_t B = 2, Hq = 4, Hk = 2;
            INFO("types " << types << " kv_len " << kv_len << " head_dim " << d << " q_len " << T);
            const int32_t qt = types == 3 ? ATTNKERN_F32 : types, kt = types == 3 ? ATTNKERN_F16 : types,
                          vt = types == 3 ? ATTNKERN_BF16 : types;
            // a tensor of n elements of type t (the float values' bits, truncated, for the halves)
            auto tensor = [at_end](std::size_t n, uint32_t seed, int32_t t) {
              const std::vector<float> x = values_for(n, seed);
              std::vector<uint16_t> h(t == ATTNKERN_F32 ? 0 : n);
              for (std::size_t i = 0; i < h.size(); ++i)
                h[i] = t == ATTNKERN_BF16 ? static_cast<uint16_t>(bits(x[i]) >> 16) : static_cast<uint16_t>(0x3c00u + i % 512);
              return std::make_pair(std::make_unique<guarded<float>>(t == ATTNKERN_F32 ? x : std::vector<float>(), at_end),
                                    std::make_unique<guarded<uint16_t>>(h, at_end));
            };
            auto pointer = [](auto& t, int32_t type) -> void* {
              return type == ATTNKERN_F32 ? static_cast<void*>(t.first->data()) : static_cast<void*>(t.second->data());
            };
            auto q = tensor(B * T * Hq * d, 11, qt), k = tensor(B * kv_len * Hk * d, 12, kt),
                 v = tensor(B * kv_len * Hk * d, 13, vt), out = tensor(B * T * Hq * d, 17, qt);
            // BSHD tensors, each exactly its elements; the last key of item 1 ends each of k and v
            guarded<float> lse(std::vector<float>(B * Hq * T, 0.0f), at_end), bias(values_for(B * T * kv_len, 14), at_end),
                slopes(values_for(Hq, 15), at_end), sinks(values_for(Hq, 16), at_end);
            guarded<unsigned char> mask(std::vector<unsigned char>(T * kv_len, 1), at_end);
            guarded<int32_t> starts(std::vector<int32_t>{0, static_cast<int32_t>(kv_len / 2)}, at_end),
                lengths(std::vector<int32_t>{static_cast<int32_t>(kv_len), static_cast<int32_t>(kv_len)}, at_end);
            attnkern_attention_args a;
            attnkern_attention_args_init(&a);
            a.batch = B, a.q_heads = Hq, a.kv_heads = Hk, a.q_len = T, a.kv_len = kv_len, a.head_dim = a.value_dim = d;
            a.q = pointer(q, qt), a.q_strides = attnkern_strides_bshd(Hq, T, d);
            a.k = pointer(k, kt), a.k_strides = attnkern_strides_bshd(Hk, kv_len, d);
            a.v = pointer(v, vt), a.v_strides = attnkern_strides_bshd(Hk, kv_len, d);
            a.out = pointer(out, qt), a.out_strides = attnkern_strides_bshd(Hq, T, d);
            a.q_dtype = a.out_dtype = qt, a.k_dtype = kt, a.v_dtype = vt;
            a.lse = lse.data(), a.lse_strides = attnkern_strides_bhsd(Hq, T, 1);
            a.bias = bias.data(), a.bias_strides = {static_cast<int64_t>(T * kv_len), 0, static_cast<int64_t>(kv_len)};
            a.mask = mask.data(), a.mask_strides = {0, 0, static_cast<int64_t>(kv_len)};
            a.alibi_slopes = slopes.data(), a.sinks = sinks.data(), a.softcap = 5.0f;
            a.kv_starts = starts.data(), a.kv_lengths = lengths.data();
            a.causal = 1, a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
            INFO(attnkern_last_error_message());
            REQUIRE(attnkern_attention(&a) == ATTNKERN_OK);
          }
    });
}
