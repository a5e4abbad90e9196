#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan, in build-fuzz/) and runs each for
# FUZZ_SECONDS (default 40; six targets, two at a time: 2 minutes in all) on a copy of its seed corpus in
# fuzz/corpus/<target>/ (the repository's corpus is read, never written). Any finding fails: the
# input is kept in build-fuzz/findings/ and the target's message printed. So does a run that
# executed fewer inputs than its floor (below): a target that got slow, or stopped early, tests
# little while its time passes. New inputs the run found are left in build-fuzz/corpus/ (merge them
# into fuzz/corpus/ with the target's -merge=1 when they add coverage).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-40}
build="$root/build-fuzz"
# The least number of inputs per second of FUZZ_SECONDS each target must execute (seed corpus
# included): about a fifth of what a 40 s run reached on a 2-core AMD EPYC (Zen 4) that was
# building other things at the same time (2026-12-07; docs/tools.md has the figures; two targets
# now run side by side, each on its own core). A target
# whose inputs grew tenfold slower, or that stopped early, falls below it; a run under twice that
# load stayed 3.4 to 4.6 times above it.
declare -A floor=([tanh]=10000 [softmax]=3600 [attention]=650 [sdpa]=200 [attention_api]=50 [merge]=60)
for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (tools/setup.sh installs clang and libclang-rt-14-dev)" >&2; exit 1; }
done
CC=clang CXX=clang++ ATTNKERN_BUILD_DIR="$build" \
  ATTNKERN_CMAKE_ARGS="-DATTNKERN_FUZZ=ON -DBUILD_SHARED_LIBS=OFF -DATTNKERN_BUILD_TESTS=OFF -DATTNKERN_BUILD_BENCH=OFF -DATTNKERN_BUILD_TOOLS=OFF" \
  "$root/tools/build.sh"
mkdir -p "$build/findings"
# fuzz_one TARGET: one target's run and its checks (a finding, or too few inputs, fails it)
fuzz_one() {
  local target=$1 work="$build/corpus/$1" log="$build/fuzz-$1.log" runs cov least
  rm -rf "$work"
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds} s on $(ls "$root/fuzz/corpus/$target" | wc -l) seed inputs ..."
  if ! "$build/fuzz/attnkern-fuzz-$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/findings/$target-" \
      "$work" "$root/fuzz/corpus/$target" >"$log" 2>&1; then
    grep -E "attnkern fuzz:|ERROR|SUMMARY|runtime error" "$log" | head -20 >&2 || true
    echo "fuzz: $target FAILED; the input is in $build/findings/ (full log: $log)" >&2
    return 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o "cov: [0-9]*" "$log" | tail -1)
  least=$((floor[$target] * seconds))
  if [ -z "$runs" ] || [ "$runs" -lt "$least" ]; then
    echo "fuzz: $target FAILED: it executed ${runs:-no} inputs in $seconds s, fewer than its floor of $least (${floor[$target]} a second; full log: $log)" >&2
    return 1
  fi
  echo "fuzz: $target passed: $runs inputs (floor $least), $cov"
}
# Two targets at a time, one per core (each target is one process on one thread): 2 minutes, not 4.
status=0
for pair in "tanh softmax" "attention sdpa" "attention_api merge"; do
  read -r first second <<<"$pair"
  fuzz_one "$first" &
  one=$!
  fuzz_one "$second" || status=1
  wait "$one" || status=1
  [ $status = 0 ] || exit 1
done
