#!/usr/bin/env bash
# The Python package's install rules: `cmake --install <build> --component python` into a staging
# folder (DESTDIR), then the staged package imported by the system python3 from an empty directory.
# usage: install_test.sh BUILD_DIR PYTHON SITE_DIR
set -euo pipefail
build=$1 python=$2 site=$3
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage" cmake --install "$build" --component python >/dev/null
ls "$stage$site/attnkern/" | grep -q '^_attnkern.*\.so$' || { echo "no extension installed in $stage$site/attnkern" >&2; exit 1; }
for f in __init__.py __init__.pyi py.typed; do
  [ -f "$stage$site/attnkern/$f" ] || { echo "$f not installed" >&2; exit 1; }
done
cd "$stage"
PYTHONPATH="$stage$site" "$python" -c "
import numpy as np, attnkern
assert attnkern.__file__.startswith('$stage'), attnkern.__file__
y = attnkern.softmax(np.array([[0.0, 1.0]], np.float32))
assert abs(y.sum() - 1) < 1e-6
print('installed package imports:', attnkern.__version__, attnkern.isa(), attnkern.__file__)
"
