// attnkern's C++ API: thin inline wrappers over the C API (attnkern.h) that throw attnkern::error
// instead of returning a status. Header-only; link attnkern::attnkern as for the C API.
#pragma once

#include <attnkern/attnkern.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace attnkern {

// Thrown by every wrapper whose C function returned a status other than ATTNKERN_OK.
class error : public std::runtime_error {
 public:
  explicit error(attnkern_status status)
      : std::runtime_error(attnkern_status_message(status)), status_(status) {}
  attnkern_status status() const noexcept { return status_; }

 private:
  attnkern_status status_;
};

inline void check(attnkern_status status) {
  if (status != ATTNKERN_OK) throw error(status);
}

inline std::string version() { return attnkern_version(); }
inline std::string isa() { return attnkern_isa(); }
inline void set_isa(const char* name) { check(attnkern_set_isa(name)); }
inline void set_num_threads(int n) noexcept { attnkern_set_num_threads(n); }
inline int num_threads() noexcept { return attnkern_num_threads(); }

// y[i] = tanh(x[i]) for i < n; y may equal x.
inline void tanh(const float* x, float* y, std::size_t n) { check(attnkern_tanh_f32(x, y, n)); }

// Row-wise softmax and log-softmax of a rows x cols row-major matrix; y may equal x.
inline void softmax(const float* x, float* y, std::size_t rows, std::size_t cols) {
  check(attnkern_softmax_f32(x, y, rows, cols));
}
inline void log_softmax(const float* x, float* y, std::size_t rows, std::size_t cols) {
  check(attnkern_log_softmax_f32(x, y, rows, cols));
}

}  // namespace attnkern
