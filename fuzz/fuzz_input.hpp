// Shared by the libFuzzer targets (fuzz/fuzz_*.cpp): decodes the fuzzer's bytes into an ISA path,
// sizes, lengths and float values (uniform in a range, or special: NaN, +-inf, +-0, denormals,
// +-FLT_MAX, ...), and measures a result against the float64 reference. Running out of bytes
// yields zeros (or, after random_tail, a generator's bytes), so every input decodes.
#pragma once

#include <attnkern/attnkern.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace attnkern_fuzz {

class input {
 public:
  input(const uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  uint8_t byte() {
    if (n_ == 0) {
      if (tail_ == 0) return 0;
      tail_ ^= tail_ << 13, tail_ ^= tail_ >> 7, tail_ ^= tail_ << 17;  // (xorshift64)
      return static_cast<uint8_t>(tail_ >> 56);
    }
    --n_;
    return *p_++;
  }
  // Past the input's end, bytes from a generator seeded by the whole input instead of zeros: a short
  // input still decodes to a call with every feature in reach (attention_api, merge).
  void random_tail(const uint8_t* data, std::size_t size) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ull;
    tail_ = h | 1;
  }
  // in [0, m)
  std::size_t below(std::size_t m) {
    const std::size_t v = static_cast<std::size_t>(byte()) | static_cast<std::size_t>(byte()) << 8;
    return m ? v % m : 0;
  }
  // Mostly uniform in [-range, range]; one in eight from the special values that `specials` allows
  // (`finite_only`: NaN and the large finite ones, no infinities).
  float value(float range, bool finite_only) {
    const uint8_t selector = byte();
    if (selector < 224) {
      const uint16_t u = static_cast<uint16_t>(byte() | byte() << 8);
      return range * (static_cast<float>(u) / 32767.5f - 1.0f);
    }
    static const float specials[] = {NAN,      0.0f,     -0.0f,   1e-40f,  -1e-40f, FLT_MIN, -FLT_MIN, 1e-30f,
                                     -1e-30f,  1.0f,     -1.0f,   88.0f,   -88.0f,  1e4f,    -1e4f,    range,
                                     INFINITY, -INFINITY, FLT_MAX, -FLT_MAX, 1e30f,  -1e30f,  0.5f,     -0.5f};
    const std::size_t count = finite_only ? 16 : sizeof specials / sizeof specials[0];
    return specials[selector % count];
  }
  std::vector<float> values(std::size_t n, float range, bool finite_only) {
    std::vector<float> v(n);
    for (float& x : v) x = value(range, finite_only);
    return v;
  }
  // `count` sequence lengths in [0, size], now and then an invalid one (-1 or size + 1); `valid` tells
  // whether all of them are valid.
  std::vector<int32_t> lengths(std::size_t count, std::size_t size, bool& valid) {
    std::vector<int32_t> l(count);
    valid = true;
    for (int32_t& x : l) {
      const uint8_t b = byte();
      x = b == 255 ? -1 : b == 254 ? static_cast<int32_t>(size) + 1 : static_cast<int32_t>(below(size + 1));
      valid = valid && x >= 0 && x <= static_cast<int32_t>(size);
    }
    return l;
  }
  // An ISA path: "auto" or a named one, which is skipped for "auto" when this CPU or build lacks it
  // (neon: an aarch64 build).
  void select_isa() {
    static const char* const names[] = {"auto",
#define ATTNKERN_ISA(name, family, arch, flags) #name,
#include "isa/isas.def"  // (kernels/: every path, best first)
#undef ATTNKERN_ISA
                                        "scalar"};
    const char* name = names[byte() % (sizeof names / sizeof names[0])];
    if (attnkern_set_isa(name) != ATTNKERN_OK) attnkern_set_isa("auto");
  }
  // The bytes not yet decoded.
  std::size_t left() const { return n_; }

 private:
  const uint8_t* p_;
  std::size_t n_;
  uint64_t tail_ = 0;
};

// Stops the fuzzer with a message (libFuzzer keeps the input as a crash).
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "attnkern fuzz: %s (path %s)\n", what.c_str(), attnkern_isa());
  std::abort();
}

inline void expect_status(attnkern_status got, attnkern_status want, const char* call) {
  if (got != want)
    fail(std::string(call) + ": status " + attnkern_status_message(got) + ", expected " + attnkern_status_message(want));
}

// A result against its float64 reference: NaN where the reference is NaN, else within `tolerance`.
inline void expect_near(const char* what, float got, double ref, double tolerance) {
  if (std::isnan(ref)) {
    if (!std::isnan(got)) fail(std::string(what) + ": a number where the reference has NaN");
  } else if (!(std::fabs(static_cast<double>(got) - ref) <= tolerance)) {
    fail(std::string(what) + " beyond its bound");
  }
}

// Every float of `out` still holds `sentinel` (nothing written).
inline void expect_untouched(const std::vector<float>& out, float sentinel, const char* call) {
  for (float x : out)
    if (std::memcmp(&x, &sentinel, sizeof x) != 0) fail(std::string(call) + " wrote an output on error");
}

// Calls `call` on a copy of `args` inside a larger struct, as a newer header would pass it (struct_size
// says so), with `future` in field `which` % 2 of the two past this version's (0: what a newer header
// that sets none of them passes, which must be accepted).
template <class Args, class Call>
attnkern_status call_as_newer(const Args& args, Call call, int64_t future, std::size_t which) {
  struct newer {
    Args a;
    int64_t future[2];
  } n{};
  n.a = args;
  n.a.struct_size = sizeof n;
  n.future[which % 2] = future;
  return call(&n.a);
}

}  // namespace attnkern_fuzz
