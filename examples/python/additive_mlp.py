#!/usr/bin/env python3
"""Additive attention written as an MLP on [encoder; decoder]: the notebook's NumPy code beside
attnkern.additive_attention. The MLP's first layer splits into keys = enc @ layer_1[:16] and
query = dec @ layer_1[16:], its second layer is v."""
import numpy as np

import attnkern
from notebook_common import Checker, arguments, check_additive, heatmaps, load, speed


def notebook_mlp(enc, dec, layer_1, layer_2):
    """The notebook's code: the MLP on each [enc_j; dec], softmax, the weighted sum of the encoder states."""
    pairs = np.concatenate([enc, np.repeat(dec[None, :], enc.shape[0], axis=0)], axis=1)
    scores = (np.tanh(pairs @ layer_1) @ layer_2).ravel()
    weights = np.exp(scores - scores.max())
    weights /= weights.sum()
    return weights @ enc, weights


def main():
    args = arguments(__doc__)
    g = load(f"{args.data}/additive_mlp.txt")
    check = Checker()
    enc, dec, layer_1, layer_2 = g["encoder_states"], g["decoder_state"].ravel(), g["layer_1"], g["layer_2"].ravel()
    np_context, np_weights = notebook_mlp(enc, dec, layer_1, layer_2)
    d = enc.shape[1]
    weights = check_additive(check, g, enc @ layer_1[:d], dec @ layer_1[d:], layer_2, enc, np_context)
    if not args.no_timing:
        print("Speed, one call (median), float32 in both; attnkern given keys and query projected, NumPy its MLP:")
        rng = np.random.default_rng(0)
        for steps, dim, hidden in ((5, 16, 10), (2048, 256, 128)):
            e = rng.standard_normal((steps, dim)).astype(np.float32)
            dd = rng.standard_normal(dim).astype(np.float32)
            l1 = (rng.standard_normal((2 * dim, hidden)) / dim).astype(np.float32)
            l2 = (rng.standard_normal(hidden) / hidden).astype(np.float32)
            speed(f"steps {steps}, features {dim}, hidden {hidden}", lambda: notebook_mlp(e, dd, l1, l2),
                  lambda: attnkern.additive_attention(e @ l1[:dim], dd @ l1[dim:], l2, e))
        print()
    if args.plot:
        heatmaps(args.plot, "additive_mlp", [("attention weights", weights[None, :], "encoder step", "decoder step")])
    check.exit()


if __name__ == "__main__":
    main()
