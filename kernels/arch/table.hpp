// The body of every per-ISA table. Included only by kernels/arch/<isa>.cpp, each of which
// instantiates table_for<> for its own architecture.
#pragma once

#include "../attention/attention_kernel.hpp"
#include "../kernel_table.hpp"
#include "../sdpa/sdpa_kernel.hpp"
#include "../softmax/softmax_kernel.hpp"
#include "../tanh/tanh_kernel.hpp"

namespace attnkern {
namespace kernels {

template <class Arch>
kernel_table table_for() noexcept {
  return kernel_table{&tanh_f32<Arch>, &exp_f32<Arch>, &softmax_rows_f32<Arch>, &softmax_stats_f32<Arch>,
                      &softmax_output_f32<Arch>, &attention_pool_chunk_f32<Arch>,
                      &additive_attention_chunk_f32<Arch>, sdpa_detail::tiles<Arch>::rows, &sdpa_chunk_f32<Arch>};
}

}  // namespace kernels
}  // namespace attnkern
