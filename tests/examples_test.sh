#!/usr/bin/env bash
# attnkern-examples: exits 0 (every result within its tolerance); the attnkern rows it prints for
# the word example (row-wise and whole-matrix outputs) and the Bahdanau step (weights, context)
# match the golden files within 1e-6 as printed; it says why the two word results differ; --plot
# writes a labelled PNG per heatmap (when matplotlib is installed); bad usage exits 2.
# Usage: examples_test.sh ATTNKERN_EXAMPLES
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tool=$1
python=${PYTHON:-python3}
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then python=/usr/bin/python3; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "examples_test: $*" >&2; exit 1; }

"$tool" >"$tmp/out" || { cat "$tmp/out" >&2; fail "exit status $?"; }
grep -q "every result is within its tolerance" "$tmp/out" || fail "no verdict line"
grep -q "without axis=" "$tmp/out" || fail "the word example does not say why its two results differ"

"$python" - "$root/tools" "$root/tests/data" "$tmp/out" <<'PY'
import sys

def golden(path):
    arrays, lines = {}, [l for l in open(path) if l.strip() and not l.startswith("#")]
    i = 0
    while i < len(lines):
        name, rows, cols = lines[i].split()
        arrays[name] = [float(v) for l in lines[i + 1:i + 1 + int(rows)] for v in l.split()]
        i += 1 + int(rows)
    return arrays

out = open(sys.argv[3]).read()
def printed(title):
    """The attnkern rows printed under the table whose title starts with `title`."""
    block = out.split("\n" + title, 1)[1].split("\n\n", 1)[0]
    return [float(v) for l in block.splitlines() if l.startswith("  attnkern")
            for v in l.split("[", 1)[1].rstrip("]").replace("...", "").split()]

words = golden(f"{sys.argv[2]}/sdpa_words.txt")
step = golden(f"{sys.argv[2]}/bahdanau_step.txt")
checks = [("attention output, row by row", words["attention_rowwise"]),
          ("attention output as the notebook printed it", words["attention_whole_matrix"]),
          ("attention weights (1 x 4)", step["weights"]),
          ("context vector (1 x 3)", step["context"])]
for title, want in checks:
    got = printed(title)
    assert len(got) == len(want), f"{title}: {len(got)} values printed, {len(want)} expected"
    worst = max(abs(g - w) for g, w in zip(got, want))
    assert worst <= 1e-6, f"{title}: printed values differ from the golden file by {worst}"
print(f"examples_test: {len(checks)} printed results match the golden files")
PY

if "$python" -c "import matplotlib" 2>/dev/null; then
  "$tool" --plot "$tmp/plots" >/dev/null || fail "--plot failed"
  for png in sdpa_words_rowwise sdpa_words_whole_matrix attention_pool_int attention_pool_normal bahdanau_step additive_mlp; do
    [ -s "$tmp/plots/$png.png" ] || fail "--plot did not write $png.png"
  done
else
  echo "examples_test: matplotlib not installed, --plot not checked"
fi

set +e
"$tool" --bogus >/dev/null 2>&1; status=$?
[ $status -eq 2 ] || fail "an unknown argument: exit $status, expected 2"
"$tool" --data "$tmp/nowhere" >/dev/null 2>&1; status=$?
[ $status -eq 2 ] || fail "a missing data folder: exit $status, expected 2"
echo "examples_test: passed"
