#!/usr/bin/env python3
"""Turn attnkern-bench's JSON (--benchmark_out=FILE.json) into the report: a Markdown file, PNG
plots, and a compact summary table on stdout.

    tools/bench_report.py BENCHMARK.json --out DIR [--no-plots]

Writes DIR/report.md and DIR/plots/*.png (matplotlib; without it, or with --no-plots, the report
says the plots were skipped). Every number comes from the JSON: the median of each benchmark's
repetitions, as Google Benchmark computed it. Benchmark names are
<kernel>/<implementation>/<shape>/threads:<t>; the shape counters (batch, seq, features,
working_set) place each kernel row against its roofline ceiling:
  - memory-bound kernels (tanh, softmax: read+write; attention_pool, additive_attention: read)
    against the streaming probe at the cache level their working set falls in: L1 or L2 when the
    working set per thread fits that private level, L3 when the whole fits the shared L3, else DRAM;
  - sdpa against the FMA peak.
Exit status 0; 2 on input that is not attnkern-bench's JSON.
"""
import argparse
import json
import math
import os
import sys
from collections import defaultdict

# Per kernel family: the rate shown, its unit, the ceiling it is held against, what the lines of its
# plot are, and the representative shapes of the summary (the first ones present are used).
KERNELS = {
    "tanh": dict(metric="bytes_per_second", unit="GB/s", ceiling="read_write", lines="impl",
                 x_label="n (elements)", rate_note="8 bytes per element: one read, one write",
                 representative=["16384", "1000003", "16777216"]),
    "softmax": dict(metric="bytes_per_second", unit="GB/s", ceiling="read_write", lines="batch",
                    x_label="row length (columns)", line_label="{} rows",
                    rate_note="8 bytes per element: one read, one write",
                    representative=["32x60", "1024x4096", "32x1048576"]),
    "attention_pool": dict(metric="bytes_per_second", unit="GB/s", ceiling="read", lines="features",
                           x_label="steps", line_label="{} features",
                           rate_note="GB/s of the sequence h read", representative=["32x60x128", "32x2048x512"]),
    "additive_attention": dict(metric="bytes_per_second", unit="GB/s", ceiling="read", lines="features",
                               x_label="steps", line_label="{} features (attn_dim = features)",
                               rate_note="GB/s of the keys and values read",
                               representative=["32x60x128", "32x2048x512"]),
    "sdpa": dict(metric="flops", unit="GFLOP/s", ceiling="fma", lines="features", x_label="sequence (q_len = kv_len)",
                 line_label="head_dim {}",
                 rate_note="4 B q_len kv_len head_dim / time, halved for causal (the useful FLOPs)",
                 representative=["16x1024x64", "16x1024x64-causal", "16x1x4096x64"]),
}
LEVELS = ["L1", "L2", "L3", "DRAM"]
SCALE = {"GB/s": 1e-9, "GFLOP/s": 1e-9}


def fail(message):
    print(f"bench_report: {message}", file=sys.stderr)
    sys.exit(2)


def fmt(v):
    """A rate: three significant figures, or '-'."""
    if v is None or not math.isfinite(v):
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_time(ns):
    if ns is None:
        return "-"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e9:.2f} s"


