// Streaming bandwidth probes (bench/probes.cpp), split over `threads` OpenMP threads.
#pragma once

#include <cstddef>

namespace attnkern_bench {

// y[i] = x[i] * c: one read and one write per element, as a single-pass kernel would do.
void probe_read_write(const float* x, float* y, std::size_t n, int threads);
// The sum of x: one read per element.
float probe_read(const float* x, std::size_t n, int threads);

}  // namespace attnkern_bench
