#!/usr/bin/env bash
# attnkern-examples: exits 0 (every result within its tolerance); the attnkern rows it prints for
# the word example (row-wise and whole-matrix outputs) and the Bahdanau step (weights, context)
# match the golden files within their documented bounds (include/attnkern/bounds.hpp, read through
# tools/check_bound_quotes.py: golden_tolerance for the word example; for the step
# additive_attention_max_error(||v||_1), each weight relative and the context times max|values|, plus
# attention_abs_floor), plus half a unit of the last printed digit; it says why the two word results
# differ; --plot writes a labelled PNG per heatmap (when matplotlib is installed); bad usage exits 2.
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

"$python" - "$root/tools" "$root/tests/data" "$tmp/out" "$root/include/attnkern/bounds.hpp" "$(dirname "$tool")/../python" <<'PY'
import pathlib
import struct
import sys

sys.path.insert(0, sys.argv[1])
from check_bound_quotes import definitions  # the constants of bounds.hpp, its one definition

bounds = definitions(pathlib.Path(sys.argv[4]))


def additive_attention_max_error(v_l1):
    """bounds.hpp's additive_attention_max_error: max(base, per_v ||v||_1)."""
    return max(bounds["additive_attention_base_error"], bounds["additive_attention_error_per_v"] * v_l1)


def f32(x):
    """x rounded to float32, as attnkern-examples gives it to the kernel."""
    return struct.unpack("f", struct.pack("f", x))[0]


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
    """The attnkern values printed under the table whose title starts with `title`, each with half a unit
    of its last printed digit (what the printing may have moved it by)."""
    block = out.split("\n" + title, 1)[1].split("\n\n", 1)[0]
    tokens = [t for l in block.splitlines() if l.startswith("  attnkern")
              for t in l.split("[", 1)[1].rstrip("]").replace("...", "").split()]
    return [(float(t), 0.5 * 10.0 ** -len(t.split(".")[1]) if "." in t else 0.0) for t in tokens]

words = golden(f"{sys.argv[2]}/sdpa_words.txt")
step = golden(f"{sys.argv[2]}/bahdanau_step.txt")
# the Bahdanau step's bound, from the float32 values the kernel reads
bound = additive_attention_max_error(sum(abs(f32(x)) for x in step["v"]))
max_values = max(abs(f32(x)) for x in step["encoder_outputs"])
floor = bounds["attention_abs_floor"]
checks = [("attention output, row by row", words["attention_rowwise"], lambda w: bounds["golden_tolerance"]),
          ("attention output as the notebook printed it", words["attention_whole_matrix"],
           lambda w: bounds["golden_tolerance"]),
          ("attention weights (1 x 4)", step["weights"], lambda w: bound * abs(w) + floor),
          ("context vector (1 x 3)", step["context"], lambda w: bound * max_values + floor)]
# where the Python module is built beside the tool (not another one on the path), its bound, compiled from
# bounds.hpp, must agree with the one written out above
if pathlib.Path(sys.argv[5], "attnkern", "bounds.py").is_file():
    sys.path.insert(0, sys.argv[5])
    try:
        import attnkern.bounds
    except ImportError:
        pass
    else:
        assert attnkern.bounds.additive_attention_max_error(sum(abs(f32(x)) for x in step["v"])) == bound, \
            "additive_attention_max_error here differs from bounds.hpp's (attnkern.bounds)"
for title, want, allowed in checks:
    got = printed(title)
    assert len(got) == len(want), f"{title}: {len(got)} values printed, {len(want)} expected"
    for i, ((g, half), w) in enumerate(zip(got, want)):
        assert abs(g - w) <= allowed(w) + half, \
            f"{title}: printed value {i} is {g}, the golden file's {w}: off by {abs(g - w):.3g}, allowed {allowed(w) + half:.3g}"
print(f"examples_test: {len(checks)} printed results match the golden files within their bounds")
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
