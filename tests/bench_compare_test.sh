#!/usr/bin/env bash
# tools/bench_compare.py on crafted Google Benchmark files (tests/data/bench_compare/): one benchmark
# 20% slower with 1.4% noise (flagged), one 2% slower (within --min-change), one twice as fast in
# another time unit (flagged), one without repetitions (no noise estimate), one in the first file only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tool=("${PYTHON:-python3}" "$root/tools/bench_compare.py")
data="$root/tests/data/bench_compare"
fail() { echo "bench_compare_test: $*" >&2; echo "$out" >&2; exit 1; }

out=$("${tool[@]}" "$data/before.json" "$data/after.json") || fail "exit status $? without --fail-on-slower"
grep -q '^k/slower .* 1\.200 .*SLOWER$' <<<"$out" || fail "k/slower not flagged"
grep -q '^k/steady .* 1\.020 .* $' <<<"$out" || fail "k/steady flagged"
grep -q '^k/faster .* 0\.500 .*faster$' <<<"$out" || fail "k/faster (us against ns) not flagged"
grep -q '^k/single .* 1\.600 .*n/a *$' <<<"$out" || fail "k/single should have no noise estimate"
grep -q '4 compared, 1 slower and 1 faster beyond the noise; 1 in only one file' <<<"$out" || fail "summary"

set +e
out=$("${tool[@]}" "$data/before.json" "$data/after.json" --fail-on-slower); status=$?
[ $status -eq 1 ] || fail "--fail-on-slower: exit status $status, expected 1"
out=$("${tool[@]}" "$data/before.json" "$data/after.json" --filter steady --fail-on-slower); status=$?
[ $status -eq 0 ] || fail "--filter steady --fail-on-slower: exit status $status, expected 0"
out=$("${tool[@]}" "$data/before.json" "$data/missing.json" 2>&1); status=$?
[ $status -eq 2 ] || fail "a missing file: exit status $status, expected 2"
out=$("${tool[@]}" "$data/before.json" "$root/tests/data/README.md" 2>&1); status=$?
[ $status -eq 2 ] || fail "a file that is not JSON: exit status $status, expected 2"
echo "bench_compare_test: passed"
