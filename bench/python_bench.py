#!/usr/bin/env python3
"""The Python module's speed: (1) the cost of a Python call over the C call it makes, at small sizes, and
(2) attnkern against the notebooks' own NumPy code and the same computation in PyTorch, at the notebooks'
shapes and a larger one each. Medians over interleaved rounds (each candidate timed once per round, in
turn), so that a slow spell of the shared machine falls on all of them alike.

usage: python_bench.py [--json FILE] [--rounds N] [--quick]   (--quick: the notebooks' shapes only)    (PYTHONPATH must reach attnkern, e.g. build/python)
"""
import argparse
import json
import os
import pathlib
import platform
import sys

import numpy as np

import attnkern

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples" / "python"))
from additive_mlp import notebook_mlp  # noqa: E402
from attention_pool_batch import notebook_pool  # noqa: E402
from bahdanau_step import notebook_bahdanau  # noqa: E402
from notebook_common import per_call  # noqa: E402
from sdpa_words import rowwise_softmax  # noqa: E402

try:
    import torch
except ImportError:
    torch = None


def medians(candidates, rounds):
    """{name: median seconds per call} over `rounds` interleaved rounds."""
    for fn in candidates.values():
        fn()
    samples = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            samples[name].append(per_call(fn, 0.004))
    return {name: float(np.median(s)) for name, s in samples.items()}


def model_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def overhead(rounds):
    """The Python call against the C call looped in C++ on the same arrays."""
    rows = []
    for function, shape in (("softmax", (32, 60)), ("softmax", (1, 8)), ("tanh", (1, 64)), ("softmax", (256, 1024))):
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        y = np.empty_like(x)
        py_fn = attnkern.softmax if function == "softmax" else attnkern.tanh
        calls = max(1, int(2e5 / x.size))
        c_call = attnkern._attnkern._c_call_seconds
        c_call(function, x, y, calls)
        samples = {"c": [], "python_out": [], "python_new": []}
        for _ in range(rounds):  # interleaved: C, Python into out=, Python allocating
            samples["c"].append(c_call(function, x, y, calls))
            samples["python_out"].append(per_call(lambda: py_fn(x, out=y), 0.004))
            samples["python_new"].append(per_call(lambda: py_fn(x), 0.004))
        m = {name: float(np.median(s)) for name, s in samples.items()}
        c = m["c"]
        rows.append({"function": function, "shape": list(shape), "c_us": c * 1e6,
                     "python_out_us": m["python_out"] * 1e6, "python_new_us": m["python_new"] * 1e6,
                     "overhead_out_us": (m["python_out"] - c) * 1e6, "overhead_new_us": (m["python_new"] - c) * 1e6})
    return rows


def torch_cases():
    """The same computations in PyTorch (CPU, float32)."""
    if torch is None:
        return {}

    def sdpa(q, k, v):
        return torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1) @ v

    def pool(h, w, b):
        a = torch.softmax(torch.tanh(h @ w + b), dim=1)
        return (a.unsqueeze(1) @ h).squeeze(1)

    def bahdanau(k, q, v, values):
        a = torch.softmax(torch.tanh(k + q.unsqueeze(-2)) @ v, dim=-1)
        return (a.unsqueeze(-2) @ values).squeeze(-2)

    def mlp(enc, dec, l1, l2):
        pairs = torch.cat([enc, dec.expand(enc.shape[0], -1)], dim=1)
        a = torch.softmax(torch.tanh(pairs @ l1) @ l2, dim=0)
        return a @ enc

    return {"sdpa": sdpa, "pool": pool, "bahdanau": bahdanau, "mlp": mlp}


