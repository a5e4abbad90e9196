"""What the four notebook examples share: the golden files of tests/data/, the printout of a result beside
its expectation, the timing of the notebook's NumPy code against attnkern, and the heatmaps (--plot)."""
import argparse
import pathlib
import sys
import time

import numpy as np

DATA = pathlib.Path(__file__).resolve().parent.parent.parent / "tests" / "data"


def arguments(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--plot", nargs="?", const="plots", metavar="DIR",
                   help="draw the attention weights as heatmaps (matplotlib) into DIR (default: plots/)")
    p.add_argument("--data", default=str(DATA), help="the folder of the golden files (default: tests/data)")
    p.add_argument("--no-timing", action="store_true", help="skip the speed comparison")
    return p.parse_args()


def load(path):
    """The arrays of a golden file: lines 'name rows cols', then rows lines of values (float64)."""
    arrays, lines = {}, [l for l in pathlib.Path(path).read_text().splitlines() if l.strip() and not l.startswith("#")]
    i = 0
    while i < len(lines):
        name, rows, cols = lines[i].split()
        rows, cols = int(rows), int(cols)
        arrays[name] = np.array([[float(v) for v in lines[i + 1 + r].split()] for r in range(rows)]).reshape(rows, cols)
        i += 1 + rows
    return arrays


class Checker:
    """Prints results beside expectations; remembers whether every one was within its tolerance."""

    def __init__(self):
        self.ok = True

    def compare(self, title, got, expected, tolerance, show=4, got_label="attnkern", expected_label="NumPy, float64",
                tolerance_text=None):
        """Within when every |got - expected| <= tolerance: a number, or one per element (broadcast), as a
        relative bound gives it (bound |expected| + floor). A NaN is never within."""
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64).reshape(got.shape)
        tolerance = np.asarray(tolerance, dtype=np.float64)
        tolerance = tolerance.reshape(got.shape) if tolerance.size == got.size else np.broadcast_to(tolerance, got.shape)
        difference = np.abs(got - expected)
        within = bool(np.all(difference <= tolerance))
        self.ok &= within
        diff = float(np.max(difference)) if got.size else 0.0
        with np.printoptions(precision=6, suppress=False, linewidth=120):
            print(f"{title}")
            print(f"  {got_label}:\n{indent(got, show)}")
            print(f"  {expected_label}:\n{indent(expected, show)}")
        if tolerance_text is None:
            tolerance_text = f"{float(tolerance.flat[0]):.3g}" if got.size else "none"
        with np.errstate(divide="ignore", invalid="ignore"):
            worst = float(np.max(np.where(difference == 0, 0.0, difference / tolerance))) if got.size else 0.0
        print(f"  max |difference| = {diff:.3g}, at most {worst:.3g} of its tolerance ({tolerance_text}): "
              f"{'ok' if within else 'TOO LARGE'}\n")
        return diff

    def exit(self):
        print("all results within their tolerances" if self.ok else "SOME RESULTS ARE OUTSIDE THEIR TOLERANCES")
        sys.exit(0 if self.ok else 1)


def check_additive(check, golden, keys, query, v, values, np_context):
    """attnkern.additive_attention on the float64 inputs rounded to float32, against the golden file as
    documented: each weight within additive_attention_max_error(||v||_1) relative, the context within it
    times max|values|, each plus attention_abs_floor (||v||_1 and max|values| of the float32 values the
    kernel reads); and the notebook's NumPy context against it within golden_tolerance. Returns the weights."""
    import attnkern
    b = attnkern.bounds
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    context, weights = attnkern.additive_attention(f32(keys), f32(query), f32(v), f32(values), return_weights=True)
    bound = b.additive_attention_max_error(float(np.abs(f32(v).astype(np.float64)).sum()))
    check.compare("weights, attnkern vs the golden float64", weights, golden["weights"],
                  bound * np.abs(golden["weights"]) + b.attention_abs_floor,
                  tolerance_text=f"{bound:.3g} relative, plus 2^-126")
    scale = float(np.abs(f32(values)).max())
    check.compare("context, attnkern vs the golden float64", context, golden["context"],
                  bound * scale + b.attention_abs_floor, tolerance_text=f"{bound:.3g} x max|values| {scale:.3g}, plus 2^-126")
    check.compare("context, the notebook's NumPy code vs the golden float64", np_context, golden["context"],
                  b.golden_tolerance, got_label="NumPy, the notebook's code")
    return weights


def indent(a, show):
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:show, :8]
    elif a.ndim == 1:
        a = a[:8]
    return "\n".join("    " + line for line in str(a).splitlines())


def per_call(fn, target=0.01):
    """Seconds per call of fn, over a batch of calls lasting about `target` seconds (bench/python_bench.py's
    timer too)."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    n = max(1, int(target / once))
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def seconds_per_call(fn, budget=0.2):
    """The median time of one call of fn, over batches of calls for about `budget` seconds (5 at least)."""
    fn()
    samples = []
    end = time.perf_counter() + budget
    while time.perf_counter() < end or len(samples) < 5:
        samples.append(per_call(fn))
    return float(np.median(samples))


def speed(label, numpy_fn, attnkern_fn):
    a, b = seconds_per_call(numpy_fn), seconds_per_call(attnkern_fn)
    print(f"  {label}: NumPy {fmt(a)}, attnkern {fmt(b)}: {a / b:.1f}x")


def fmt(s):
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def heatmaps(directory, name, matrices):
    """matrices: [(title, matrix, xlabel, ylabel)]; one PNG per matrix in directory."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot: matplotlib is not installed (Debian: python3-matplotlib); no plots drawn")
        return
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for i, (title, m, xlabel, ylabel) in enumerate(matrices):
        fig, ax = plt.subplots(figsize=(6, 4))
        im = ax.imshow(np.atleast_2d(m), cmap="viridis", aspect="auto")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        fig.colorbar(im, ax=ax)
        path = out / f"{name}_{i + 1}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        print(f"  heatmap: {path}")
