#!/usr/bin/env bash
# The test command: installs what is missing, builds what is stale (Release, in build/), and runs
# every test: unit tests on every ISA path, the exhaustive tanh check, the coefficient check and
# the install check. Extra arguments go to ctest (e.g. -L exhaustive, -E install).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
cd "$root/build"
ctest --output-on-failure "$@"
