// attnkern's scalar references: plain code written for clarity, not speed, templated on the float
// type. With T = float they are the library's "scalar" ISA path (attnkern_set_isa("scalar")); with
// T = double they are the oracle the tests and tools measure every path's error against.
// Header-only and independent of the library: include it on its own.
#pragma once

#include <cmath>
#include <cstddef>

namespace attnkern {
namespace reference {

// tanh evaluated in double and rounded once to T: for T = float the result is the correctly rounded
// value except in double-rounding cases (max error 0.5 + 2^-29 ULP); for T = double it is glibc's
// tanh (under 1 double ULP).
template <class T>
T tanh(T x) {
  return static_cast<T>(std::tanh(static_cast<double>(x)));
}

template <class T>
void tanh(const T* x, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = reference::tanh(x[i]);
}

}  // namespace reference
}  // namespace attnkern
