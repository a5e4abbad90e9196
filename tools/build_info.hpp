// The compiler that built the calling program, as "g++ 12.2.0" or "clang 14.0.6": written into
// attnkern-bench's JSON context and attnkern-numerics' fingerprints.
#pragma once

#include <string>

namespace attnkern_tools {

inline std::string compiler_description() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace attnkern_tools
