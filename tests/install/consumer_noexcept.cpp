// A C++17 program built with -fno-exceptions on attnkern's C++ API: the status forms
// (attnkern::nothrow), a view and attention_desc, against the C API's bits (tests/install/run.sh
// builds it against the installed package; tests/CMakeLists.txt in the build tree).
#include <attnkern/attnkern.hpp>

#include <cstdio>
#include <cstring>
#include <vector>

#if ATTNKERN_HPP_EXCEPTIONS || defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#error "build this file with -fno-exceptions: it checks that attnkern.hpp compiles without them"
#endif

namespace {

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
int fail(const char* what) {
  std::fprintf(stderr, "C++ consumer without exceptions: %s (%s)\n", what, attnkern::last_error_message());
  return 1;
}

}  // namespace

int main() {
  const std::size_t rows = 3, cols = 4, n = rows * cols;
  std::vector<float> x(n), y(n), want(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i % 5) - 2.0f;

  if (attnkern_tanh_f32(x.data(), want.data(), n) != ATTNKERN_OK) return fail("attnkern_tanh_f32");
  if (attnkern::nothrow::tanh(x, y) != ATTNKERN_OK || !same_bits(y, want)) return fail("nothrow::tanh");
  if (attnkern_softmax_f32(x.data(), want.data(), rows, cols) != ATTNKERN_OK) return fail("attnkern_softmax_f32");
  if (attnkern::nothrow::softmax(x.data(), y.data(), rows, cols) != ATTNKERN_OK || !same_bits(y, want))
    return fail("nothrow::softmax");
  // a view smaller than rows x cols: refused, nothing written
  const std::vector<float> before = y;
  if (attnkern::nothrow::softmax(x, attnkern::span<float>(y.data(), n - 1), rows, cols) !=
          ATTNKERN_ERROR_INVALID_ARGUMENT ||
      !same_bits(y, before) || std::strstr(attnkern::last_error_message(), "y holds 11 elements") == nullptr)
    return fail("a view too small");
  if (attnkern::nothrow::set_isa("no-such-isa") != ATTNKERN_ERROR_UNSUPPORTED_ISA) return fail("nothrow::set_isa");

  // one head of attention, [1, 1, rows, cols] each, causal: the builder and the struct by hand
  const attnkern_strides s = attnkern::strides_bhsd(1, rows, cols);
  attnkern_attention_args args;
  attnkern_attention_args_init(&args);
  args.batch = args.q_heads = args.kv_heads = 1;
  args.q_len = args.kv_len = rows;
  args.head_dim = args.value_dim = cols;
  args.q = args.k = args.v = x.data();
  args.q_strides = args.k_strides = args.v_strides = args.out_strides = s;
  args.out = want.data();
  args.causal = 1;
  if (attnkern_attention(&args) != ATTNKERN_OK) return fail("attnkern_attention");
  const attnkern::attention_desc desc =
      attnkern::attention_desc().shape(1, 1, 1, rows, rows, cols, cols).q(x, s).k(x, s).v(x, s).out(y, s).causal();
  if (desc.try_run() != ATTNKERN_OK || !same_bits(y, want)) return fail("attention_desc::try_run");

  std::printf("C++ consumer without exceptions: attnkern %s on %s\n", attnkern::version().c_str(),
              attnkern::isa().c_str());
  return 0;
}
