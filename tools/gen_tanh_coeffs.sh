#!/usr/bin/env bash
# Regenerates kernels/simd/tanh_coeffs.hpp from tools/tanh_coeffs.sollya (needs Debian's sollya,
# which tools/setup.sh installs). With --check, compares instead of writing and exits 1 on a difference.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../kernels/simd/tanh_coeffs.hpp"
command -v sollya >/dev/null || { echo "gen_tanh_coeffs: sollya is not installed (apt-get install sollya)" >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# sollya prints notices about precision and display modes on stdout; keep only the generated lines.
sollya --warnonstderr "$here/tanh_coeffs.sollya" </dev/null \
  | grep -v -e '^The precision has been set' -e '^Display mode is' > "$tmp"
if [ "${1:-}" = "--check" ]; then
  if diff -u "$out" "$tmp"; then echo "tanh_coeffs.hpp is up to date"; else echo "tanh_coeffs.hpp differs from what the script generates" >&2; exit 1; fi
else
  mv "$tmp" "$out"; trap - EXIT
  echo "wrote $out"
fi
