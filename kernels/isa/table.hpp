// The body of every per-ISA table. Included only by isa_<isa>.cpp (generated from
// kernels/isa/table.cpp.in for each path of kernels/isa/isas.def), each of which
// instantiates table_for<> for its own architecture.
#pragma once

#include "isa/pooling/pooling_kernel.hpp"
#include "isa/kernel_table.hpp"
#include "isa/attention/attention_kernel.hpp"
#include "isa/softmax/softmax_kernel.hpp"
#include "isa/tanh/tanh_kernel.hpp"

namespace attnkern {
namespace kernels {

template <class Arch>
kernel_table table_for() noexcept {
  kernel_table table{};
#define ATTNKERN_KERNEL(name, result, parameters) table.name = &name<Arch>;
#include "isa/kernels.def"
#undef ATTNKERN_KERNEL
  table.sdpa_query_rows = sdpa_detail::tiles<Arch>::rows;
  return table;
}

}  // namespace kernels
}  // namespace attnkern
