// The scalar path's scratch for the references' scores (reference.hpp takes it as an argument): per
// thread, grown and never shrunk, so that a shape seen once allocates nothing on later calls.
#pragma once

#include <cstddef>
#include <vector>

namespace attnkern {
namespace kernels {

inline double* reference_scratch(std::size_t n) {
  thread_local std::vector<double> scratch;
  if (scratch.size() < n) scratch.resize(n);
  return scratch.data();
}

}  // namespace kernels
}  // namespace attnkern
