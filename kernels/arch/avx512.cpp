// The avx512 path: compiled with -mavx512f -mavx2 -mfma only (see CMakeLists.txt).
#include "table.hpp"

template attnkern::kernels::kernel_table attnkern::kernels::table_for<xsimd::avx512f>() noexcept;
