// attnkern's C++ API: thin inline wrappers over the C API (attnkern.h) that throw attnkern::error
// instead of returning a status. Header-only; link attnkern::attnkern as for the C API.
#pragma once

#include <attnkern/attnkern.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace attnkern {

// Thrown by every wrapper whose C function returned a status other than ATTNKERN_OK. what() is the
// failure in full (attnkern_last_error_message(): the function, the argument and its value).
class error : public std::runtime_error {
 public:
  explicit error(attnkern_status status) : error(status, attnkern_status_message(status)) {}
  error(attnkern_status status, const char* message) : std::runtime_error(message), status_(status) {}
  attnkern_status status() const noexcept { return status_; }

 private:
  attnkern_status status_;
};

// Throws attnkern::error for a status other than ATTNKERN_OK; call it right after the failing C call
// (on the same thread), so that the message is that call's.
inline void check(attnkern_status status) {
  if (status == ATTNKERN_OK) return;
  const char* message = attnkern_last_error_message();
  throw error(status, *message ? message : attnkern_status_message(status));
}

inline std::string version() { return attnkern_version(); }
inline std::string isa() { return attnkern_isa(); }
// The paths this build can run on this CPU, best first (attnkern_isa_list, split at its spaces).
inline std::vector<std::string> isa_list() {
  std::vector<std::string> names;
  const std::string list = attnkern_isa_list();
  for (std::size_t at = 0; at < list.size();) {
    const std::size_t end = list.find(' ', at) == std::string::npos ? list.size() : list.find(' ', at);
    names.push_back(list.substr(at, end - at));
    at = end + 1;
  }
  return names;
}
inline void set_isa(const char* name) { check(attnkern_set_isa(name)); }
inline void set_num_threads(int n) noexcept { attnkern_set_num_threads(n); }
inline int num_threads() noexcept { return attnkern_num_threads(); }
// Where the parallel work runs: "pool" (the default), "openmp", "auto"; threading_mode() also
// answers "external" while the caller's pool (attnkern_set_thread_pool) is set.
inline void set_threading(const char* mode) { check(attnkern_set_threading(mode)); }
inline std::string threading_mode() { return attnkern_threading_mode(); }

// y[i] = tanh(x[i]) for i < n; y may equal x.
inline void tanh(const float* x, float* y, std::size_t n) { check(attnkern_tanh_f32(x, y, n)); }

// Row-wise softmax and log-softmax of a rows x cols row-major matrix; y may equal x.
inline void softmax(const float* x, float* y, std::size_t rows, std::size_t cols) {
  check(attnkern_softmax_f32(x, y, rows, cols));
}
inline void log_softmax(const float* x, float* y, std::size_t rows, std::size_t cols) {
  check(attnkern_log_softmax_f32(x, y, rows, cols));
}

// Attention on strided tensors (attnkern.h: attnkern_attention_args, zeroed with
// attnkern_attention_args_init), and the merge of two partial results.
inline void attention(const attnkern_attention_args& args) { check(attnkern_attention(&args)); }
inline void attention_merge(const attnkern_merge_args& args) { check(attnkern_attention_merge(&args)); }

}  // namespace attnkern