def speedups(rounds, quick):
    g = np.random.default_rng(1)
    f = lambda *shape: g.standard_normal(shape).astype(np.float32)  # noqa: E731
    t = torch_cases()
    rows = []

    def case(example, shape, numpy_fn, attnkern_fn, torch_fn, args):
        cands = {"numpy": lambda: numpy_fn(*args), "attnkern": lambda: attnkern_fn(*args)}
        if torch_fn is not None:
            targs = [torch.from_numpy(a) for a in args]
            cands["torch"] = lambda: torch_fn(*targs)
        m = medians(cands, rounds)
        rows.append({"example": example, "shape": shape, "numpy_us": m["numpy"] * 1e6, "attnkern_us": m["attnkern"] * 1e6,
                     "torch_us": m["torch"] * 1e6 if "torch" in m else None})

    for s, d in ((4, 3), (1024, 64))[:1 if quick else 2]:
        heads = 1 if s == 4 else 8
        case("sdpa_words", f"{heads} x {s} x {d}", lambda q, k, v: rowwise_softmax(q @ k.swapaxes(-1, -2) / d ** 0.5) @ v,
             attnkern.attention, t.get("sdpa"), [f(heads, s, d), f(heads, s, d), f(heads, s, d)])
    for batch, steps, feat in ((32, 60, 128), (256, 512, 256))[:1 if quick else 2]:
        case("attention_pool_batch", f"{batch} x {steps} x {feat}", notebook_pool, attnkern.attention_pool, t.get("pool"),
             [f(batch, steps, feat), 0.1 * f(feat), 0.1 * f(steps)])
    for batch, steps, dim in ((1, 4, 3), (64, 200, 256))[:1 if quick else 2]:
        case("bahdanau_step", f"{batch} x {steps} x {dim}", lambda k, q, v, vals: notebook_bahdanau(k, q, v, vals),
             attnkern.additive_attention, t.get("bahdanau"), [f(batch, steps, dim), f(batch, dim), f(dim) / dim, f(batch, steps, dim)])
    for steps, dim, hidden in ((5, 16, 10), (2048, 256, 128))[:1 if quick else 2]:
        def ak_mlp(enc, dec, l1, l2, dim=dim):
            return attnkern.additive_attention(enc @ l1[:dim], dec @ l1[dim:], l2, enc)
        case("additive_mlp", f"{steps} x {dim} -> {hidden}", notebook_mlp, ak_mlp, t.get("mlp"),
             [f(steps, dim), f(dim), f(2 * dim, hidden) / dim, f(hidden) / hidden])
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", help="write the results there")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--quick", action="store_true", help="only the notebooks' shapes (the tests' short run)")
    a = p.parse_args()
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    info = {"cpu": model_name(), "cores": os.cpu_count(), "attnkern_threads": attnkern.num_threads(), "isa": attnkern.isa(),
            "threading": attnkern.threading_mode(),
            "numpy": np.__version__, "torch": torch.__version__ if torch is not None else None,
            "torch_threads": torch.get_num_threads() if torch is not None else None, "rounds": a.rounds}
    print(f"python bench: {info['cpu']}, {info['cores']} cores; attnkern {attnkern.__version__} ({info['isa']}, "
          f"{info['attnkern_threads']} threads, {info['threading']}), NumPy {info['numpy']}, "
          + (f"PyTorch {info['torch']} ({info['torch_threads']} threads)" if torch is not None
             else "PyTorch: not installed (python3-torch), its column is skipped"))
    result = {"info": info, "overhead": overhead(a.rounds), "speedup": speedups(a.rounds, a.quick)}
    print("\nThe Python call over the C call (medians; 'out=': into a given array, 'new': allocating the result):")
    print(f"{'call':<22}{'C':>10}{'Python, out=':>15}{'Python, new':>14}{'overhead out=':>15}{'overhead new':>14}")
    for r in result["overhead"]:
        call = f"{r['function']} {r['shape'][0]}x{r['shape'][1]}"
        print(f"{call:<22}{r['c_us']:>8.2f}µs{r['python_out_us']:>13.2f}µs{r['python_new_us']:>12.2f}µs"
              f"{r['overhead_out_us']:>13.2f}µs{r['overhead_new_us']:>12.2f}µs")
    print("\nattnkern against the notebooks' NumPy code and PyTorch (medians per call; speed-up = their time / attnkern's):")
    print(f"{'example':<22}{'shape':<18}{'NumPy':>12}{'PyTorch':>12}{'attnkern':>12}{'vs NumPy':>10}{'vs PyTorch':>12}")
    for r in result["speedup"]:
        tt = f"{r['torch_us']:.1f}" if r["torch_us"] is not None else "-"
        vt = f"{r['torch_us'] / r['attnkern_us']:.1f}x" if r["torch_us"] is not None else "-"
        print(f"{r['example']:<22}{r['shape']:<18}{r['numpy_us']:>10.1f}µs{tt:>10}µs{r['attnkern_us']:>10.1f}µs"
              f"{r['numpy_us'] / r['attnkern_us']:>9.1f}x{vt:>12}")
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
