#!/usr/bin/env bash
# The main job: installs what is missing, builds the benchmark (Release, in build/), runs the sweep of
# every kernel beside its peers and the roofline probes with a progress line, then prints a summary
# table and writes the report folder:
#   benchmark.json   Google Benchmark's JSON (every benchmark's median, mean, stddev, cv)
#   report.md        the machine, the roofline, a summary, per kernel a plot and tables, and the
#                    latency of small calls (median, p99, max) on the library's pool, on OpenMP and
#                    on one thread, beside competing loads and the program's own OpenMP (attnkern-latency, about 50 s; latency.json),
#                    and the Python module's call overhead and its speed against the notebooks'
#                    NumPy code and PyTorch (bench/python_bench.py, about 40 s; python.json)
#   plots/*.png      per kernel throughput by size against the ceilings; speed-up over the peers;
#                    thread scaling
#
#   tools/bench.sh [--full] [--kernels=LIST] [--out DIR] [Google Benchmark flags]
#
#   --full          the kernel issues' whole sweeps, and tanh checked on all 2^32 inputs first
#                   (about an hour on 2 cores); default: a quick sweep (about 3 minutes)
#   --kernels=LIST  only these families (comma-separated): tanh, softmax, attention_pool,
#                   additive_attention, sdpa (the roofline probes always run)
#   --out DIR       the report folder (must not exist yet); default reports/<date-time>/, with
#                   reports/latest pointing at the newest
# The report is written to a temporary folder and moved into place only when everything succeeded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

full=0 out="" args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=1; args+=("$1") ;;
    --out) [ $# -ge 2 ] || { echo "bench: --out needs a folder" >&2; exit 2; }; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done
if [ -z "$out" ]; then
  out="$root/reports/$(date +%Y%m%d-%H%M%S)"
  latest=1
else
  latest=0
fi
if [ -e "$out" ]; then
  echo "bench: $out already exists; give another --out, or remove it" >&2
  exit 2
fi

"$root/tools/setup.sh"
"$root/tools/build.sh" attnkern-bench attnkern-latency attnkern-ulp _attnkern

if [ "$full" = 1 ]; then
  echo "== tanh accuracy, all 2^32 inputs, every ISA path (attnkern-ulp) =="
  "$root/build/tools/attnkern-ulp" --function tanh
fi

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$root/build/bench/attnkern-bench" "${args[@]}" --benchmark_out="$tmp/benchmark.json" --benchmark_out_format=json
echo "bench: the latency of small calls, on the library's pool, on OpenMP and on one thread, beside competing loads (attnkern-latency) ..."
"$root/build/bench/attnkern-latency" --json "$tmp/latency.json" >/dev/null
echo "bench: the Python module: its call overhead, and against the notebooks' NumPy code and PyTorch (bench/python_bench.py) ..."
module_python=$(sed -n 's/^ATTNKERN_PYTHON_EXECUTABLE:[A-Z]*=//p' "$root/build/CMakeCache.txt")
PYTHONPATH="$root/build/python" "$module_python" "$root/bench/python_bench.py" --json "$tmp/python.json"

# matplotlib comes from Debian's python3-matplotlib, for the system's python3
python=python3
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then python=/usr/bin/python3; fi
echo
"$python" "$root/tools/bench_report.py" "$tmp/benchmark.json" --out "$tmp"
mv "$tmp" "$out"
trap - EXIT
if [ "$latest" = 1 ]; then ln -sfn "$(basename "$out")" "$root/reports/latest"; fi
echo
echo "bench: report in $out/report.md (plots in $out/plots/, raw data in $out/benchmark.json)"
