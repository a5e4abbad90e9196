// One unit of work of the fused scaled dot-product attention (kernels/isa/attention/attention_kernel.hpp): a block
// of query rows against one chunk of keys. The driver (kernels/drivers/attention_driver.cpp) cuts every
// (batch item, query block) into chunks, merges the chunks' partial results in chunk order and
// writes the outputs.
#pragma once

#include "simd/dtype.hpp"
#include "simd/isa_namespace.hpp"

#include <cstddef>
#include <limits>

namespace attnkern {
namespace kernels {

// Keys per block: the kernel computes a block's scores for all the query rows at once, then their
// exps, then the block's P.V; the rows' max, sum and accumulator are updated once per block.
constexpr std::size_t sdpa_key_block = 64;
// Keys per chunk: the unit split across threads, and whose partial results are merged, always in
// the same order whatever the thread count. A multiple of sdpa_key_block.
constexpr std::size_t sdpa_key_chunk = 512;
// The weights p of a chunk's P.V sums are scaled by this exact power of two (and the driver undoes it
// in double): 512 terms of at most |v| each cannot overflow a float, whatever the values.
constexpr float sdpa_p_scale = 0x1p-9f;
static_assert(sdpa_key_chunk * 0x1p-9 <= 1.0, "a chunk's scaled sums stay below max|v|");
// Blocks of keys per chunk.
constexpr std::size_t sdpa_chunk_blocks = sdpa_key_chunk / sdpa_key_block;
static_assert(sdpa_chunk_blocks * sdpa_key_block == sdpa_key_chunk, "a chunk is whole blocks");
// The widest query block of any path (the table's sdpa_query_rows is at most this).
constexpr std::size_t sdpa_max_query_rows = 32;
// The most query rows a unit of the decode shape (head_dim across the lanes) has on any path.
constexpr std::size_t sdpa_max_decode_rows = 8;
// Accumulator rows are padded to a multiple of this many floats (the widest float batch).
constexpr std::size_t sdpa_acc_padding = 16;

inline namespace ATTNKERN_ISA_NAMESPACE {

inline std::size_t sdpa_acc_stride(std::size_t value_dim) {
  return (value_dim + sdpa_acc_padding - 1) / sdpa_acc_padding * sdpa_acc_padding;
}

// Floats of scratch one chunk call of the query-rows shape needs (the decode shape needs none: its
// scores live on the stack, K goes straight from memory into its lanes): Q transposed and one block
// of scores, plus alignment; a block of K widened to float when K is not float32, and a block of V
// when V's rows are not contiguous floats (strided: BSHD, packed QKV; or f16, bf16).
// The layout, from the 64-byte aligned start: [0, base) Q^T and the scores, then the block of V (when
// packed), then the block of K (when widened).
inline std::size_t sdpa_scratch_base_floats(std::size_t head_dim) {
  return (head_dim + sdpa_key_block) * sdpa_max_query_rows;
}
inline std::size_t sdpa_scratch_floats(std::size_t head_dim, std::size_t value_dim, bool pack_k, bool pack_v) {
  return sdpa_scratch_base_floats(head_dim) + 16 + (pack_k ? sdpa_key_block * head_dim : 0) +
         (pack_v ? sdpa_key_block * value_dim : 0);
}

}  // namespace ATTNKERN_ISA_NAMESPACE

struct sdpa_chunk_args {
  // Query row r's head_dim floats (rows of one K/V head: positions or the query heads of a GQA group).
  const float* q[sdpa_max_query_rows];
  std::size_t rows;  // query rows in the block, 1 .. the table's sdpa_query_rows
  // The chunk's key slots: slot j is key k0 + j of the sequence, with k0 a multiple of sdpa_key_block
  // (blocks of keys lie at fixed positions of the sequence, whatever the rows). The slots lie in
  // blocks of sdpa_key_block, each its own pointer (a contiguous tensor's, or a paged cache's block):
  // K row j at element (j % sdpa_key_block) ldk of k[j / sdpa_key_block], V row j likewise in v; their
  // elements are k_type and v_type (f32, f16, bf16). Blocks the chunk does not read may be null.
  const void* k[sdpa_chunk_blocks];
  const void* v[sdpa_chunk_blocks];
  std::size_t ldk, ldv;
  // The first block of the unit's next chunk (null: none), whose first next_keys rows the chunk
  // prefetches as it ends where they do not follow its last block in memory.
  const void* k_next;
  const void* v_next;
  std::size_t next_keys;
  dtype k_type, v_type;
  std::size_t keys;  // slots in the chunk, 1 .. sdpa_key_chunk
  // Row r sees slots [first[r], end[r]) (first >= end: none), within [0, keys). Only the slots some
  // row sees are read.
  std::size_t first[sdpa_max_query_rows];
  std::size_t end[sdpa_max_query_rows];
  std::size_t head_dim, value_dim;
  float scale;
  // Score modifiers (attnkern_attention's order): s = softcap tanh(s / softcap) when softcap > 0;
  // then, for row r and slot j, s += bias[r][j] bias_scale[r] + slope[r] (j - diagonal[r]); a slot
  // whose bias is -inf or whose mask byte is 0 is hidden, whatever s was. bias[r] and mask[r] point
  // at slot 0 (or are null); `hides` says whether any row has either.
  float softcap;
  bool modified;  // softcap, bias or ALiBi on any row (else none of the below is read)
  bool hides;
  const float* bias[sdpa_max_query_rows];
  float bias_scale[sdpa_max_query_rows];
  float slope[sdpa_max_query_rows];
  std::ptrdiff_t diagonal[sdpa_max_query_rows];
  const unsigned char* mask[sdpa_max_query_rows];
  float* scratch;  // sdpa_scratch_floats(head_dim, value_dim, k_type != f32, ldv != value_dim || v_type != f32)
  // The chunk's results, per row r < rows: m = the max of its visible scores (-inf if it sees none),
  // l = sum_j e^(s_j - m), and acc[r * acc_stride + e] = sdpa_p_scale sum_j e^(s_j - m) v[j, e] (rows
  // x sdpa_acc_stride(value_dim) floats; the padding is written too).
  float* max;
  double* sum;
  float* acc;
};

inline namespace ATTNKERN_ISA_NAMESPACE {

// Whether row r of a chunk does not see slot j by its mask (0) or its bias (-inf), its range aside.
inline bool sdpa_hidden_by_modifiers(const sdpa_chunk_args& a, std::size_t r, std::size_t j) noexcept {
  return a.hides && ((a.mask[r] && a.mask[r][j] == 0) || (a.bias[r] && a.bias[r][j] == -std::numeric_limits<float>::infinity()));
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
