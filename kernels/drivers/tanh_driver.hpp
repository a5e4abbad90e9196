// The tanh driver: an array in fixed chunks of elementwise_chunk elements on the executor's threads
// (kernels/runtime/executor.hpp), each chunk one call of the active ISA's tanh_f32. The chunks do
// not change a bit (each output depends on its input alone).
#pragma once

#include "isa/kernel_table.hpp"

#include <cstddef>

namespace attnkern {
namespace kernels {

// Elementwise kernels split arrays into chunks of this many elements, and go parallel only when
// each thread gets at least tanh_min_per_thread of them. Measured on 2 Zen 4 cores (best of 2000
// warm calls): 2 threads give 1.06x at 4K elements, 1.39x at 8K, 1.64x at 16K, 1.80x at 32K; a
// cold fork costs more, so tanh starts at 16K (8K per thread).
constexpr std::size_t elementwise_chunk = 8192;
constexpr std::size_t tanh_min_per_thread = 8192;

// y[i] = tanh(x[i]) for i < n, checked arguments (capi.cpp); y may equal x. max_threads: the
// caller's thread budget.
void tanh_run(const kernel_table& table, const float* x, float* y, std::size_t n, int max_threads) noexcept;

}  // namespace kernels
}  // namespace attnkern
