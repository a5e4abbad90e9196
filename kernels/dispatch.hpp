// Runtime ISA dispatch (kernels/dispatch.cpp): which per-ISA table the C API calls.
#pragma once

#include <attnkern/attnkern.h>

#include "kernel_table.hpp"

namespace attnkern {
namespace kernels {

// The table of the active path. Never null; a plain atomic load on every call.
const kernel_table& active_table() noexcept;
// The active path's name ("avx512", "avx2", "sse2", "neon", "scalar").
const char* active_isa() noexcept;
// attnkern_set_isa: NULL or "auto" = the best usable path.
attnkern_status select_isa(const char* name) noexcept;

}  // namespace kernels
}  // namespace attnkern
