// The "scalar" path: the plain references of attnkern/reference.hpp, as a kernel table.
#include <attnkern/reference.hpp>

#include "../kernel_table.hpp"

namespace attnkern {
namespace kernels {
namespace {

void tanh_reference(const float* x, float* y, std::size_t n) noexcept { reference::tanh(x, y, n); }

}  // namespace

kernel_table scalar_table() noexcept { return kernel_table{&tanh_reference}; }

}  // namespace kernels
}  // namespace attnkern
