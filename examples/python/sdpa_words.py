#!/usr/bin/env python3
"""Scaled dot-product attention on four words: the notebook's NumPy code beside attnkern.attention.

The notebook called scipy.special.softmax without axis=, which normalizes all 16 scores at once; its
printed table is that whole-matrix result, shown here as it printed it, with the row-wise answer
(what attention means, and what attnkern computes) beside it."""
import numpy as np

import attnkern
from notebook_common import Checker, arguments, heatmaps, load, speed


def notebook_softmax(x):
    """scipy.special.softmax(x) with no axis: one softmax over every entry."""
    e = np.exp(x - x.max())
    return e / e.sum()


def rowwise_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def main():
    args = arguments(__doc__)
    g = load(f"{args.data}/sdpa_words.txt")
    check = Checker()
    words = g["words"]
    # the notebook's code
    Q, K, V = words @ g["W_Q"], words @ g["W_K"], words @ g["W_V"]
    scores = Q @ K.T
    whole = notebook_softmax(scores / K.shape[1] ** 0.5) @ V
    rowwise = rowwise_softmax(scores / K.shape[1] ** 0.5) @ V
    # attnkern: float32 in, as it takes them
    q, k, v = (m.astype(np.float32) for m in (Q, K, V))
    out = attnkern.attention(q, k, v)  # 2-D: (seq, dim), scale 1/sqrt(3)
    tol = attnkern.bounds.golden_tolerance
    check.compare("1. The notebook's table: softmax over all 16 scores at once, then @ V (NumPy, as printed)",
                  whole, g["attention_whole_matrix"], tol, got_label="NumPy, the notebook's code",
                  expected_label="the golden file (the notebook's printed table)")
    check.compare("   Row-wise attention, attnkern.attention(q, k, v) vs the golden float64 rows",
                  out, g["attention_rowwise"], tol, expected_label="the golden file, float64")
    weights = attnkern.softmax((Q @ K.T / 3 ** 0.5).astype(np.float32))
    print("The two differ: the whole-matrix softmax makes each word's weights sum to its share of the whole,\n"
          "not to 1, so its rows are not weighted averages of V. attnkern (and attention) normalize each row.\n")
    if not args.no_timing:
        print("Speed, one call (median):")
        speed("notebook shape, 4 words x 3", lambda: rowwise_softmax(Q @ K.T / 3 ** 0.5) @ V,
              lambda: attnkern.attention(q, k, v))
        rng = np.random.default_rng(0)
        big = [rng.standard_normal((8, 1024, 64)).astype(np.float32) for _ in range(3)]
        speed("8 heads x 1024 tokens x 64",
              lambda: rowwise_softmax(big[0] @ big[1].transpose(0, 2, 1) / 8.0) @ big[2],
              lambda: attnkern.attention(*big))
        print()
    if args.plot:
        heatmaps(args.plot, "sdpa_words", [
            ("row-wise weights (attnkern)", weights, "key (word)", "query (word)"),
            ("the notebook's whole-matrix weights", notebook_softmax(scores / 3 ** 0.5), "key (word)", "query (word)")])
    check.exit()


if __name__ == "__main__":
    main()
