#!/usr/bin/env python3
"""Each error bound is defined once, in include/attnkern/bounds.hpp; everywhere else it is quoted with
its name, as `name (value)`, e.g. "softmax_max_rel_error (1e-6)". This checks every such quote in the
README, docs/, the public headers and the kernels' headers against the definition, so that a bound
changed in bounds.hpp cannot stay stale elsewhere.

usage: check_bound_quotes.py [SOURCE_DIR]   (exit 0: all quotes agree; 1: a quote disagrees; 2: bad input)
"""
import math
import pathlib
import re
import sys


def definitions(bounds_hpp):
    """name -> value of every `constexpr <type> name = value;` in bounds.hpp."""
    defs = {}
    for m in re.finditer(r"constexpr\s+[\w:]+\s+(\w+)\s*=\s*([^;]+);", bounds_hpp.read_text()):
        text = m.group(2).strip()
        try:
            defs[m.group(1)] = float.fromhex(text) if text.startswith("0x") else float(text)
        except ValueError:
            print(f"check_bound_quotes: cannot read the value of {m.group(1)}: {text}", file=sys.stderr)
            sys.exit(2)
    return defs


def quoted_value(text):
    """The number a quote starts with: 1e-6, 2^-126, 1 (of "1 ULP"), 0x1p-126; None if none."""
    text = text.strip()
    m = re.match(r"2\^\s*(-?\d+)", text)
    if m:
        return 2.0 ** int(m.group(1))
    m = re.match(r"0x[0-9a-fA-F.]+p[-+]?\d+", text)
    if m:
        return float.fromhex(m.group(0))
    m = re.match(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?", text)
    return float(m.group(0)) if m else None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    bounds = root / "include/attnkern/bounds.hpp"
    if not bounds.is_file():
        print(f"check_bound_quotes: {bounds} not found", file=sys.stderr)
        return 2
    defs = definitions(bounds)
    files = [root / "README.md", *sorted((root / "docs").glob("*.md")), *sorted((root / "include/attnkern").glob("*.h*")),
             *sorted((root / "kernels").rglob("*.hpp"))]
    pattern = re.compile(r"`?\b(" + "|".join(map(re.escape, defs)) + r")\b`?\s*\(([^()]*)\)")
    checked, wrong = 0, []
    for path in files:
        if path == bounds or not path.is_file():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for m in pattern.finditer(line):
                value = quoted_value(m.group(2))
                if value is None:  # a call such as additive_attention_max_error(v_l1), not a quote
                    continue
                checked += 1
                if not math.isclose(value, defs[m.group(1)], rel_tol=1e-12):
                    wrong.append(f"{path.relative_to(root)}:{number}: {m.group(0)} but bounds.hpp has {m.group(1)} = {defs[m.group(1)]:g}")
    for w in wrong:
        print(w)
    print(f"check_bound_quotes: {checked} quotes of {len(defs)} bounds checked, {len(wrong)} disagree")
    if checked == 0:
        print("check_bound_quotes: no quote found; the pattern or the files have changed", file=sys.stderr)
        return 2
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
