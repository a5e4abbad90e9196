// The (max, sum) pair of a piece of a softmax row, and how two pieces merge. Used by the per-ISA
// kernels (between blocks) and by the driver (between chunks, in chunk order).
#pragma once

#include "simd/isa_namespace.hpp"

#include <cmath>
#include <limits>

namespace attnkern {
namespace kernels {

// The max and the sum of e^(x - max) of a piece of a row. sum is NaN when the piece holds a NaN;
// max is -inf (and sum 0) when the piece holds only -inf.
struct softmax_stats {
  float max;
  double sum;
};

inline namespace ATTNKERN_ISA_NAMESPACE {  // (kernels/simd/isa_namespace.hpp)

// Merges piece b into piece a, in double.
inline softmax_stats merge_stats(softmax_stats a, softmax_stats b) noexcept {
  if (std::isnan(a.sum) || std::isnan(b.sum)) return {std::numeric_limits<float>::quiet_NaN(), NAN};
  if (b.max == -INFINITY) return a;
  if (a.max == -INFINITY) return b;
  if (b.max > a.max) return {b.max, a.sum * std::exp(static_cast<double>(a.max) - b.max) + b.sum};
  return {a.max, a.sum + b.sum * std::exp(static_cast<double>(b.max) - a.max)};
}

// Whether a row's output is a constant whatever its values: NaN everywhere when it holds a NaN or
// a +inf, zeros (log: -inf) when it holds only -inf. Sets `value` then.
inline bool constant_row(bool has_nan, float max, bool log, float& value) noexcept {
  if (has_nan || max == INFINITY) {
    value = std::numeric_limits<float>::quiet_NaN();
    return true;
  }
  if (max == -INFINITY) {
    value = log ? -INFINITY : 0.0f;
    return true;
  }
  return false;
}

}  // namespace ATTNKERN_ISA_NAMESPACE
}  // namespace kernels
}  // namespace attnkern
