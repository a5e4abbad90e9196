#!/usr/bin/env python3
"""The generator of the golden files of tests/data/ (the notebooks' examples): recomputes every expected
array of sdpa_words.txt, attention_pool_batch.txt, bahdanau_step.txt and additive_mlp.txt from the file's
inputs, in float64 with NumPy, from the maths each file's header comment states, and checks it against the
stored values, or rewrites them (--write).

  gen_golden.py [--write] [--ulps N] [DATA_DIR]      (DATA_DIR: default tests/data beside this tools/)

- Inputs are used as stored, except those the header calls float32, which are rounded to float32 first
  (the normal case of attention_pool_batch.txt). Where the header names a numpy RandomState seed, the
  inputs are drawn again from it and must equal the stored ones exactly.
- Every dot product and sum is math.fsum of the float64 terms (one rounding), so the result does not
  depend on NumPy's or BLAS's summation order; exp and tanh are NumPy's.
- Check (the default): each recomputed value must be within N float64 ULPs (--ulps, default 8) of the
  stored one, relative to the largest |stored value| of its row: |new - stored| <= N eps max|row|, with
  eps = 2^-52 (a row's small elements are sums with cancellation, whose last bits depend on the order
  of the terms). Prints each array's max difference; exit 1 naming every array beyond it.
- --write: rewrites the expected arrays' value lines in place (shortest round-trip decimals, integers
  where the file had integers); comment lines, array headers and the inputs' lines are kept byte for byte.
- Exit 2 on bad input: a missing file or array, an array the generator does not know, a malformed
  line, inputs that differ from their RandomState seed.
"""
import argparse
import math
import pathlib
import sys

import numpy as np

EPS = np.finfo(np.float64).eps


class BadInput(Exception):
    pass


# ---- the file format: comment lines starting with '#', then arrays as a line 'name rows cols' and
# rows lines of values

def parse(path):
    """[(kind, payload)]: ('text', line) for comment and blank lines, ('array', dict) for arrays."""
    items, lines = [], path.read_text().splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            items.append(("text", line))
            i += 1
            continue
        head = line.split()
        if len(head) != 3 or not head[1].isdigit() or not head[2].isdigit():
            raise BadInput(f"{path.name}:{i + 1}: expected 'name rows cols', got {line.strip()!r}")
        name, rows, cols = head[0], int(head[1]), int(head[2])
        body = lines[i + 1:i + 1 + rows]
        tokens = [l.split() for l in body]
        if len(body) != rows or any(len(t) != cols for t in tokens):
            raise BadInput(f"{path.name}: array {name} is not {rows} lines of {cols} values")
        values = np.array([[float(v) for v in t] for t in tokens], dtype=np.float64).reshape(rows, cols)
        integers = all("." not in v and "e" not in v.lower() and "n" not in v.lower() for t in tokens for v in t)
        items.append(("array", {"name": name, "header": line, "lines": body, "values": values, "integers": integers}))
        i += 1 + rows
    return items


def arrays_of(items):
    return {p["name"]: p["values"] for kind, p in items if kind == "array"}


def text(value, integer):
    if integer and float(value).is_integer():
        return str(int(value))
    return repr(float(value))


# ---- the maths, in float64

def matmul(a, b):
    """a @ b with each element one math.fsum of the products (the products rounded, the sum exact, then rounded)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return np.array([[math.fsum(a[i] * b[:, j]) for j in range(b.shape[1])] for i in range(a.shape[0])])


def softmax(x):
    """Over the last axis: exp(x - max) / their fsum."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / np.array([math.fsum(r) for r in e.reshape(-1, e.shape[-1])]).reshape(e.shape[:-1] + (1,))


