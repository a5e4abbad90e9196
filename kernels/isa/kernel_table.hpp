// The per-ISA function table: what kernels/runtime/dispatch.cpp selects. Its entries are listed once,
// in kernels/isa/kernels.def; every path fills every entry: the SIMD paths from
// kernels/isa/table.hpp, the scalar path from kernels/isa/scalar.cpp (plain code evaluated in
// double, to the same contracts). The argument checks are in kernels/capi.cpp, which also takes the
// thread cap (attnkern_num_threads); the drivers (kernels/drivers/softmax_driver.cpp,
// kernels/drivers/pooling_driver.cpp, kernels/drivers/attention_driver.cpp) turn a call into a plan of
// units and chunks, which the executor (kernels/runtime/executor.hpp) runs on its threads and merges.
#pragma once

#include "isa/pooling/pooling_partial.hpp"
#include "isa/attention/attention_chunk.hpp"
#include "isa/softmax/softmax_stats.hpp"

#include <cstddef>

namespace attnkern {
namespace kernels {

struct kernel_table {
#define ATTNKERN_KERNEL(name, result, parameters) result(*name) parameters noexcept;
#include "isa/kernels.def"
#undef ATTNKERN_KERNEL
  // The most query rows sdpa_chunk_f32 takes in one block.
  std::size_t sdpa_query_rows;
};

// The table of one xsimd architecture: defined in kernels/isa/table.hpp and explicitly instantiated
// in isa_<isa>.cpp (generated from kernels/isa/table.cpp.in for each path of kernels/isa/isas.def),
// the only translation unit compiled with that ISA's flags.
template <class Arch>
kernel_table table_for() noexcept;

// The scalar path's table (kernels/isa/scalar.cpp).
kernel_table scalar_table() noexcept;

}  // namespace kernels
}  // namespace attnkern
