// Roofline probes (bench/probes.cpp), split over `threads` OpenMP threads: streaming bandwidth, and
// the FMA peak.
#pragma once

#include <cstddef>

namespace attnkern_bench {

// y[i] = x[i] * c: one read and one write per element, as a single-pass kernel would do.
void probe_read_write(const float* x, float* y, std::size_t n, int threads);
// The sum of x: one read per element.
float probe_read(const float* x, std::size_t n, int threads);
// `rounds` rounds of 12 independent float FMA chains per thread, in the widest vectors the CPU has
// (AVX-512F, else AVX2 + FMA; elsewhere plain multiply-adds the compiler vectorizes as it can).
// Returns the floating-point operations done (2 per lane per FMA), for a FLOP/s rate.
double probe_fma(std::size_t rounds, int threads);

}  // namespace attnkern_bench
