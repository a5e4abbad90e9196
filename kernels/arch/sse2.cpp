// The sse2 path: compiled with -msse2 only (see CMakeLists.txt).
#define ATTNKERN_ISA_NAMESPACE isa_sse2  // (kernels/isa_namespace.hpp)
#include "table.hpp"

template attnkern::kernels::kernel_table attnkern::kernels::table_for<xsimd::sse2>() noexcept;
