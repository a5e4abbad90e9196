// The per-ISA function table: what kernels/dispatch.cpp selects and kernels/capi.cpp calls.
// Every entry is single-threaded and assumes checked arguments; capi.cpp owns checks and threads.
#pragma once

#include <cstddef>

namespace attnkern {
namespace kernels {

struct kernel_table {
  void (*tanh_f32)(const float* x, float* y, std::size_t n) noexcept;
};

// The table of one xsimd architecture: defined in kernels/arch/table.hpp and explicitly instantiated
// in kernels/arch/<isa>.cpp, the only translation unit compiled with that ISA's flags.
template <class Arch>
kernel_table table_for() noexcept;

// The scalar references of attnkern/reference.hpp, as a table (kernels/dispatch.cpp).
kernel_table scalar_table() noexcept;

}  // namespace kernels
}  // namespace attnkern
