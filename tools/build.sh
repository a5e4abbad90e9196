#!/usr/bin/env bash
# Configures (first time) and builds what is stale in build/, Release: every target, or only the
# targets named (tools/build.sh attnkern-bench). The compiler's output goes to <build>/build.log and
# is shown only when the build fails. ATTNKERN_BUILD_DIR picks another folder and
# ATTNKERN_CMAKE_ARGS adds configure options (tools/test.sh's sanitizer build uses both).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTNKERN_BUILD_DIR:-$root/build}
read -r -a extra <<<"${ATTNKERN_CMAKE_ARGS:-}"
mkdir -p "$build"
log="$build/build.log"
targets=()
for t in "$@"; do targets+=(--target "$t"); done
echo "build: compiling attnkern (Release) in ${build#"$root"/}/ ${*:+($*) }${extra[*]:+[${extra[*]}] }..."
# The library alone is what a plain configure builds; the project's own commands want everything,
# and want a missing test or benchmark dependency to be an error, not a skipped part.
dev=(-DATTNKERN_BUILD_TESTS=ON -DATTNKERN_BUILD_BENCH=ON -DATTNKERN_BUILD_TOOLS=ON -DATTNKERN_BUILD_PYTHON=ON -DATTNKERN_REQUIRE_DEPS=ON)
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${dev[@]}" "${extra[@]}" && cmake --build "$build" -j"$(nproc)" "${targets[@]}"; } >"$log" 2>&1; then
  tail -60 "$log" >&2
  echo "build: FAILED (full log: $log)" >&2
  exit 1
fi
grep -h "attnkern bench:\|attnkern tests:\|attnkern: note:" "$log" | sed 's/^-- /build: note: /' | sort -u || true
