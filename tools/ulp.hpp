// The ULP error used everywhere in attnkern (docs/numerics.md): |y - ref| / 2^(floor(log2|ref|) - 23),
// ref the float64 value (not rounded to float first), the spacing never below 2^-149.
// Shared by the accuracy tool, the tests and the benchmark's accuracy column.
#pragma once

#include <algorithm>
#include <cmath>

namespace attnkern_tools {

inline double ulp_error(float y, double ref) {
  if (std::isnan(ref)) return std::isnan(y) ? 0.0 : INFINITY;
  if (std::isinf(ref)) return y == ref ? 0.0 : INFINITY;
  if (ref == 0) return y == 0 ? 0.0 : INFINITY;
  int exponent;
  std::frexp(ref, &exponent);  // |ref| = m 2^exponent with m in [0.5, 1): floor(log2|ref|) = exponent - 1
  const double spacing = std::ldexp(1.0, std::max(exponent - 1 - 23, -149));
  return std::fabs(static_cast<double>(y) - ref) / spacing;
}

}  // namespace attnkern_tools
