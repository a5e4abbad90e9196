// attnkern's scalar references: plain code written for clarity, not speed, templated on the float
// type. With T = float they are the library's "scalar" ISA path (attnkern_set_isa("scalar")); with
// T = double they are the oracle the tests and tools measure every path's error against.
// Header-only and independent of the library: include it on its own.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

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

namespace detail {
// Sums in a wider type than T: double for float, long double for double (the oracle), so that rows
// of 10^7 and more lose nothing that matters to the 1e-6 bound.
template <class T>
using wider_t = typename std::conditional<(sizeof(T) < sizeof(double)), double, long double>::type;

template <class T>
void softmax_row(const T* x, T* y, std::size_t n, bool log) {
  using W = wider_t<T>;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) {  // a NaN anywhere makes the row NaN
      for (std::size_t j = 0; j < n; ++j) y[j] = nan;
      return;
    }
    if (x[i] > m) m = x[i];
  }
  if (m == std::numeric_limits<T>::infinity()) {  // so does +inf (inf - inf)
    for (std::size_t j = 0; j < n; ++j) y[j] = nan;
    return;
  }
  if (m == -std::numeric_limits<T>::infinity()) {  // only -inf: zeros (log: -inf), never NaN
    for (std::size_t j = 0; j < n; ++j) y[j] = log ? -std::numeric_limits<T>::infinity() : T(0);
    return;
  }
  W sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(static_cast<W>(x[i]) - static_cast<W>(m));
  const W log_sum = std::log(sum);
  for (std::size_t i = 0; i < n; ++i) {
    const W d = static_cast<W>(x[i]) - static_cast<W>(m);
    y[i] = static_cast<T>(log ? d - log_sum : std::exp(d) / sum);
  }
}
}  // namespace detail

// Row-wise softmax of a rows x cols row-major matrix: y = e^(x - max) / sum e^(x - max), computed
// in T with the sum in a wider type. -inf entries give 0; a row of only -inf gives zeros; a NaN or
// +inf in a row makes the row NaN. y may equal x.
template <class T>
void softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) detail::softmax_row(x + r * cols, y + r * cols, cols, false);
}

// Row-wise log-softmax: y = (x - max) - log sum e^(x - max); -inf where softmax gives 0.
template <class T>
void log_softmax(const T* x, T* y, std::size_t rows, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r) detail::softmax_row(x + r * cols, y + r * cols, cols, true);
}

}  // namespace reference
}  // namespace attnkern
