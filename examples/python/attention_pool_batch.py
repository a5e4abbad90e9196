#!/usr/bin/env python3
"""Feed-forward attention pooling over a Bi-LSTM batch of (32, 60, 128): the notebook's NumPy code beside
attnkern.attention_pool, on the notebook's integer batch (every score saturates: uniform weights) and
on a batch of normal inputs."""
import numpy as np

import attnkern
from notebook_common import Checker, arguments, heatmaps, load, speed


def notebook_pool(h, w, bias):
    """The notebook's code: scores, softmax over the steps, the weighted sum."""
    e = np.tanh(h @ w + bias)                      # (batch, steps)
    alpha = np.exp(e - e.max(axis=1, keepdims=True))
    alpha /= alpha.sum(axis=1, keepdims=True)
    return (alpha[:, :, None] * h).sum(axis=1), alpha


def main():
    args = arguments(__doc__)
    g = load(f"{args.data}/attention_pool_batch.txt")
    check = Checker()
    bound = attnkern.bounds.attention_pool_max_error
    plots = []
    for case, batch in (("int", 32), ("normal", 4)):
        h = g[f"h_{case}"].reshape(batch, 60, 128)
        w, bias = g[f"w_{case}"].ravel(), g[f"bias_{case}"].ravel()
        h32, w32, b32 = (a.astype(np.float32) for a in (h, w, bias))
        context, alpha = attnkern.attention_pool(h32, w32, b32, return_weights=True)
        np_context, np_alpha = notebook_pool(h, w, bias)
        floor = attnkern.bounds.attention_abs_floor
        # as documented: each weight within the bound relative, each context within it times max|h| over
        # the positions its item reads (every step: no lengths), each plus the floor
        check.compare(f"{case} batch ({batch}, 60, 128): weights, attnkern vs the golden float64",
                      alpha, g[f"alpha_{case}"], bound * np.abs(g[f"alpha_{case}"]) + floor,
                      tolerance_text=f"{bound:.3g} relative, plus 2^-126")
        check.compare(f"{case} batch: context, attnkern vs the golden float64", context, g[f"context_{case}"],
                      bound * np.abs(h32).max(axis=(1, 2))[:, None] + floor,
                      tolerance_text=f"{bound:.3g} x each item's max|h|, plus 2^-126")
        check.compare(f"{case} batch: context, the notebook's NumPy code vs the golden float64", np_context,
                      g[f"context_{case}"], attnkern.bounds.golden_tolerance, got_label="NumPy, the notebook's code")
        plots.append((f"attention weights, {case} batch", alpha, "step", "batch item"))
    if not args.no_timing:
        print("Speed, one call (median), float32 in both:")
        rng = np.random.default_rng(0)
        for batch, steps, features in ((32, 60, 128), (256, 512, 256)):
            h = rng.standard_normal((batch, steps, features)).astype(np.float32)
            w = (0.1 * rng.standard_normal(features)).astype(np.float32)
            bias = (0.1 * rng.standard_normal(steps)).astype(np.float32)
            speed(f"({batch}, {steps}, {features})", lambda: notebook_pool(h, w, bias),
                  lambda: attnkern.attention_pool(h, w, bias))
        print()
    if args.plot:
        heatmaps(args.plot, "attention_pool_batch", plots)
    check.exit()


if __name__ == "__main__":
    main()
