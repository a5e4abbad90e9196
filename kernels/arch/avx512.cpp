// The avx512 path: compiled with -mavx512f -mavx2 -mfma only (see CMakeLists.txt).
#define ATTNKERN_ISA_NAMESPACE isa_avx512  // (kernels/isa_namespace.hpp)
#include "table.hpp"

template attnkern::kernels::kernel_table attnkern::kernels::table_for<xsimd::avx512f>() noexcept;
