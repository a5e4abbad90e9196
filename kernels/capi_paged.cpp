// The C API of the paged K/V cache (attnkern.h): its geometry, attnkern_kv_append and
// attnkern_paged_attention. Every argument checked first (capi_checks.hpp); then the append's copy
// (kernels/drivers/kv_cache_driver.cpp), or the attention driver with the cache's blocks and the
// batch's variable-length rows (kernels/drivers/attention_driver.cpp).
#include <attnkern/attnkern.h>

#include "capi_checks.hpp"
#include "drivers/attention_driver.hpp"
#include "drivers/kv_cache_driver.hpp"
#include "runtime/dispatch.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

namespace {

using namespace attnkern::capi;
using attnkern::kernels::dtype_size;

// The kernels' block of keys: a cache block holds a whole number of them.
constexpr std::size_t block_tokens_multiple = 64;

// a * b, or 0 when it overflows size_t (or either is 0).
std::size_t times(std::size_t a, std::size_t b) noexcept { return a != 0 && b > SIZE_MAX / a ? 0 : a * b; }

bool cache_dtype(int32_t t) noexcept { return t == ATTNKERN_F32 || t == ATTNKERN_F16 || t == ATTNKERN_BF16; }

// A checked cache, with its blocks' sizes resolved (0: packed).
struct cache_view {
  attnkern_kv_cache c;
  std::size_t k_row_bytes, v_row_bytes, k_block_bytes, v_block_bytes;
  std::size_t k_pool_bytes() const noexcept { return c.num_blocks * k_block_bytes; }
  std::size_t v_pool_bytes() const noexcept { return c.num_blocks * v_block_bytes; }
};

attnkern_status check_cache(const char* fn, const attnkern_kv_cache* cache, cache_view& view) noexcept {
  if (!cache) return fail(ATTNKERN_ERROR_NULL_POINTER, fn, "args->cache is NULL");
  attnkern_kv_cache& c = view.c;
  if (const attnkern_status s = read_struct(fn, "attnkern_kv_cache", cache, sizeof c, sizeof c, &c)) return s;
  if (const attnkern_status s = check_dtype(fn, "cache->k_dtype", c.k_dtype)) return s;
  if (const attnkern_status s = check_dtype(fn, "cache->v_dtype", c.v_dtype)) return s;
  const struct {
    const char* name;
    std::size_t value;
  } sizes[] = {{"kv_heads", c.kv_heads}, {"head_dim", c.head_dim}, {"value_dim", c.value_dim}};
  for (const auto& d : sizes)
    if (d.value == 0) return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "cache->%s is 0", d.name);
  if (c.block_tokens == 0 || c.block_tokens % block_tokens_multiple != 0)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "cache->block_tokens = %zu is not a positive multiple of %zu",
                c.block_tokens, block_tokens_multiple);
  const struct pool {
    const char* name;
    int32_t dtype;
    std::size_t dim, given;
    const void* p;
    std::size_t *row, *block;
  } pools[] = {{"k", c.k_dtype, c.head_dim, c.k_block_bytes, c.k_blocks, &view.k_row_bytes, &view.k_block_bytes},
               {"v", c.v_dtype, c.value_dim, c.v_block_bytes, c.v_blocks, &view.v_row_bytes, &view.v_block_bytes}};
  for (const pool& p : pools) {
    *p.row = attnkern_kv_row_bytes(p.dtype, p.dim);
    const std::size_t packed = attnkern_kv_block_bytes(p.dtype, c.kv_heads, c.block_tokens, p.dim);
    if (*p.row == 0 || packed == 0 || packed > static_cast<std::size_t>(PTRDIFF_MAX))
      return fail(ATTNKERN_ERROR_INVALID_SIZE, fn, "a block of %s (kv_heads %zu x block_tokens %zu x %zu) spans more bytes than any object holds",
                  p.name, c.kv_heads, c.block_tokens, p.dim);
    const std::size_t element = dtype_size(internal_dtype(p.dtype));
    if (p.given != 0 && (p.given < packed || p.given % element != 0))
      return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "cache->%s_block_bytes = %zu: it must be 0 (packed) or at least %zu and a multiple of %zu",
                  p.name, p.given, packed, element);
    *p.block = p.given != 0 ? p.given : packed;
    if (c.num_blocks != 0 && (times(c.num_blocks, *p.block) == 0 || times(c.num_blocks, *p.block) > static_cast<std::size_t>(PTRDIFF_MAX)))
      return fail(ATTNKERN_ERROR_INVALID_SIZE, fn, "the %s pool (num_blocks %zu x %zu bytes) spans more bytes than any object holds",
                  p.name, c.num_blocks, *p.block);
    if (c.num_blocks != 0 && !p.p)
      return fail(ATTNKERN_ERROR_NULL_POINTER, fn, "cache->%s_blocks is NULL while it holds %zu blocks", p.name, c.num_blocks);
  }
  if (c.num_blocks != 0 && overlaps(c.k_blocks, view.k_pool_bytes(), c.v_blocks, view.v_pool_bytes()))
    return fail(ATTNKERN_ERROR_ALIASING, fn, "cache->v_blocks overlaps cache->k_blocks");
  return ATTNKERN_OK;
}

