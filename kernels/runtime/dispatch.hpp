// Runtime ISA dispatch (kernels/runtime/dispatch.cpp): which per-ISA table the C API calls.
#pragma once

#include <attnkern/attnkern.h>

#include "isa/kernel_table.hpp"

namespace attnkern {
namespace kernels {

// The table of the active path. Never null; a plain atomic load on every call.
const kernel_table& active_table() noexcept;
// The active path's name ("avx512", "avx2", "sse2", "neon", "scalar").
const char* active_isa() noexcept;
// attnkern_set_isa: NULL or "auto" = the best usable path.
attnkern_status select_isa(const char* name) noexcept;
// The usable paths, best first, separated by spaces ("avx512 avx2 sse2 scalar").
const char* usable_isas() noexcept;
// ATTNKERN_ISA's value (truncated to 60 characters) when it was set, not empty, and ignored because
// it named no usable path; else null.
const char* isa_env_ignored() noexcept;
// Why select_isa(name) refuses `name` (a sentence fragment), or null when it accepts it.
const char* isa_refusal(const char* name) noexcept;
// The table of the path called `name` if this CPU and build can run it, else null. For the tools
// and tests, which run every path side by side without touching the active one.
const kernel_table* usable_table(const char* name) noexcept;

}  // namespace kernels
}  // namespace attnkern