def sdpa_words(a):
    """Q = words W_Q, K = words W_K, V = words W_V; scores = Q K^T; scale = 1/sqrt(3); softmax of scale *
    scores over each row, then @ V (attention_rowwise), and over all 16 entries at once, then @ V
    (attention_whole_matrix)."""
    words = a["words"]
    q, k, v = (matmul(words, a[w]) for w in ("W_Q", "W_K", "W_V"))
    scores = matmul(q, k.T)
    scale = 1 / math.sqrt(q.shape[1])
    s = scores * scale
    return {"Q": q, "K": k, "V": v, "scores": scores, "scale": np.array([[scale]]),
            "attention_rowwise": matmul(softmax(s), v),
            "attention_whole_matrix": matmul(softmax(s.reshape(1, -1)).reshape(s.shape), v)}, {}


def attention_pool_batch(a):
    """Per case, e[b,t] = tanh(h[b,t,:] . w + bias[t]); alpha = softmax over t; context[b,:] = sum_t
    alpha[b,t] h[b,t,:]. The integer case's h, w and bias are RandomState(2024).randint(0, 5) draws, in
    that order; the normal case's inputs are float32 values."""
    out = {}
    for case, batch, dtype in (("int", 32, np.float64), ("normal", 4, np.float32)):
        h = a[f"h_{case}"].astype(dtype).astype(np.float64)
        w, bias = (a[f"{x}_{case}"].astype(dtype).astype(np.float64).ravel() for x in ("w", "bias"))
        steps, features = bias.size, w.size
        h = h.reshape(batch, steps, features)
        alpha = np.stack([softmax(np.tanh(matmul(h[b], w[:, None]).ravel() + bias)) for b in range(batch)])
        out[f"alpha_{case}"] = alpha
        out[f"context_{case}"] = np.concatenate([matmul(alpha[b], h[b]) for b in range(batch)])
    g = np.random.RandomState(2024)
    drawn = {"h_int": g.randint(0, 5, (32 * 60, 128)), "w_int": g.randint(0, 5, (1, 128)), "bias_int": g.randint(0, 5, (1, 60))}
    return out, drawn


def bahdanau_step(a):
    """keys = encoder_outputs W_e, query = hidden_state W_h; scores = tanh(keys + query) v; weights =
    softmax(scores); context = weights encoder_outputs. W_h, W_e and v are RandomState(7).rand draws, in
    that order."""
    enc = a["encoder_outputs"]
    keys, query = matmul(enc, a["W_e"]), matmul(a["hidden_state"], a["W_h"])
    scores = matmul(np.tanh(keys + query), a["v"].T).T
    weights = softmax(scores)
    g = np.random.RandomState(7)
    drawn = {"W_h": g.rand(3, 3), "W_e": g.rand(3, 3), "v": g.rand(1, 3)}
    return {"keys": keys, "query": query, "scores": scores, "weights": weights, "context": matmul(weights, enc)}, drawn


def additive_mlp(a):
    """scores = tanh([enc_j; dec] layer_1) layer_2 (the MLP on the concatenation), weights = softmax,
    context = sum_j weights_j enc_j; keys = enc layer_1[:16], query = dec layer_1[16:]. The four inputs
    are RandomState(42).randn draws: encoder_states 5x16, decoder_state 1x16, layer_1 32x10, layer_2 10x1."""
    enc, dec, layer_1, layer_2 = a["encoder_states"], a["decoder_state"], a["layer_1"], a["layer_2"]
    d = enc.shape[1]
    pairs = np.concatenate([enc, np.repeat(dec, enc.shape[0], axis=0)], axis=1)
    scores = matmul(np.tanh(matmul(pairs, layer_1)), layer_2).T
    weights = softmax(scores)
    g = np.random.RandomState(42)
    drawn = {"encoder_states": g.randn(5, 16), "decoder_state": g.randn(1, 16), "layer_1": g.randn(32, 10),
             "layer_2": g.randn(10, 1)}
    return {"keys": matmul(enc, layer_1[:d]), "query": matmul(dec, layer_1[d:]), "scores": scores, "weights": weights,
            "context": matmul(weights, enc)}, drawn


