// Roofline probes (bench/probes.cpp), split over `threads` OpenMP threads: streaming bandwidth, and
// the FMA peak; registered as benchmarks of the sweep by register_roofline (bench_common.hpp).
#pragma once

#include <cstddef>

namespace attnkern_bench {

// y[i] = x[i] * c: one read and one write per element, as a single-pass kernel would do; `passes`
// times over the array inside one parallel region (so that a cache-sized array is not timed
// against the cost of forking threads).
void probe_read_write(const float* x, float* y, std::size_t n, int threads, int passes = 1);
// The sum of x, `passes` times: one read per element per pass.
float probe_read(const float* x, std::size_t n, int threads, int passes = 1);
// `rounds` rounds of 12 independent float FMA chains per thread, in the widest vectors the CPU has
// (AVX-512F, else AVX2 + FMA; elsewhere plain multiply-adds the compiler vectorizes as it can).
// Returns the floating-point operations done (2 per lane per FMA), for a FLOP/s rate.
double probe_fma(std::size_t rounds, int threads);

// The data caches of CPU 0 in bytes, from Linux's sysfs (else sysconf, else 32K / 1M / 32M);
// l1d and l2 are each core's own, l3 the one shared.
struct cache_sizes {
  std::size_t l1d, l2, l3;
};
cache_sizes caches();

}  // namespace attnkern_bench
