#!/usr/bin/env bash
# The main job: installs what is missing, builds what is stale (Release, in build/), checks tanh's
# accuracy exhaustively on every ISA path, then benchmarks it beside its peers and prints the tables.
# Arguments go to the benchmark (Google Benchmark flags, e.g. --benchmark_filter=eigen|attnkern).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
echo "== tanh accuracy, all 2^32 inputs, every ISA path (attnkern-ulp) =="
"$root/build/tools/attnkern-ulp" --function tanh
echo
echo "== exp (softmax's building block) accuracy, every x <= 0, every ISA path (attnkern-ulp) =="
"$root/build/tools/attnkern-ulp" --function exp
echo
echo "== tanh throughput beside its peers (attnkern-bench-tanh) =="
"$root/build/bench/attnkern-bench-tanh" "$@"