// The elements a strided [tokens, heads, dim] input spans (0 when empty), or INVALID_SIZE; negative
// strides are INVALID_ARGUMENT.
attnkern_status check_rows(const char* fn, const char* name, const void* p, std::size_t rows, std::size_t heads,
                           std::size_t dim, int64_t row_stride, int64_t head_stride, std::size_t element,
                           std::size_t& span) noexcept {
  tensor_arg t{name, p, {0, head_stride, row_stride}, rows ? std::size_t(1) : 0, heads, rows, dim, element};
  if (row_stride < 0 || head_stride < 0)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "%s's %s stride = %" PRId64 " is negative", name,
                row_stride < 0 ? "row (token)" : "head", row_stride < 0 ? row_stride : head_stride);
  if (const attnkern_status s = check_tensor(fn, t)) return s;
  span = t.elements;
  return ATTNKERN_OK;
}

}  // namespace

extern "C" {

size_t attnkern_kv_row_bytes(int32_t dtype, size_t dim) {
  if (!cache_dtype(dtype)) return 0;
  return times(dim, dtype_size(internal_dtype(dtype)));
}

size_t attnkern_kv_block_bytes(int32_t dtype, size_t heads, size_t block_tokens, size_t dim) {
  return times(times(attnkern_kv_row_bytes(dtype, dim), heads), block_tokens);
}

attnkern_status attnkern_kv_append(const attnkern_kv_append_args* args) {
  const char* const fn = __func__;
  attnkern_kv_append_args a;
  if (const attnkern_status s = read_struct(fn, "attnkern_kv_append_args", args, sizeof a, sizeof a, &a)) return s;
  cache_view cache;
  if (const attnkern_status s = check_cache(fn, a.cache, cache)) return s;
  const attnkern_kv_cache& c = cache.c;
  if (const attnkern_status s = check_dtype(fn, "k_dtype", a.k_dtype)) return s;
  if (const attnkern_status s = check_dtype(fn, "v_dtype", a.v_dtype)) return s;
  if (a.tokens == 0) return ATTNKERN_OK;
  if (!a.slots) return fail(ATTNKERN_ERROR_NULL_POINTER, fn, "slots is NULL while there are %zu tokens", a.tokens);
  if (a.tokens > static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(int64_t))
    return fail(ATTNKERN_ERROR_INVALID_SIZE, fn, "tokens = %zu: slots would span more bytes than any object holds", a.tokens);
  std::size_t k_span = 0, v_span = 0;
  const std::size_t k_size = dtype_size(internal_dtype(a.k_dtype)), v_size = dtype_size(internal_dtype(a.v_dtype));
  if (const attnkern_status s = check_rows(fn, "k", a.k, a.tokens, c.kv_heads, c.head_dim, a.k_token_stride, a.k_head_stride, k_size, k_span))
    return s;
  if (const attnkern_status s = check_rows(fn, "v", a.v, a.tokens, c.kv_heads, c.value_dim, a.v_token_stride, a.v_head_stride, v_size, v_span))
    return s;
  const uint64_t slots_total = static_cast<uint64_t>(c.num_blocks) * c.block_tokens;  // (no overflow: checked pools)
  for (std::size_t i = 0; i < a.tokens; ++i)
    if (a.slots[i] >= 0 && static_cast<uint64_t>(a.slots[i]) >= slots_total)
      return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "slots[%zu] = %" PRId64 " is past the cache's %zu blocks x %zu positions",
                  i, a.slots[i], c.num_blocks, c.block_tokens);
  {  // a slot written twice would leave a row that depends on the order: refused
    static thread_local std::vector<std::pair<int64_t, std::size_t>> sorted;
    try {
      sorted.clear();
      sorted.reserve(a.tokens);
    } catch (const std::bad_alloc&) {
      return out_of_memory(fn);
    }
    for (std::size_t i = 0; i < a.tokens; ++i)
      if (a.slots[i] >= 0) sorted.emplace_back(a.slots[i], i);
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 1; i < sorted.size(); ++i)
      if (sorted[i].first == sorted[i - 1].first)
        return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "slots[%zu] and slots[%zu] are both %" PRId64 " (a slot is written once per call)",
                    sorted[i - 1].second, sorted[i].second, sorted[i].first);
  }
  if (const attnkern_status s = check_outputs(fn,
                                              {{"k", a.k, k_span, k_size},
                                               {"v", a.v, v_span, v_size},
                                               {"slots", a.slots, a.tokens, sizeof(int64_t)}},
                                              {"cache->k_blocks", c.k_blocks, cache.k_pool_bytes(), 1},
                                              {"cache->v_blocks", c.v_blocks, cache.v_pool_bytes(), 1}))
    return s;
  using attnkern::kernels::kv_append_pool;
  const auto k_type = internal_dtype(a.k_dtype), v_type = internal_dtype(a.v_dtype);
  attnkern::kernels::kv_append_run(kv_append_pool{a.tokens, c.kv_heads, c.head_dim, a.slots, a.k, k_type,
                                                  static_cast<std::size_t>(a.k_token_stride), static_cast<std::size_t>(a.k_head_stride),
                                                  static_cast<char*>(c.k_blocks), internal_dtype(c.k_dtype),
                                                  cache.k_block_bytes, c.block_tokens});
  attnkern::kernels::kv_append_run(kv_append_pool{a.tokens, c.kv_heads, c.value_dim, a.slots, a.v, v_type,
                                                  static_cast<std::size_t>(a.v_token_stride), static_cast<std::size_t>(a.v_head_stride),
                                                  static_cast<char*>(c.v_blocks), internal_dtype(c.v_dtype),
                                                  cache.v_block_bytes, c.block_tokens});
  return ATTNKERN_OK;
}

