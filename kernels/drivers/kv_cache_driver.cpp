// The paged K/V cache's writer (kv_cache_driver.hpp).
#include "drivers/kv_cache_driver.hpp"

#include <cstring>

namespace attnkern {
namespace kernels {

void kv_append_run(const kv_append_pool& p) noexcept {
  const std::size_t src_size = dtype_size(p.src_type), dst_size = dtype_size(p.dst_type);
  for (std::size_t i = 0; i < p.tokens; ++i) {
    if (p.slots[i] < 0) continue;
    const std::size_t slot = static_cast<std::size_t>(p.slots[i]);
    const std::size_t block = slot / p.block_tokens, t = slot % p.block_tokens;
    for (std::size_t g = 0; g < p.heads; ++g) {
      const std::size_t from = i * p.token_stride + g * p.head_stride;
      char* row = p.blocks + block * p.block_bytes + (g * p.block_tokens + t) * p.dim * dst_size;
      if (p.src_type == p.dst_type) {
        std::memcpy(row, static_cast<const char*>(p.src) + from * src_size, p.dim * src_size);
        continue;
      }
      for (std::size_t c = 0; c < p.dim; ++c) {
        const float x = element(p.src, p.src_type, from + c);  // (exact)
        switch (p.dst_type) {
          case dtype::f16:
            reinterpret_cast<f16_t*>(row)[c].bits = float_to_f16_bits(x);
            break;
          case dtype::bf16:
            reinterpret_cast<bf16_t*>(row)[c].bits = float_to_bf16_bits(x);
            break;
          default:
            reinterpret_cast<float*>(row)[c] = x;
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace attnkern
