#!/usr/bin/env bash
# The main job: installs what is missing, builds what is stale (Release, in build/), checks tanh's
# accuracy exhaustively on every ISA path, then benchmarks tanh, softmax, the fused attention kernels
# and scaled dot-product attention beside their peers and prints the tables. Arguments go to every benchmark (Google
# Benchmark flags, e.g. --benchmark_filter=attnkern). The exhaustive check of softmax's exp runs in
# the tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
echo "== tanh accuracy, all 2^32 inputs, every ISA path (attnkern-ulp) =="
"$root/build/tools/attnkern-ulp" --function tanh
echo
echo "== tanh throughput beside its peers (attnkern-bench-tanh) =="
"$root/build/bench/attnkern-bench-tanh" "$@"
echo
echo "== softmax beside oneDNN and the bandwidth probe (attnkern-bench-softmax) =="
"$root/build/bench/attnkern-bench-softmax" "$@"
echo
echo "== fused attention beside the read probe, the unfused pipeline and the reference (attnkern-bench-attention) =="
"$root/build/bench/attnkern-bench-attention" "$@"
echo
echo "== scaled dot-product attention beside the FMA-peak probe and OpenBLAS's unfused pipeline (attnkern-bench-sdpa) =="
"$root/build/bench/attnkern-bench-sdpa" "$@"
