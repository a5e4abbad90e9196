#!/usr/bin/env python3
"""Compare two Google Benchmark JSON files (--benchmark_out=FILE.json), e.g. before and after a
change, or two machines: per benchmark the ratio of medians, with a noise estimate from the
repetitions' own statistics, flagging changes larger than the noise.

Input: files written with repetitions (attnkern's benchmarks run 5 by default), whose aggregates
Google Benchmark computes itself ("median", "mean", "stddev"); they are used as they are. The noise
of a ratio is taken as the quadrature sum of both sides' coefficients of variation (stddev / mean);
a change is flagged when |ratio - 1| exceeds both `--sigmas` (default 3) times that noise and
`--min-change` (default 0.05): the repetitions of one run understate the drift between runs on a
shared machine (two runs of the same binary here differ by up to 5% with a 1% spread within each).
A file without repetitions gives ratios without a noise estimate (nothing flagged).

    tools/bench_compare.py BEFORE.json AFTER.json [--metric real_time|cpu_time|COUNTER]
                           [--filter REGEX] [--sigmas 3] [--min-change 0.05] [--fail-on-slower]

With a time metric a ratio above 1 means AFTER is slower; with a counter (a rate such as
bytes_per_second or flops) the ratio is AFTER / BEFORE of the rate, above 1 faster. Exit status:
0, or 1 with --fail-on-slower when any benchmark got slower beyond the noise; 2 on bad input.
"""
import argparse
import json
import math
import re
import sys


def fail(message):
    print(f"bench_compare: {message}", file=sys.stderr)
    sys.exit(2)


def load(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        fail(f"{path} is not a Google Benchmark JSON file (no 'benchmarks' list)")
    return data


def statistics(data, metric):
    """{run name: {'median': m, 'mean': x, 'stddev': s}} for `metric`; single runs give a median only."""
    stats = {}
    for b in data["benchmarks"]:
        name = b.get("run_name", b.get("name"))
        if metric not in b:
            continue
        value = float(b[metric])
        if metric in ("real_time", "cpu_time"):  # to ns, whatever unit each file used
            value *= {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}.get(b.get("time_unit", "ns"), 1)
        if b.get("run_type") == "aggregate":
            kind = b.get("aggregate_name")
            if kind in ("median", "mean", "stddev"):
                stats.setdefault(name, {})[kind] = value
        elif b.get("repetitions", 1) <= 1:
            stats.setdefault(name, {}).setdefault("median", value)
    return {name: s for name, s in stats.items() if "median" in s}


def relative_noise(s):
    if "stddev" in s and s.get("mean", 0) > 0:
        return s["stddev"] / s["mean"]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--metric", default="real_time")
    parser.add_argument("--filter", default="")
    parser.add_argument("--sigmas", type=float, default=3.0)
    parser.add_argument("--min-change", type=float, default=0.05)
    parser.add_argument("--fail-on-slower", action="store_true")
    args = parser.parse_args()
    if args.sigmas <= 0 or args.min_change < 0:
        parser.error("--sigmas must be positive and --min-change not negative")
    try:
        pattern = re.compile(args.filter)
    except re.error as e:
        parser.error(f"--filter: {e}")

    a, b = load(args.before), load(args.after)
    sa, sb = statistics(a, args.metric), statistics(b, args.metric)
    if not sa or not sb:
        fail(f"no '{args.metric}' values in " + (args.before if not sa else args.after))
    is_time = args.metric in ("real_time", "cpu_time")
    names = [n for n in sa if n in sb and pattern.search(n)]
    only = len([n for n in sa if n not in sb]) + len([n for n in sb if n not in sa])

    print(f"before: {args.before}  ({a.get('context', {}).get('date', '?')})")
    print(f"after:  {args.after}  ({b.get('context', {}).get('date', '?')})")
    unit = " (ns)" if is_time else ""
    print(f"metric: {args.metric}{unit} medians; ratio = after / before "
          f"({'above 1: slower' if is_time else 'above 1: faster'}); flagged beyond {args.sigmas:g} x noise "
          f"and {100 * args.min_change:g}%\n")
    width = max([len(n) for n in names] + [9])
    print(f"{'benchmark':<{width}}  {'before':>12}  {'after':>12}  {'ratio':>7}  {'noise':>7}  change")
    slower = faster = 0
    for n in names:
        before, after = sa[n]["median"], sb[n]["median"]
        if before <= 0:
            continue
        ratio = after / before
        na, nb = relative_noise(sa[n]), relative_noise(sb[n])
        noise = math.sqrt(na * na + nb * nb) if na is not None and nb is not None else None
        change = ""
        if noise is not None and abs(ratio - 1) > max(args.sigmas * noise, args.min_change):
            got_slower = ratio > 1 if is_time else ratio < 1
            change = "SLOWER" if got_slower else "faster"
            slower += got_slower
            faster += not got_slower
        noise_text = f"{100 * noise:6.1f}%" if noise is not None else "    n/a"
        print(f"{n:<{width}}  {before:12.4g}  {after:12.4g}  {ratio:7.3f}  {noise_text}  {change}")
    print(f"\n{len(names)} compared, {slower} slower and {faster} faster beyond the noise"
          + (f"; {only} in only one file" if only else ""))
    return 1 if args.fail_on_slower and slower else 0


if __name__ == "__main__":
    sys.exit(main())
