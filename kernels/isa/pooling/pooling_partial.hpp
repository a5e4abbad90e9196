// What one chunk of a fused attention kernel hands back to the driver (kernels/drivers/
// pooling_driver.cpp), which merges the chunks of a sequence in order and writes the outputs.
#pragma once

#include <cstddef>

namespace attnkern {
namespace kernels {

// Steps per block of the fused kernels: the block's scores are computed, then its exps (vectorized),
// then its rows of values are summed in float and added to the double accumulator.
constexpr std::size_t attention_block = 16;
// Steps per chunk: the unit of work split across threads when there are fewer sequences than
// threads, and the unit whose partial results are merged, always in the same order, whatever the
// thread count. A multiple of attention_block.
constexpr std::size_t attention_chunk = 256;
// The double accumulators are padded to a multiple of this many entries (the widest float batch).
constexpr std::size_t attention_acc_padding = 16;
// The block sums of p * values are taken with p scaled by this exact power of two: 16 terms of at
// most 2^-5 |x| each cannot overflow a float, whatever the values.
constexpr float attention_p_scale = 0x1p-5f;

// A chunk's running max m of the scores, and sum of e^(s - m), in double. The chunk's accumulator
// (sum_t e^(s_t - m) * attention_p_scale * values[t, :], double) is written to the caller's array.
struct attention_partial {
  float max;
  double sum;
};

// Where a chunk writes: the accumulator (padded as above; the chunk overwrites it), and, when
// weights are wanted, p = e^(s - m) per step and the m in force per block (else both null).
struct attention_outputs {
  double* acc;
  float* p;
  float* block_max;
};

}  // namespace kernels
}  // namespace attnkern
