// The avx2 path: compiled with -mavx2 -mfma only (see CMakeLists.txt).
#define ATTNKERN_ISA_NAMESPACE isa_avx2  // (kernels/isa_namespace.hpp)
#include "table.hpp"

template attnkern::kernels::kernel_table attnkern::kernels::table_for<xsimd::fma3<xsimd::avx2>>() noexcept;