def fmt_ratio(r):
    return "-" if r is None else (f"{r:.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 10 else f"{r:.2f}x")


def fmt_percent(f):
    return "-" if f is None else f"{100 * f:.0f}%"


def fmt_bytes(b):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= size:
            v = b / size
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{b:.0f} B"


class Results:
    """The medians of one attnkern-bench JSON file, keyed by (kernel, impl, shape, threads)."""

    def __init__(self, data):
        self.context = data.get("context", {})
        self.rows = {}
        singles = defaultdict(list)
        for b in data["benchmarks"]:
            name = b.get("run_name", b.get("name", ""))
            if name.endswith("/real_time"):
                name = name[: -len("/real_time")]
            parts = name.split("/")
            if len(parts) != 4 or not parts[3].startswith("threads:"):
                continue
            key = (parts[0], parts[1], parts[2], int(parts[3][len("threads:"):]))
            unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(b.get("time_unit", "ns"), 1)
            row = {k: v for k, v in b.items() if isinstance(v, (int, float))}
            row["time_ns"] = b.get("real_time", 0) * unit
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    self.rows[key] = row
            elif b.get("run_type") == "iteration":
                singles[key].append(row)
        for key, runs in singles.items():  # files without aggregates: the median of the runs
            if key not in self.rows:
                runs.sort(key=lambda r: r["time_ns"])
                self.rows[key] = runs[len(runs) // 2]
        self.cache = {
            "L1": int(self.context.get("cache_l1d", 32768)),
            "L2": int(self.context.get("cache_l2", 1 << 20)),
            "L3": int(self.context.get("cache_l3", 32 << 20)),
        }

    def get(self, kernel, impl, shape, threads):
        return self.rows.get((kernel, impl, shape, threads))

    def rate(self, kernel, impl, shape, threads):
        row = self.get(kernel, impl, shape, threads)
        spec = KERNELS[kernel]
        if row is None or spec["metric"] not in row:
            return None
        return row[spec["metric"]] * SCALE[spec["unit"]]

    def keys(self, kernel=None, impl=None):
        return [k for k in self.rows if len(k) == 4 and (kernel is None or k[0] == kernel) and (impl is None or k[1] == impl)]

    def impls(self, kernel):
        seen = []
        for k in self.rows:
            if len(k) == 4 and k[0] == kernel and k[1] not in seen:
                seen.append(k[1])
        return sorted(seen, key=lambda i: (i != "attnkern", not i.startswith("attnkern"), seen.index(i)))

    def threads(self, kernel=None):
        return sorted({k[3] for k in self.keys(kernel)})

    def shapes(self, kernel, impl="attnkern"):
        """The shapes in sweep order: by batch, features, seq (and causal last)."""
        shapes = {k[2]: self.rows[k] for k in self.keys(kernel, impl)}

        def order(item):
            shape, row = item
            return (row.get("causal", 0), row.get("q_len", row.get("seq", 0)) != row.get("seq", 0), row.get("batch", 0),
                    row.get("features", 0), row.get("seq", 0), shape)

        return [s for s, _ in sorted(shapes.items(), key=order)]

    def name(self, kernel, impl):
        return self.context.get(f"name:{kernel}/{impl}", impl)

    def level(self, working_set, threads):
        if working_set / threads <= self.cache["L1"]:
            return "L1"
        if working_set / threads <= self.cache["L2"]:
            return "L2"
        if working_set <= self.cache["L3"]:
            return "L3"
        return "DRAM"

    def ceiling(self, kernel, shape, threads, impl="attnkern"):
        """(label, value in the kernel's unit) of the ceiling a row is held against."""
        kind = KERNELS[kernel]["ceiling"]
        if kind == "fma":
            row = self.get("roofline", "fma", "peak", threads)
            return ("FMA peak", row["flops"] * 1e-9) if row and "flops" in row else (None, None)
        row = self.get(kernel, impl, shape, threads)
        if row is None or "working_set" not in row:
            return None, None
        level = self.level(row["working_set"], threads)
        probe = self.get("roofline", kind, level, threads)
        label = f"{level} {'read+write' if kind == 'read_write' else 'read'}"
        return (label, probe["bytes_per_second"] * 1e-9) if probe and "bytes_per_second" in probe else (label, None)

    def probe(self, kind, level, threads):
        row = self.get("roofline", kind, level, threads)
        if row is None:
            return None
        return row.get("flops" if kind == "fma" else "bytes_per_second", 0) * 1e-9


def ratio(a, b):
    return a / b if a and b else None


# ---- Markdown -----------------------------------------------------------------------------------

def machine_section(r):
    c = r.context
    caches = ", ".join(f"{lvl} {fmt_bytes(r.cache[lvl])}" for lvl in ("L1", "L2", "L3"))
    threads = c.get("threads", "?")
    lines = [
        "| | |", "|---|---|",
        f"| CPU | {c.get('cpu_model', '?')}, {c.get('num_cpus', '?')} logical CPUs at {c.get('mhz_per_cpu', '?')} MHz; "
        f"caches {caches} (L1, L2 per core) |",
        f"| ISA path chosen | {c.get('attnkern_isa', '?')} (paths this CPU runs: {c.get('attnkern_isa_paths', '?').replace(',', ', ')}) |",
        f"| threads used | {threads.replace(',', ', ')} |",
        f"| compiler | {c.get('compiler', '?')}, {' '.join(c.get('build', '?').split())} |",
        f"| library | attnkern {c.get('attnkern_version', '?')} |",
        f"| run | {c.get('date', '?')} on {c.get('host_name', '?')}; {c.get('sweep', '?')} sweep, kernels: "
        f"{c.get('kernels', 'all')}; {c.get('timing', '')}; load average {', '.join(f'{x:.2f}' for x in c.get('load_avg', []))} |",
    ]
    notes = [v for k, v in sorted(c.items()) if k.startswith("note:")]
    if notes:
        lines += ["", "Peers skipped: " + "; ".join(notes) + "."]
    return lines


def roofline_section(r):
    threads = r.threads("roofline")
    if not threads:
        return ["(no roofline probes in this file)"]
    head = "| ceiling | working set | " + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in threads) + " |"
    lines = [head, "|---|---|" + "---|" * len(threads)]
    for kind, label in (("read", "read"), ("read_write", "read+write")):
        for level in LEVELS:
            sets = {fmt_bytes(r.get('roofline', kind, level, t)['working_set']) for t in threads
                    if r.get('roofline', kind, level, t) and 'working_set' in r.get('roofline', kind, level, t)}
            cells = " | ".join(f"{fmt(r.probe(kind, level, t))} GB/s" for t in threads)
            lines.append(f"| {level} {label} | {' / '.join(sorted(sets)) or '-'} | {cells} |")
    lines.append("| FMA peak | registers | " + " | ".join(f"{fmt(r.probe('fma', 'peak', t))} GFLOP/s" for t in threads) + " |")
    return lines


def kernel_table(r, kernel, threads):
    spec = KERNELS[kernel]
    peers = [p for p in r.impls(kernel) if p != "attnkern"]
    head = f"| shape | attnkern | {spec['unit']} | of ceiling |"
    sep = "|---|---|---|---|"
    shown = []
    for p in peers:
        if not any(k[3] == threads for k in r.keys(kernel, p)):  # (the scalar reference: 1 thread only)
            continue
        shown.append(p)
        head += f" {r.name(kernel, p)} | attnkern / it |"
        sep += "---|---|"
    lines = [head, sep]
    for shape in r.shapes(kernel):
        row = r.get(kernel, "attnkern", shape, threads)
        if row is None:
            continue
        ours = r.rate(kernel, "attnkern", shape, threads)
        label, ceiling = r.ceiling(kernel, shape, threads)
        cell = f"{fmt_percent(ratio(ours, ceiling))} of {label}" if ceiling else "-"
        line = f"| {shape} | {fmt_time(row['time_ns'])} | {fmt(ours)} | {cell} |"
        for p in shown:
            theirs = r.rate(kernel, p, shape, threads)
            line += f" {fmt(theirs)} | {fmt_ratio(ratio(ours, theirs))} |"
        lines.append(line)
    return lines


# sdpa's decoding variants, each beside the read probe over the bytes it reads (same run): the implementation,
# its probe, and what the shape's label means
DECODE_PROBED = (("attnkern", "read_kv_f32"), ("attnkern_f16", "read_kv_f16"), ("attnkern_bf16", "read_kv_f16"),
                 ("attnkern_paged_f16", "read_kv_f16"), ("attnkern_paged_bf16", "read_kv_f16"),
                 ("attnkern_paged_mixed", "read_kv_paged"))


def decode_table(r, threads):
    """sdpa's decode shapes (one query row per head, or the paged cache's mixed batch): each variant's time beside
    the read probe over the same K/V bytes, measured in the same run."""
    lines = ["| shape | variant | time | read probe | of probe |", "|---|---|---|---|---|"]
    for impl, probe in DECODE_PROBED:
        for k in sorted(r.keys("sdpa", impl), key=lambda k: (r.rows[k].get("seq", 0), k[2])):
            row = r.rows[k]
            if k[3] != threads or (row.get("q_len") != 1 and not k[2].startswith("mixed")):
                continue
            p = r.get("sdpa", probe, k[2], threads)
            if p is None:
                continue
            share = fmt_percent(p["time_ns"] / row["time_ns"])
            lines.append(f"| {k[2]} | {r.name('sdpa', impl)} | {fmt_time(row['time_ns'])} | {fmt_time(p['time_ns'])} | {share} |")
    return lines if len(lines) > 2 else []


def representative(r, kernel):
    shapes = r.shapes(kernel)
    chosen = [s for s in KERNELS[kernel]["representative"] if s in shapes]
    return chosen or shapes[-1:]


def summary_rows(r):
    """(kernel, shape, threads, attnkern time, rate, fraction of ceiling, best peer, ratio) at the
    representative shapes, all threads."""
    rows = []
    for kernel, spec in KERNELS.items():
        threads = r.threads(kernel)
        if not threads:
            continue
        t = max(threads)
        for shape in representative(r, kernel):
            row = r.get(kernel, "attnkern", shape, t)
            if row is None:
                continue
            ours = r.rate(kernel, "attnkern", shape, t)
            label, ceiling = r.ceiling(kernel, shape, t)
            peers = [(r.rate(kernel, p, shape, t), p) for p in r.impls(kernel)
                     if not p.startswith(("attnkern", "read_")) and p not in ("reference", "sgemm_only", "tanh")]
            peers = [(v, p) for v, p in peers if v]
            best = max(peers) if peers else None
            rows.append(dict(kernel=kernel, shape=shape, threads=t, time=row["time_ns"], rate=ours, unit=spec["unit"],
                             ceiling=ratio(ours, ceiling), ceiling_label=label,
                             peer=r.name(kernel, best[1]) if best else None,
                             vs_peer=ratio(ours, best[0]) if best else None))
    return rows


def summary_table(r):
    lines = ["| kernel | shape | threads | time | rate | of ceiling | fastest peer | attnkern / peer |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summary_rows(r):
        lines.append(f"| {s['kernel']} | {s['shape']} | {s['threads']} | {fmt_time(s['time'])} | {fmt(s['rate'])} {s['unit']} | "
                     f"{fmt_percent(s['ceiling'])} of {s['ceiling_label']} | {s['peer'] or '-'} | {fmt_ratio(s['vs_peer'])} |")
    return lines


def read_side_json(out, name, heading, keys):
    """A JSON file the main job wrote beside benchmark.json: (its data, None), or (None, the report's
    lines instead): none when it is absent, a note under `heading` when it cannot be read or lacks `keys`."""
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None, []
    try:
        with open(path) as f:
            data = json.load(f)
        missing = [k for k in keys if k not in data]
        if missing:
            raise KeyError(", ".join(missing))
        return data, None
    except (OSError, ValueError, KeyError) as e:
        return None, [heading, "", f"{name} could not be read: {e}", ""]


def latency_section(out):
    """The table of attnkern-latency (latency.json in the report folder), when the main job ran it."""
    lat, problem = read_side_json(out, "latency.json", "## Latency of small calls", ["rows"])
    if lat is None:
        return problem
    rows = lat["rows"]
    md = ["## Latency of small calls", "",
          f"`attnkern-latency`: {lat.get('calls')} single calls per row, each timed alone, after 50 untimed; "
          f"{lat.get('threads')} threads. 'pool (default)' is the library's own pool, 'OpenMP' the openmp "
          "threading mode (attnkern_set_threading), 'one thread' attnkern_set_num_threads(1); competition: 'spinning pool', a thread per core of another pool in the "
          "process, idle and spinning with sched_yield as OpenBLAS's do; 'busy core', a busy loop bound to the "
          "last core; 'other OpenMP process', OpenMP regions on every core back to back in another process; "
          "'own OpenMP regions', an OpenMP region on every core (about 20 us) before each call, in the same "
          "process, as in a program that is OpenMP already.", "",
          "| competition | threads | call | median | p99 | max | p99 / median |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        med, p99, mx = row["median_us"], row["p99_us"], row["max_us"]
        md.append(f"| {row['competition']} | {row['threads']} | {row['call']} | {fmt_time(med * 1e3)} | "
                  f"{fmt_time(p99 * 1e3)} | {fmt_time(mx * 1e3)} | {p99 / med:.1f} |")
    return md + [""]


def python_section(out):
    """The tables of bench/python_bench.py (python.json in the report folder), when the main job ran it."""
    py, problem = read_side_json(out, "python.json", "## Python", ["info", "overhead", "speedup"])
    if py is None:
        return problem
    info, overhead, speedup = py["info"], py["overhead"], py["speedup"]
    torch = f"PyTorch {info['torch']} ({info['torch_threads']} threads)" if info.get("torch") else \
        "PyTorch not installed (python3-torch): its column is empty"
    md = ["## Python", "",
          f"`bench/python_bench.py`: the module `attnkern` ({info['attnkern_threads']} threads, {info['isa']}, "
          f"threading '{info.get('threading', 'openmp')}'), NumPy "
          f"{info['numpy']}, {torch}; medians of {info['rounds']} interleaved rounds.", "",
          "The Python call over the C call it makes, the C call looped in C++ on the same arrays (goal: at most 2 µs "
          "at softmax 32×60). 'out=': into a given array; 'new': allocating the result.", "",
          "| call | C | Python, out= | Python, new | overhead, out= | overhead, new |", "|---|---|---|---|---|---|"]
    for r in overhead:
        md.append(f"| {r['function']} {r['shape'][0]}×{r['shape'][1]} | {r['c_us']:.2f} µs | {r['python_out_us']:.2f} µs | "
                  f"{r['python_new_us']:.2f} µs | {r['overhead_out_us']:.2f} µs | {r['overhead_new_us']:.2f} µs |")
    md += ["", "attnkern against the notebooks' own NumPy code (examples/python/) and the same computation in PyTorch, "
           "float32, at the notebooks' shapes and a larger one; speed-up = their time / attnkern's.", "",
           "| example | shape | NumPy | PyTorch | attnkern | vs NumPy | vs PyTorch |", "|---|---|---|---|---|---|---|"]
    for r in speedup:
        t = r.get("torch_us")
        vs_torch = f"{t / r['attnkern_us']:.1f}x" if t is not None else "-"
        md.append(f"| {r['example']} | {r['shape']} | {fmt_time(r['numpy_us'] * 1e3)} | "
                  f"{fmt_time(t * 1e3) if t is not None else '-'} | {fmt_time(r['attnkern_us'] * 1e3)} | "
                  f"{r['numpy_us'] / r['attnkern_us']:.1f}x | {vs_torch} |")
    return md + [""]


def write_report(r, out, plots, plot_note):
    md = ["# attnkern benchmark report", ""]
    md += ["## Machine", ""] + machine_section(r) + [""]
    md += ["## Roofline", "",
           "Probes in the same process as the kernels, on the same threads: a streaming sum (read) and "
           "y = c x (read+write) over a working set inside each cache level (half of each core's L1 and L2 per "
           "thread, half the L3, and 8x the L3 for DRAM), and 12 independent FMA chains per thread in the widest "
           "vectors the CPU has. Each kernel row below is held against the ceiling of the level its working set "
           "falls in (sdpa: the FMA peak). On a shared machine the probes vary between runs too (DRAM most: "
           "up to 2x here), so a fraction above 100% means the probe ran slower than the kernel did.", ""] + roofline_section(r) + [""]
    md += ["## Summary", "", "At representative shapes, on all threads; the fastest peer excludes the scalar reference.",
           ""] + summary_table(r) + [""]
    if "overview" in plots:
        md += [f"![speed-up over peers]({plots['overview']})", ""]
    if "scaling" in plots:
        md += [f"![thread scaling]({plots['scaling']})", ""]
    for kernel, spec in KERNELS.items():
        threads = r.threads(kernel)
        if not threads:
            continue
        md += [f"## {kernel}", "", f"Rates: {spec['unit']}, {spec['rate_note']}. Medians of the repetitions; "
               "'attnkern / it' is the ratio of rates (above 1: attnkern is faster).", ""]
        if kernel == "tanh" and any(k.startswith("max_ulp:tanh/") for k in r.context):
            md += [f"Max error on a sample ({r.context.get('tanh_accuracy_sample', '')}), against float64 tanh: " +
                   ", ".join(f"{r.name('tanh', k.split('/', 1)[1])} {v} ULP" for k, v in sorted(r.context.items())
                             if k.startswith("max_ulp:tanh/")) + ".", ""]
        if kernel in plots:
            md += [f"![{kernel}]({plots[kernel]})", ""]
        if kernel == "sdpa" and "decode" in plots:
            md += [f"![sdpa decoding]({plots['decode']})", ""]
        for t in threads:
            md += [f"### {kernel}, {t} thread{'s' if t > 1 else ''}", ""] + kernel_table(r, kernel, t) + [""]
            if kernel == "sdpa" and decode_table(r, t):
                md += [f"Decoding, {t} thread{'s' if t > 1 else ''}: each variant beside the read probe over the K and V "
                       "bytes it reads (mixed: the paged cache's mixed batch, 16 sequences of 100 to 8000 keys, beside the "
                       "probe over its blocks); 'of probe' = the probe's time over the variant's.", ""] + decode_table(r, t) + [""]
    md += latency_section(out)
    md += python_section(out)
    md += ["## Raw data", "", "`benchmark.json` beside this report: Google Benchmark's JSON with every repetition's "
           "aggregates (mean, median, stddev, cv). Compare two runs with `tools/bench_compare.py BEFORE.json AFTER.json`.", ""]
    if plot_note:
        md += [f"Plots: {plot_note}", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(md))


# ---- plots --------------------------------------------------------------------------------------

def make_plots(r, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(os.path.join(out, "plots"), exist_ok=True)
    plots = {}
    machine = f"{r.context.get('cpu_model', '')}, {r.context.get('attnkern_isa', '')} path"

    for kernel, spec in KERNELS.items():
        threads = r.threads(kernel)
        if not threads:
            continue
        panels = [min(threads), max(threads)] if len(threads) > 1 else threads
        fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.6), sharey=True, squeeze=False)
        for ax, t in zip(axes[0], panels):
            series = defaultdict(list)
            if spec["lines"] == "impl":
                for impl in r.impls(kernel):
                    for k in r.keys(kernel, impl):
                        if k[3] == t:
                            series[r.name(kernel, impl)].append((r.rows[k]["seq"], r.rate(kernel, impl, k[2], t)))
            else:
                for k in r.keys(kernel, "attnkern"):
                    row = r.rows[k]
                    if k[3] != t or row.get("q_len", row["seq"]) != row["seq"]:
                        continue  # (sdpa's decoding shape is in the table)
                    if kernel != "softmax" and row.get("batch") != _main_batch(r, kernel):
                        continue
                    label = spec["line_label"].format(int(row[spec["lines"]]))
                    if row.get("causal"):
                        label += ", causal"
                    series[label].append((row["seq"], r.rate(kernel, "attnkern", k[2], t)))
            colors = plt.get_cmap("tab20" if len(series) > 10 else "tab10").colors
            ordered = list(series.items()) if spec["lines"] == "impl" else sorted(series.items(), key=lambda s: _line_order(s[0]))
            for i, (label, points) in enumerate(ordered):
                points.sort()
                style = "--" if "causal" in label else "-"
                if spec["lines"] == "impl" and not label.startswith("attnkern"):
                    style = ":"
                ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", markersize=3.5, color=colors[i % len(colors)],
                        label=label, linewidth=2.4 if label.startswith("attnkern (") else 1.4)
            _draw_ceilings(ax, r, spec, t)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(spec["x_label"] + " (log scale)")
            ax.set_title(f"{t} thread{'s' if t > 1 else ''}")
            ax.grid(True, which="major", alpha=0.3)
        batch = "" if kernel in ("tanh", "softmax") else f", batch {_main_batch(r, kernel)}"
        axes[0][0].set_ylabel(f"{spec['unit']} (log scale)")
        fig.suptitle(f"attnkern {kernel}{batch}: throughput by size; dashed grey: roofline ceilings\n{machine}", fontsize=11)
        handles, labels = axes[0][-1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
        plots[kernel] = _save(fig, out, f"{kernel}.png")

    # sdpa decoding: GB/s of K and V read against kv_len, beside the read probe over the same bytes
    t = max(r.threads("sdpa")) if r.threads("sdpa") else None
    series = defaultdict(list)
    for impl, label, elem in (("attnkern", "attnkern, f32 K/V", 4), ("attnkern_f16", "attnkern, f16 K/V", 2),
                              ("read_kv_f32", "read probe over the f32 bytes", 4),
                              ("read_kv_f16", "read probe over the f16 bytes", 2)):
        for k in r.keys("sdpa", impl):
            parts = k[2].split("x")
            if k[3] != t or len(parts) != 4 or parts[1] != "1" or parts[0] != "32" or parts[3] != "128":
                continue
            kv = int(parts[2])
            series[label].append((kv, 32 * kv * 128 * 2 * elem / r.rows[k]["time_ns"]))
    if len(series.get("attnkern, f32 K/V", [])) > 1:
        fig, ax = plt.subplots(figsize=(7.5, 4.6))
        for label, points in sorted(series.items()):
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], "--" if label.startswith("read") else "-",
                    marker="o", markersize=3.5, color="C0" if "f32" in label else "C1", label=label,
                    linewidth=1.2 if label.startswith("read") else 2.2)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("kv_len (log scale): 32 heads x 1 query row x kv_len keys x head_dim 128")
        ax.set_ylabel("GB/s of K and V")
        ax.set_ylim(bottom=0)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
        fig.suptitle(f"attnkern decoding, {t} thread{'s' if t > 1 else ''}: K/V bytes per second; dashed: the read probe "
                     f"over the same bytes\n{machine}", fontsize=10)
        plots["decode"] = _save(fig, out, "decode.png")

    # speed-up over each peer at the representative shapes (tanh: the middle one), all threads
    bars = []
    for kernel in KERNELS:
        threads = r.threads(kernel)
        if not threads:
            continue
        t = max(threads)
        shapes = representative(r, kernel)
        for shape in (shapes[len(shapes) // 2:len(shapes) // 2 + 1] if kernel == "tanh" else shapes):
            for p in r.impls(kernel):
                if p.startswith(("attnkern", "read_")) or p in ("sgemm_only", "tanh"):  # (read_: probes, not peers)
                    continue
                pt = 1 if p == "reference" else t
                theirs = r.rate(kernel, p, shape, pt)
                ours = r.rate(kernel, "attnkern", shape, pt)
                if theirs and ours:
                    bars.append((f"{kernel} {shape}: vs {r.name(kernel, p)}" + (", 1 thread each" if pt != t else ""),
                                 ours / theirs, kernel))
    if bars:
        colors = {k: f"C{i}" for i, k in enumerate(KERNELS)}
        fig, ax = plt.subplots(figsize=(10, 0.3 * len(bars) + 1.6))
        y = list(range(len(bars)))[::-1]
        ax.barh(y, [b[1] for b in bars], color=[colors[b[2]] for b in bars])
        ax.set_yticks(y)
        ax.set_yticklabels([b[0] for b in bars], fontsize=8)
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.8)
        for yi, b in zip(y, bars):
            ax.text(b[1] * 1.05, yi, fmt_ratio(b[1]), va="center", fontsize=7)
        ax.set_xlabel("speed-up of attnkern over the peer (ratio of rates, log scale; 1 = equal)")
        ax.set_xlim(min(0.5, min(b[1] for b in bars) / 1.5), max(b[1] for b in bars) * 2.5)
        fig.suptitle(f"attnkern against its peers at representative shapes, {max(r.threads())} threads unless noted\n{machine}",
                     fontsize=10)
        plots["overview"] = _save(fig, out, "speedup.png")

    # thread scaling: attnkern's speed-up over 1 thread at the representative shapes, beside the probes'
    all_threads = r.threads()
    if len(all_threads) > 1:
        bars = []
        for kernel in KERNELS:
            for shape in representative(r, kernel):
                base = r.rate(kernel, "attnkern", shape, 1)
                bars.append((f"{kernel} {shape}", [r.rate(kernel, "attnkern", shape, t) / base
                                                   if base and r.rate(kernel, "attnkern", shape, t) else 0
                                                   for t in all_threads[1:]], f"C{list(KERNELS).index(kernel)}"))
        for kind, level, label in (("read", "L2", "probe: L2 read"), ("read", "DRAM", "probe: DRAM read"),
                                   ("read_write", "DRAM", "probe: DRAM read+write"), ("fma", "peak", "probe: FMA peak")):
            base = r.probe(kind, level, 1)
            bars.append((label, [r.probe(kind, level, t) / base if base and r.probe(kind, level, t) else 0
                                 for t in all_threads[1:]], "grey"))
        bars = [b for b in bars if any(b[1])]
        height = 0.8 / (len(all_threads) - 1)
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(bars) * (len(all_threads) - 1) + 1.6))
        y = list(range(len(bars)))[::-1]
        for i, t in enumerate(all_threads[1:]):
            offsets = [yi + 0.4 - height * (i + 0.5) for yi in y]
            ax.barh(offsets, [b[1][i] for b in bars], height=height * 0.9, color=[b[2] for b in bars],
                    alpha=1.0 - 0.5 * i / max(1, len(all_threads) - 2))
            for yo, b in zip(offsets, bars):
                if b[1][i]:
                    ax.text(b[1][i] + 0.02, yo, f"{b[1][i]:.2f}x on {t}", va="center", fontsize=7)
            ax.axvline(t, color="black", linestyle="--", linewidth=0.8)
        ax.axvline(1, color="black", linewidth=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels([b[0] for b in bars], fontsize=8)
        ax.set_xlabel("speed-up over 1 thread (dashed: ideal, " + ", ".join(map(str, all_threads[1:])) + " threads)")
        ax.set_xlim(0, max(max(all_threads), max(max(b[1]) for b in bars)) * 1.2)
        fig.suptitle(f"attnkern thread scaling at representative shapes, and the roofline probes' (grey)\n{machine}",
                     fontsize=10)
        plots["scaling"] = _save(fig, out, "scaling.png")
    return plots


def _save(fig, out, name):
    """Writes the figure to OUT/plots/NAME and closes it; returns the path relative to OUT."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    path = os.path.join("plots", name)
    fig.savefig(os.path.join(out, path), dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _main_batch(r, kernel):
    """The batch the plot shows: 32 (the notebooks') for the attention kernels, 16 for sdpa, when present."""
    batches = sorted({r.rows[k].get("batch") for k in r.keys(kernel, "attnkern")})
    preferred = 16 if kernel == "sdpa" else 32
    return preferred if preferred in batches else (batches[len(batches) // 2] if batches else None)


def _line_order(label):
    digits = "".join(ch if ch.isdigit() else " " for ch in label).split()
    return ("causal" in label, int(digits[0]) if digits else 0, label)


def _draw_ceilings(ax, r, spec, t):
    """Dashed grey lines at the ceilings, labelled at the right; ceilings within 30% of each other
    share one label."""
    kind = spec["ceiling"]
    if kind == "fma":
        lines = [("FMA peak", r.probe("fma", "peak", t))]
    else:
        name = "read+write" if kind == "read_write" else "read"
        lines = [(f"{level} {name}", r.probe(kind, level, t)) for level in LEVELS]
    lines = sorted((v, label) for label, v in lines if v)
    groups = []
    for v, label in lines:
        if groups and v <= groups[-1][0][0] * 1.3:
            groups[-1].append((v, label))
        else:
            groups.append([(v, label)])
    for group in groups:
        for v, _ in group:
            ax.axhline(v, color="grey", linestyle="--", linewidth=1)
        text = ", ".join(f"{label} {fmt(v)}" for v, label in reversed(group))
        ax.annotate(text, xy=(0.99, group[-1][0]), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=7,
                    color="dimgrey")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", help="attnkern-bench's --benchmark_out file")
    parser.add_argument("--out", required=True, help="the report folder (created; report.md and plots/ inside)")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    args = parser.parse_args()
    try:
        with open(args.json) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {args.json}: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        fail(f"{args.json} is not a Google Benchmark JSON file")
    r = Results(data)
    if not r.keys():
        fail(f"{args.json} holds no attnkern-bench results (<kernel>/<implementation>/<shape>/threads:<t>)")
    os.makedirs(args.out, exist_ok=True)
    plots, note = {}, None
    if args.no_plots:
        note = "skipped (--no-plots)."
    else:
        try:
            plots = make_plots(r, args.out)
        except ImportError:
            note = "skipped: matplotlib is not installed (apt-get install python3-matplotlib)."
    write_report(r, args.out, plots, note)
    print("\n".join(summary_table(r)))
    if note:
        print(f"bench_report: plots {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
