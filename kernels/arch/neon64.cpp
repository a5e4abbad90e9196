// The neon64 path: compiled with aarch64's default flags only (see CMakeLists.txt).
#define ATTNKERN_ISA_NAMESPACE isa_neon64  // (kernels/isa_namespace.hpp)
#include "table.hpp"

template attnkern::kernels::kernel_table attnkern::kernels::table_for<xsimd::neon64>() noexcept;
