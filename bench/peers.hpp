// The peers the tanh benchmark compares against, each an array function y[0..n) = tanh(x[0..n)).
// Built only when the peer is installed (bench/CMakeLists.txt prints a note for each one missing).
#pragma once

#include <cstddef>
#include <vector>

namespace attnkern_bench {

using array_fn = void (*)(const float* x, float* y, std::size_t n);

struct peer {
  const char* id;       // in benchmark names: tanh/<id>/<n>/threads:<t>
  const char* name;     // as shown in the table
  const char* algorithm;
  array_fn run;
  bool needs_avx2;      // compiled with -mavx2 -mfma: only run on CPUs that have them
  bool own_threads;     // threads itself (OpenMP's thread count); the others are split by the harness
};

// Every peer compiled into this binary, in table order.
std::vector<peer> tanh_peers();
// The part of it built with -mavx2 -mfma (peers_avx2.cpp; empty off x86).
std::vector<peer> avx2_tanh_peers();

}  // namespace attnkern_bench