# file -> (its inputs, the function computing its expected arrays and the seeded inputs drawn again)
FILES = {
    "sdpa_words.txt": (("words", "W_Q", "W_K", "W_V"), sdpa_words),
    "attention_pool_batch.txt": (("h_int", "w_int", "bias_int", "h_normal", "w_normal", "bias_normal"),
                                 attention_pool_batch),
    "bahdanau_step.txt": (("hidden_state", "encoder_outputs", "W_h", "W_e", "v"), bahdanau_step),
    "additive_mlp.txt": (("encoder_states", "decoder_state", "layer_1", "layer_2"), additive_mlp),
}


def row_ulps(new, stored):
    """Per element: |new - stored| in float64 ULPs of the largest |stored| value of its row."""
    scale = np.abs(stored).max(axis=1, keepdims=True) * EPS
    diff = np.abs(new - stored)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(diff == 0, 0.0, diff / scale)


def process(path, ulps, write):
    """Checks (or rewrites) one file; returns the names of the arrays beyond the tolerance."""
    inputs, compute = FILES[path.name]
    items = parse(path)
    stored = arrays_of(items)
    missing = [n for n in inputs if n not in stored]
    if missing:
        raise BadInput(f"{path.name}: no input array {', '.join(missing)}")
    expected, drawn = compute(stored)
    for name, values in drawn.items():
        if values.shape != stored[name].shape or not np.array_equal(values, stored[name]):
            raise BadInput(f"{path.name}: {name} differs from its RandomState draw, as the header describes it")
    unknown = sorted(set(stored) - set(inputs) - set(expected))
    absent = sorted(set(expected) - set(stored))
    if unknown or absent:
        raise BadInput(f"{path.name}: " + "; ".join(
            ([f"arrays the generator does not know: {', '.join(unknown)}"] if unknown else []) +
            ([f"expected arrays missing: {', '.join(absent)}"] if absent else [])))
    bad = []
    for kind, p in items:
        if kind != "array" or p["name"] not in expected:
            continue
        name, new = p["name"], expected[p["name"]]
        if new.shape != p["values"].shape:
            raise BadInput(f"{path.name}: {name} is {p['values'].shape}, the generator computes {new.shape}")
        if write:
            p["lines"] = [" ".join(text(x, p["integers"]) for x in row) + "\n" for row in new]
            continue
        e = row_ulps(new, p["values"])
        worst = float(np.abs(new - p["values"]).max())
        ok = bool(np.all(e <= ulps))  # (NaN fails)
        print(f"  {'ok' if ok else 'DIFFERS'}  {path.name} {name}: max |difference| {worst:.3g}, "
              f"{float(np.nanmax(e)) if e.size else 0.0:.2f} ULPs of its row's largest value")
        if not ok:
            bad.append(f"{path.name} {name} (max |difference| {worst:.3g}, {float(np.nanmax(e)):.3g} ULPs)")
    if write:
        out = "".join(p if kind == "text" else p["header"] + "".join(p["lines"]) for kind, p in items)
        path.write_text(out)
        print(f"  written: {path}")
    return bad


def main():
    here = pathlib.Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="?", default=str(here.parent / "tests" / "data"), help="the folder of the golden files")
    p.add_argument("--write", action="store_true", help="rewrite the expected arrays from the inputs")
    p.add_argument("--ulps", type=float, default=8.0,
                   help="the check's tolerance, in float64 ULPs of each row's largest value (default 8)")
    args = p.parse_args()
    data = pathlib.Path(args.data)
    bad = []
    try:
        for name in FILES:
            path = data / name
            if not path.is_file():
                raise BadInput(f"{path} not found")
            bad += process(path, args.ulps, args.write)
    except (BadInput, ValueError) as e:
        print(f"gen_golden: {e}", file=sys.stderr)
        return 2
    if bad:
        print("gen_golden: differs from the recomputation beyond " f"{args.ulps:g} ULPs: " + "; ".join(bad), file=sys.stderr)
        return 1
    if not args.write:
        print(f"gen_golden: every expected array of {len(FILES)} files within {args.ulps:g} ULPs of the recomputation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
