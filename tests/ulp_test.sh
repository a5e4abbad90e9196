#!/usr/bin/env bash
# attnkern-ulp's command line and report, on sampled runs (well under a second each):
#   - --help prints the usage on stdout and exits 0; an unknown option, a bad value or a missing one
#     exits 2 with a message naming it;
#   - the threshold from which tanh rounds to 1.0f is the exact one (0x1.205968p+3, as the exhaustive
#     run finds) whatever the stride, for float64 tanh and on every path;
#   - the inputs checked = measured + not measured + NaNs, and every path's histogram adds up to the
#     measured ones.
# Usage: ulp_test.sh ATTNKERN_ULP
set -euo pipefail
tool=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "ulp_test: $*" >&2; exit 1; }

set +e
"$tool" --help >"$tmp/out" 2>"$tmp/err"; status=$?
set -e
[ $status -eq 0 ] || fail "--help: exit $status, expected 0"
grep -q "^usage: attnkern-ulp" "$tmp/out" || fail "--help: no usage on stdout"
[ ! -s "$tmp/err" ] || fail "--help: wrote to stderr"

usage_error() {  # ARGS... : exit 2, a message naming $named on stderr, nothing on stdout
  set +e; "$tool" "$@" --quiet >"$tmp/out" 2>"$tmp/err"; local got=$?; set -e
  [ $got -eq 2 ] || { cat "$tmp/err" >&2; fail "$*: exit $got, expected 2"; }
  grep -qF -- "$named" "$tmp/err" || { cat "$tmp/err" >&2; fail "$*: the message does not name '$named'"; }
  [ ! -s "$tmp/out" ] || fail "$*: wrote to stdout"
}
named="'--bogus'" usage_error --bogus
named="'-x'" usage_error --stride 1001 -x
named="'abc'" usage_error --stride abc
named="'0'" usage_error --stride 0
named="--stride" usage_error --stride
named="'sin'" usage_error --function sin
named="'no-such-isa'" usage_error --isa no-such-isa
named="'-1'" usage_error --bound -1

# every row of the histogram adds up to the measured count, and the categories to the inputs checked
check_counts() {  # FILE
  awk -v file="$1" '
    function number(text) { gsub(/,/, "", text); return text + 0 }
    /inputs checked/ { checked = number($4) }
    /^  = / {
      total = 0
      n = split($0, part, " [+=] ")
      for (i = 2; i <= n; ++i) { split(part[i], word, " "); total += number(word[1]) }
      if ($0 ~ / measured /) { split($0, m, " "); measured = number(m[2]) }
    }
    /^\| (avx512|avx2|sse2|neon|scalar) \|/ {
      split($0, cell, "|"); sum = 0
      for (c = 4; c <= 11; ++c) sum += cell[c] + 0
      ++rows
      if (sum != measured) { print file ": " cell[2] " histogram adds up to " sum ", not " measured; bad = 1 }
    }
    END {
      if (!checked || !measured || !rows) { print file ": no counts or no rows"; exit 1 }
      if (total != checked) { print file ": the categories add up to " total ", not " checked; exit 1 }
      exit bad
    }' "$1" >&2
}

for stride in 1001 7919 65537 1000003 4294967296; do
  out="$tmp/tanh-$stride"
  "$tool" --function tanh --stride "$stride" --quiet >"$out" || { cat "$out" >&2; fail "tanh --stride $stride failed"; }
  grep -q "^tanh rounds to 1.0f from x = 0x1.205968p+3 " "$out" || { cat "$out" >&2; fail "tanh --stride $stride: not the exact threshold"; }
  paths=$(grep -cE '^\| (avx512|avx2|sse2|neon|scalar) \|' "$out")
  at_one=$(grep -cE '^\| (avx512|avx2|sse2|neon|scalar) \|.*\| 0x1.205968p\+3 \|' "$out")
  [ "$paths" -gt 0 ] && [ "$at_one" -eq "$paths" ] || { cat "$out" >&2; fail "tanh --stride $stride: a path's first x with y = 1 is not 0x1.205968p+3"; }
  check_counts "$out" || fail "tanh --stride $stride: the counts do not add up"
done
out="$tmp/exp-1001"
"$tool" --function exp --stride 1001 --quiet >"$out" || { cat "$out" >&2; fail "exp --stride 1001 failed"; }
grep -q "not measured (x < ln FLT_MIN" "$out" || { cat "$out" >&2; fail "exp: the inputs below ln FLT_MIN are not counted"; }
check_counts "$out" || fail "exp --stride 1001: the counts do not add up"
echo "ulp_test: passed"
