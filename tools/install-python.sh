#!/usr/bin/env bash
# Installs the Python module attnkern for the system python3 (/usr/bin/python3): the set-up
# (tools/setup.sh: pybind11-dev, python3-dev, python3-numpy among the rest), the extension built in
# build/ (tools/build.sh), and the package copied into python3's site directory for local packages
# (on Debian 12 /usr/local/lib/python3.11/dist-packages; root, or sudo, writes there). Nothing comes
# from a Python package index. Ends by importing it from another directory:
#   python3 -c "import attnkern; print(attnkern.__version__, attnkern.isa())"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh" _attnkern
python=$(sed -n 's/^ATTNKERN_PYTHON_EXECUTABLE:[A-Z]*=//p' "$root/build/CMakeCache.txt")
site=$(sed -n 's/^ATTNKERN_PYTHON_INSTALL_DIR:[A-Z]*=//p' "$root/build/CMakeCache.txt")
[ -n "$site" ] && [ -n "$python" ] || { echo "install-python: the build did not configure the Python module (see build/build.log)" >&2; exit 1; }
sudo=()
if [ "$(id -u)" -ne 0 ] && [ ! -w "$(dirname "$site")" ]; then sudo=(sudo); fi
echo "install-python: installing the package attnkern into $site (for $python) ..."
"${sudo[@]}" cmake --install "$root/build" --component python >/dev/null
cd /
"$python" -c "import attnkern; print('install-python: import attnkern works:', attnkern.__version__, attnkern.isa(), 'from', attnkern.__file__)"
