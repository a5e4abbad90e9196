// The "scalar" path: the plain references of attnkern/reference.hpp, as a kernel table.
#include <attnkern/reference.hpp>

#include "../kernel_table.hpp"

namespace attnkern {
namespace kernels {
namespace {

void tanh_reference(const float* x, float* y, std::size_t n) noexcept { reference::tanh(x, y, n); }

void exp_reference(const float* x, float* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<float>(std::exp(static_cast<double>(x[i])));
}

void softmax_reference(const float* x, float* y, std::size_t rows, std::size_t cols, bool log) noexcept {
  log ? reference::log_softmax(x, y, rows, cols) : reference::softmax(x, y, rows, cols);
}

}  // namespace

kernel_table scalar_table() noexcept {
  return kernel_table{&tanh_reference, &exp_reference, &softmax_reference, nullptr, nullptr, nullptr, nullptr, 0,
                      nullptr};
}

}  // namespace kernels
}  // namespace attnkern
