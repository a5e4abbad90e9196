#!/usr/bin/env bash
# attnkern-numerics:
#   - a fingerprint recorded now equals the one kept in tests/data/numerics_fingerprint.json (recorded
#     on the reference machine): any change of the kernels' output bits fails here. A deliberate
#     change records it again in the same commit, with the reason in the message:
#       build/tools/attnkern-numerics record --out tests/data/numerics_fingerprint.json
#     (a path this CPU lacks, e.g. avx512, is listed as "only in A" and does not count);
#   - compare's exit status on fingerprints crafted from it: 0 identical, 1 changed within the bound,
#     2 worse than the bound, 3 on bad input; its table's columns aligned, long numbers included;
#   - --help: the usage on stdout, exit 0; every usage error (record's and compare's): exit 3 with a
#     message naming the argument at fault.
# Usage: numerics_test.sh ATTNKERN_NUMERICS
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tool=$1
python=${PYTHON:-python3}
kept="$root/tests/data/numerics_fingerprint.json"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "numerics_test: $*" >&2; exit 1; }

"$tool" record --out "$tmp/now.json" 2>/dev/null || fail "record failed"
set +e
"$tool" compare "$kept" "$tmp/now.json" >"$tmp/out"; status=$?
set -e
cat "$tmp/out"
[ $status -eq 0 ] || fail "the numerics changed against tests/data/numerics_fingerprint.json (exit $status); if that is deliberate, record it again (see this script's header)"

# crafted: one hash changed; one result beyond its bound; one path missing
"$python" - "$kept" "$tmp" <<'PY'
import json, sys
kept, tmp = sys.argv[1], sys.argv[2]
base = json.load(open(kept))
changed = json.loads(json.dumps(base))
changed["results"][1]["hash"] = "0" * 16
changed["results"][1]["max_error"] = 1.23456789e-123  # a long number in a "changed, within bound" row
changed["results"][1]["mean_error"] = 9.87654321e-100
json.dump(changed, open(f"{tmp}/changed.json", "w"))
worse = json.loads(json.dumps(changed))
worse["results"][2]["worst_of_bound"] = 1.5
worse["results"][2]["hash"] = "1" * 16
json.dump(worse, open(f"{tmp}/worse.json", "w"))
fewer = json.loads(json.dumps(base))
fewer["results"] = [r for r in fewer["results"] if r["path"] != "scalar"]
json.dump(fewer, open(f"{tmp}/fewer.json", "w"))
json.dump({"format": "something else", "results": []}, open(f"{tmp}/other.json", "w"))
PY
expect() {
  local want=$1; shift
  set +e; "$tool" compare "$@" >"$tmp/out" 2>&1; local got=$?; set -e
  [ $got -eq "$want" ] || { cat "$tmp/out" >&2; fail "compare $*: exit $got, expected $want"; }
}
expect 0 "$kept" "$kept"
expect 1 "$kept" "$tmp/changed.json"
grep -q "changed, within bound" "$tmp/out" || fail "no 'changed, within bound' row"
grep -q " -> " "$tmp/out" || fail "the error statistics are not shown as before -> after"
# every cell of the table starts where its column's heading does (cells: runs of words one space apart)
"$python" - "$tmp/out" <<'PY' || { cat "$tmp/out" >&2; fail "compare's table: a cell overflows its column"; }
import re, sys
lines = open(sys.argv[1]).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("kernel "))
cell = re.compile(r"\S+(?: \S+)*")
columns = [m.start() for m in cell.finditer(lines[start])]
assert len(columns) == 6, lines[start]
rows = 0
for line in lines[start + 1:]:
    if not line:
        break
    starts = [m.start() for m in cell.finditer(line)]
    cells = 3 if " only in " in line else 6  # (a result in one file only has no statistics)
    if starts != columns[:cells]:
        sys.exit(f"misaligned: {line!r}")
    rows += 1
assert rows > 0
PY
expect 2 "$kept" "$tmp/worse.json"
grep -q "WORSE than the bound" "$tmp/out" || fail "no 'WORSE than the bound' row"
expect 0 "$kept" "$tmp/fewer.json"
grep -q "only in A" "$tmp/out" || fail "a missing path is not listed"
expect 3 "$kept" "$tmp/missing.json"
expect 3 "$kept" "$root/tests/data/README.md"
expect 3 "$kept" "$tmp/other.json"
expect 3 "$kept"

set +e; "$tool" --help >"$tmp/out" 2>"$tmp/err"; status=$?; set -e
[ $status -eq 0 ] && grep -q "^usage: attnkern-numerics" "$tmp/out" && [ ! -s "$tmp/err" ] ||
  fail "--help: exit $status, or no usage on stdout, or something on stderr"
usage_error() {  # NAMED ARGS...: exit 3, NAMED in the message on stderr
  local named=$1; shift
  set +e; "$tool" "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?; set -e
  [ $got -eq 3 ] && grep -qF -- "$named" "$tmp/err" || { cat "$tmp/err" >&2; fail "$*: exit $got (expected 3), or the message does not name $named"; }
}
usage_error "'--bogus'" record --bogus
usage_error "'stray'" record --out "$tmp/x.json" stray
usage_error "--out" record --out
usage_error "'--bogus'" compare --bogus "$kept" "$kept"
usage_error "'--bogus'" compare "$kept" "$kept" --bogus
usage_error "'third'" compare "$kept" "$kept" third
usage_error "'frobnicate'" frobnicate
[ ! -e "$tmp/x.json" ] || fail "record wrote a file despite a usage error"
echo "numerics_test: passed"
