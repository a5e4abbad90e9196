// The drivers' scratch is the calling thread's (thread_local), grown to the largest need seen and
// never shrunk, so that a shape seen once allocates nothing on later calls; freed when the thread
// exits. It is sized before any work starts: a std::bad_alloc then becomes
// ATTNKERN_ERROR_OUT_OF_MEMORY with nothing written.
#pragma once

#include <cstddef>
#include <vector>

namespace attnkern {
namespace kernels {

// v holds at least n elements afterwards; returns its data. Scratch only: the contents are not kept.
// A vector that must grow is freed first and reallocated at exactly n elements, so that what a thread
// holds is the largest need it has seen (std::vector's geometric growth could keep up to twice that)
// and the old and new blocks never exist at once: a call's peak is its own need (docs/embedding.md, Memory).
template <class T>
T* grow(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) {
    std::vector<T>().swap(v);
    v.resize(n);
  }
  return v.data();
}

}  // namespace kernels
}  // namespace attnkern
