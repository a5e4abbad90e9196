#!/usr/bin/env python3
"""Draw attnkern-examples' attention weights as PNG heatmaps (matplotlib).

    plot_examples.py HEATMAPS.json OUT_DIR

HEATMAPS.json: a list of {file, title, x_label, y_label, x_ticks, y_ticks, rows, cols, values
(row-major)}, as attnkern-examples --plot writes it. Each heatmap is labelled, with a colour bar;
cells carry their value when the matrix is small. Exit status 0, 1 on a failure (message on stderr).
"""
import json
import os
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 1
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_examples: matplotlib is not installed (apt-get install python3-matplotlib)", file=sys.stderr)
        return 1
    with open(sys.argv[1]) as f:
        maps = json.load(f)
    for m in maps:
        rows, cols = m["rows"], m["cols"]
        grid = [m["values"][r * cols:(r + 1) * cols] for r in range(rows)]
        width = min(12.0, 2.5 + 0.55 * cols)
        height = min(10.0, 1.8 + 0.45 * rows) if rows > 1 else 2.2
        fig, ax = plt.subplots(figsize=(max(width, 5.5), height))
        image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=0)
        bar = fig.colorbar(image, ax=ax)
        bar.set_label("attention weight")
        ax.set_title(m["title"], fontsize=10)
        ax.set_xlabel(m["x_label"])
        ax.set_ylabel(m["y_label"])
        step_x = max(1, cols // 16)
        step_y = max(1, rows // 20)
        ax.set_xticks(range(0, cols, step_x))
        ax.set_xticklabels(m["x_ticks"][::step_x], fontsize=8, rotation=0)
        ax.set_yticks(range(0, rows, step_y))
        ax.set_yticklabels(m["y_ticks"][::step_y], fontsize=8)
        if rows * cols <= 64:
            top = max(max(row) for row in grid) or 1
            for r in range(rows):
                for c in range(cols):
                    v = grid[r][c]
                    ax.text(c, r, f"{v:.3f}", ha="center", va="center", fontsize=8,
                            color="black" if v > 0.6 * top else "white")
        fig.tight_layout()
        fig.savefig(os.path.join(sys.argv[2], m["file"]), dpi=110)
        plt.close(fig)
    print(f"plot_examples: {len(maps)} heatmaps in {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