attnkern_status attnkern_paged_attention(const attnkern_paged_attention_args* args) {
  const char* const fn = __func__;
  attnkern_paged_attention_args a;
  if (const attnkern_status s = read_struct(fn, "attnkern_paged_attention_args", args, sizeof a, sizeof a, &a)) return s;
  cache_view cache;
  if (const attnkern_status s = check_cache(fn, a.cache, cache)) return s;
  const attnkern_kv_cache& c = cache.c;
  const struct {
    const char* name;
    int32_t dtype;
  } dtypes[] = {{"q_dtype", a.q_dtype}, {"out_dtype", a.out_dtype}, {"bias_dtype", a.bias_dtype}};
  for (const auto& d : dtypes)
    if (const attnkern_status s = check_dtype(fn, d.name, d.dtype)) return s;
  if (a.q_heads % c.kv_heads != 0)
    return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "q_heads = %zu is not a multiple of the cache's kv_heads = %zu", a.q_heads,
                c.kv_heads);
  if (const attnkern_status s = check_modifiers(fn, a.scale, a.window, a.window_left, a.window_right, a.softcap,
                                                 a.bias_head_scales != nullptr, a.bias != nullptr))
    return s;
  if (a.num_seqs == 0 || a.q_heads == 0) return ATTNKERN_OK;
  if (a.num_seqs > static_cast<std::size_t>(INT32_MAX))
    return fail(ATTNKERN_ERROR_INVALID_SIZE, fn, "num_seqs = %zu is beyond cu_q's int32 range", a.num_seqs);
  if (!a.cu_q) return fail(ATTNKERN_ERROR_NULL_POINTER, fn, "cu_q is NULL while there are %zu sequences", a.num_seqs);
  if (!a.kv_lens) return fail(ATTNKERN_ERROR_NULL_POINTER, fn, "kv_lens is NULL while there are %zu sequences", a.num_seqs);
  if (a.cu_q[0] != 0) return fail(ATTNKERN_ERROR_INVALID_LENGTH, fn, "cu_q[0] = %" PRId32 ": it must be 0", a.cu_q[0]);
  std::size_t most_rows = 0, most_keys = 0, tables_needed = 0;
  for (std::size_t s = 0; s < a.num_seqs; ++s) {
    if (a.cu_q[s + 1] < a.cu_q[s])
      return fail(ATTNKERN_ERROR_INVALID_LENGTH, fn, "cu_q[%zu] = %" PRId32 " is below cu_q[%zu] = %" PRId32, s + 1, a.cu_q[s + 1], s,
                  a.cu_q[s]);
    if (a.kv_lens[s] < 0) return fail(ATTNKERN_ERROR_INVALID_LENGTH, fn, "kv_lens[%zu] = %" PRId32 " is negative", s, a.kv_lens[s]);
    const std::size_t keys = static_cast<std::size_t>(a.kv_lens[s]), blocks = (keys + c.block_tokens - 1) / c.block_tokens;
    if (blocks > a.block_table_stride)
      return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn,
                  "kv_lens[%zu] = %zu needs %zu blocks of %zu positions; block_table_stride = %zu has room for fewer", s, keys,
                  blocks, c.block_tokens, a.block_table_stride);
    most_rows = std::max(most_rows, static_cast<std::size_t>(a.cu_q[s + 1] - a.cu_q[s]));
    most_keys = std::max(most_keys, keys);
    if (blocks != 0) tables_needed = s * a.block_table_stride + blocks;
  }
  const std::size_t rows = static_cast<std::size_t>(a.cu_q[a.num_seqs]);
  if (rows == 0) return ATTNKERN_OK;
  if (tables_needed != 0) {
    if (!a.block_tables)
      return fail(ATTNKERN_ERROR_NULL_POINTER, fn, "block_tables is NULL while sequences have keys");
    if (a.block_table_stride > static_cast<std::size_t>(PTRDIFF_MAX) / sizeof(int32_t) / a.num_seqs)
      return fail(ATTNKERN_ERROR_INVALID_SIZE, fn, "block_tables (num_seqs %zu x block_table_stride %zu) spans more bytes than any object holds",
                  a.num_seqs, a.block_table_stride);
    for (std::size_t s = 0; s < a.num_seqs; ++s) {
      const std::size_t blocks = (static_cast<std::size_t>(a.kv_lens[s]) + c.block_tokens - 1) / c.block_tokens;
      for (std::size_t i = 0; i < blocks; ++i) {
        const int32_t block = a.block_tables[s * a.block_table_stride + i];
        if (block < 0 || static_cast<std::size_t>(block) >= c.num_blocks)
          return fail(ATTNKERN_ERROR_INVALID_ARGUMENT, fn, "block_tables[%zu][%zu] = %" PRId32 " is outside [0, num_blocks = %zu)", s, i,
                      block, c.num_blocks);
      }
    }
  }
  // q, out, lse, bias and mask: rows [0, rows) x q_heads, spans checked as [1, heads, rows, dim]
  const std::size_t q_size = dtype_size(internal_dtype(a.q_dtype)), out_size = dtype_size(internal_dtype(a.out_dtype));
  const std::size_t bias_size = dtype_size(internal_dtype(a.bias_dtype));
  tensor_arg q{"q", a.q, {0, a.q_head_stride, a.q_row_stride}, 1, a.q_heads, rows, c.head_dim, q_size};
  tensor_arg out{"out", a.out, {0, a.out_head_stride, a.out_row_stride}, 1, a.q_heads, rows, c.value_dim, out_size};
  tensor_arg lse{"lse", a.lse, {0, a.lse_head_stride, a.lse_row_stride}, a.lse ? std::size_t(1) : 0, a.q_heads, rows, 1};
  tensor_arg bias{"bias", a.bias, {0, a.bias_head_stride, a.bias_row_stride}, a.bias ? std::size_t(1) : 0, a.q_heads, rows,
                  std::max<std::size_t>(most_keys, 1), bias_size};
  tensor_arg mask{"mask", a.mask, {0, a.mask_head_stride, a.mask_row_stride}, a.mask ? std::size_t(1) : 0, a.q_heads, rows,
                  std::max<std::size_t>(most_keys, 1), 1};
  for (tensor_arg* t : {&q, &out, &lse, &bias, &mask})
    if (const attnkern_status s = check_tensor(fn, *t)) return s;
  for (const tensor_arg* o : {&out, &lse})
    if (const attnkern_status s = check_rows_disjoint(fn, *o)) return s;
  if (const attnkern_status s = check_outputs(
          fn,
          {{"q", q.p, q.elements, q.element_bytes},
           {"cache->k_blocks", c.k_blocks, cache.k_pool_bytes(), 1},
           {"cache->v_blocks", c.v_blocks, cache.v_pool_bytes(), 1},
           {"cu_q", a.cu_q, a.num_seqs + 1, sizeof(int32_t)},
           {"kv_lens", a.kv_lens, a.num_seqs, sizeof(int32_t)},
           {"block_tables", a.block_tables, tables_needed, sizeof(int32_t)},
           {"bias", bias.p, bias.elements, bias.element_bytes},
           {"mask", mask.p, mask.elements, 1},
           {"bias_head_scales", a.bias_head_scales, a.bias_head_scales ? a.q_heads : 0},
           {"alibi_slopes", a.alibi_slopes, a.alibi_slopes ? a.q_heads : 0},
           {"sinks", a.sinks, a.sinks ? a.q_heads : 0}},
          {"out", out.p, out.elements, out.element_bytes}, {"lse", lse.p, lse.elements}))
    return s;

  // The call as attnkern_attention's descriptor over items of variable rows and paged keys
  attnkern::kernels::attention_args run{};
  attnkern_attention_args_init(&run);
  run.batch = a.num_seqs;
  run.q_heads = a.q_heads;
  run.kv_heads = c.kv_heads;
  run.q_len = most_rows;
  run.kv_len = most_keys;
  run.head_dim = c.head_dim;
  run.value_dim = c.value_dim;
  run.q = a.q;
  run.q_strides = q.strides;
  run.k = c.k_blocks;
  run.v = c.v_blocks;
  run.out = a.out;
  run.out_strides = out.strides;
  run.lse = a.lse;
  run.lse_strides = lse.strides;
  run.kv_lengths = a.kv_lens;
  run.causal = a.causal;
  run.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
  run.window = a.window;
  run.softcap = a.softcap;
  run.bias = a.bias;
  run.bias_strides = bias.strides;
  run.bias_head_scales = a.bias_head_scales;
  run.alibi_slopes = a.alibi_slopes;
  run.mask = a.mask;
  run.mask_strides = mask.strides;
  run.sinks = a.sinks;
  run.q_type = internal_dtype(a.q_dtype);
  run.k_type = internal_dtype(c.k_dtype);
  run.v_type = internal_dtype(c.v_dtype);
  run.out_type = internal_dtype(a.out_dtype);
  run.bias_type = internal_dtype(a.bias_dtype);
  run.scale = a.scale;
  run.window_left = a.window_left;
  run.window_right = a.window_right;
  resolve_scale_and_window(run);
  run.diagonal = attnkern::kernels::alignment::bottom_right;
  run.cu_q = a.cu_q;
  const attnkern::kernels::attention_args::paged_cache paged{c.block_tokens,      cache.k_block_bytes, cache.v_block_bytes,
                                                              cache.k_row_bytes,   cache.v_row_bytes,   a.block_tables,
                                                              a.block_table_stride};
  run.paged = &paged;
  return attnkern::kernels::attention_run(attnkern::kernels::active_table(), run, attnkern_num_threads()) ? ATTNKERN_OK
                                                                                                         : out_of_memory(fn);
}

}  // extern "C"
