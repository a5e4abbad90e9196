#!/usr/bin/env bash
# The report from a real, short run of attnkern-bench (a few benchmarks, 3 quick repetitions):
#   - every attnkern and peer row of the Markdown tables shows the JSON's median (rate and time,
#     formatted as tools/bench_report.py formats them), and each row's ceiling is the probe's median;
#   - the summary printed is the report's summary;
#   - the plots are written and non-empty (when matplotlib is installed);
#   - attnkern-latency's table (a short run) is in the report, all 45 rows (5 competitions x 3
#     threading modes x 3 calls);
#   - bench/python_bench.py's tables (a quick run) are in the report (when the Python module was
#     built: ATTNKERN_PYTHON_DIR and ATTNKERN_MODULE_PYTHON set);
#   - the binary refuses an unknown kernel (exit 2), and the report refuses a file that is not JSON.
# Usage: bench_report_test.sh BENCH_BINARY
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$1
python=${PYTHON:-python3}
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then python=/usr/bin/python3; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "bench_report_test: $*" >&2; exit 1; }

"$bench" --kernels=tanh,attention_pool,sdpa --benchmark_min_time=0.001 --benchmark_repetitions=3 \
  --benchmark_filter='roofline/(read|read_write)/(L1|L2)/|roofline/fma|tanh/(attnkern|eigen|std_tanh)/1024/|attention_pool/(attnkern|unfused)/32x60x128/|sdpa/(attnkern|unfused_openblas)/16x64x32/' \
  --benchmark_out="$tmp/benchmark.json" --benchmark_out_format=json 2>"$tmp/progress" || fail "attnkern-bench failed: $(cat "$tmp/progress")"
grep -q "bench: .* benchmarks in" "$tmp/progress" || fail "no progress output: $(cat "$tmp/progress")"
# attnkern-latency, short, into the report folder, as tools/bench.sh runs it
mkdir -p "$tmp/report"
"$(dirname "$bench")/attnkern-latency" --calls 100 --json "$tmp/report/latency.json" >"$tmp/latency.md" 2>"$tmp/latency-progress" ||
  fail "attnkern-latency failed: $(cat "$tmp/latency-progress")"
[ "$(grep -c '^latency: \[' "$tmp/latency-progress")" = 45 ] || fail "attnkern-latency showed no progress per row"
if [ -n "${ATTNKERN_PYTHON_DIR:-}" ]; then
  PYTHONPATH="$ATTNKERN_PYTHON_DIR" "$ATTNKERN_MODULE_PYTHON" "$root/bench/python_bench.py" --quick --rounds 2 \
    --json "$tmp/report/python.json" >"$tmp/python-bench" 2>&1 || fail "python_bench.py failed: $(cat "$tmp/python-bench")"
fi
"$python" "$root/tools/bench_report.py" "$tmp/benchmark.json" --out "$tmp/report" >"$tmp/summary" 2>"$tmp/report-stderr" ||
  fail "bench_report.py failed: $(cat "$tmp/report-stderr")"
if [ -n "${ATTNKERN_PYTHON_DIR:-}" ]; then
  grep -q "^## Python" "$tmp/report/report.md" || fail "the report has no Python section"
  [ "$(grep -c '^| \(softmax\|tanh\) [0-9]*×[0-9]* | ' "$tmp/report/report.md")" = 4 ] || fail "the Python overhead table does not have its 4 rows"
  [ "$(grep -c '^| \(sdpa_words\|attention_pool_batch\|bahdanau_step\|additive_mlp\) | ' "$tmp/report/report.md")" = 4 ] ||
    fail "the Python speed-up table does not have its 4 rows"
fi
grep -q "^## Latency of small calls" "$tmp/report/report.md" || fail "the report has no latency section"
[ "$(grep -c '^| \(alone\|spinning pool\|busy core\|other OpenMP process\|own OpenMP regions\) | ' "$tmp/report/report.md")" = 45 ] ||
  fail "the report's latency table does not have its 45 rows"

"$python" - "$root/tools" "$tmp/benchmark.json" "$tmp/report/report.md" "$tmp/summary" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
import bench_report as br

data = json.load(open(sys.argv[2]))
report = open(sys.argv[3]).read()
summary = open(sys.argv[4]).read().strip()
r = br.Results(data)
errors, checked = [], 0
medians = [b for b in data["benchmarks"] if b.get("aggregate_name") == "median"]
for b in medians:
    kernel, impl, shape, threads = b["run_name"].replace("/real_time", "").split("/")
    if kernel == "roofline":
        continue
    t = int(threads.split(":")[1])
    spec = br.KERNELS[kernel]
    rate = br.fmt(b[spec["metric"]] * 1e-9)
    # the table of this kernel and thread count, and the row of this shape in it
    section = report.split(f"### {kernel}, {t} thread{'s' if t > 1 else ''}\n", 1)
    if len(section) != 2:
        errors.append(f"no table for {kernel} on {t} threads"); continue
    table = section[1].strip().split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith(f"| {shape} |")]
    if len(rows) != 1:
        errors.append(f"{kernel} {shape} {t}: {len(rows)} rows"); continue
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    if impl == "attnkern":
        unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        if cells[1] != br.fmt_time(b["real_time"] * unit) or cells[2] != rate:
            errors.append(f"{b['run_name']}: report {cells[1:3]}, JSON {br.fmt_time(b['real_time'] * unit)}, {rate}")
        label, ceiling = r.ceiling(kernel, shape, t)
        probe = next(x for x in medians if x["run_name"].startswith(
            "roofline/fma/peak/" if label == "FMA peak" else
            f"roofline/{'read_write' if 'write' in label else 'read'}/{label.split()[0]}/") and f"threads:{t}/" in x["run_name"])
        probe_rate = probe["flops" if label == "FMA peak" else "bytes_per_second"] * 1e-9
        expected = f"{br.fmt_percent(b[spec['metric']] * 1e-9 / probe_rate)} of {label}"
        if cells[3] != expected:
            errors.append(f"{b['run_name']}: ceiling cell {cells[3]!r}, expected {expected!r}")
    else:
        name = r.name(kernel, impl)
        header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
        if name not in header:
            errors.append(f"{b['run_name']}: no column {name!r} in {header}"); continue
        if cells[header.index(name)] != rate:
            errors.append(f"{b['run_name']}: report {cells[header.index(name)]}, JSON {rate}")
    checked += 1
if summary not in report:
    errors.append("the printed summary is not the report's")
if checked < 8:
    errors.append(f"only {checked} rows checked")
print(f"bench_report_test: {checked} rows match the JSON")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

if "$python" -c "import matplotlib" 2>/dev/null; then
  for plot in tanh attention_pool sdpa speedup scaling; do
    [ -s "$tmp/report/plots/$plot.png" ] || fail "plots/$plot.png missing or empty"
    grep -q "plots/$plot.png" "$tmp/report/report.md" || fail "report.md does not show plots/$plot.png"
  done
else
  echo "bench_report_test: matplotlib not installed, plots not checked"
fi

set +e
"$bench" --kernels=tanh,nonesuch >/dev/null 2>&1; status=$?
[ $status -eq 2 ] || fail "an unknown kernel: exit status $status, expected 2"
"$python" "$root/tools/bench_report.py" "$root/tests/data/README.md" --out "$tmp/bad" 2>/dev/null; status=$?
[ $status -eq 2 ] || fail "a file that is not JSON: exit status $status, expected 2"
[ ! -e "$tmp/bad" ] || fail "a report folder was written for bad input"
echo "bench_report_test: passed"
