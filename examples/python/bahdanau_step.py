#!/usr/bin/env python3
"""Bahdanau attention on one decoder step: the notebook's NumPy code beside attnkern.additive_attention."""
import numpy as np

import attnkern
from notebook_common import Checker, arguments, check_additive, heatmaps, load, speed


def notebook_bahdanau(keys, query, v, values):
    """The notebook's code, keys = encoder_outputs @ W_e and query = hidden_state @ W_h projected."""
    scores = np.tanh(keys + query[..., None, :]) @ v
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return (weights[..., None] * values).sum(axis=-2), weights


def main():
    args = arguments(__doc__)
    g = load(f"{args.data}/bahdanau_step.txt")
    check = Checker()
    enc, hidden, v = g["encoder_outputs"], g["hidden_state"].ravel(), g["v"].ravel()
    keys, query = enc @ g["W_e"], hidden @ g["W_h"]
    np_context, np_weights = notebook_bahdanau(keys, query, v, enc)
    weights = check_additive(check, g, keys, query, v, enc, np_context)
    if not args.no_timing:
        print("Speed, one call (median), float32 in both:")
        rng = np.random.default_rng(0)
        for batch, steps, dim in ((1, 4, 3), (64, 200, 256)):
            k = rng.standard_normal((batch, steps, dim)).astype(np.float32)
            q = rng.standard_normal((batch, dim)).astype(np.float32)
            vv = (rng.standard_normal(dim) / dim).astype(np.float32)
            speed(f"batch {batch}, steps {steps}, dim {dim}", lambda: notebook_bahdanau(k, q, vv, k),
                  lambda: attnkern.additive_attention(k, q, vv, k))
        print()
    if args.plot:
        heatmaps(args.plot, "bahdanau_step", [("attention weights of the decoder step", weights[None, :],
                                               "encoder step", "decoder step")])
    check.exit()


if __name__ == "__main__":
    main()
