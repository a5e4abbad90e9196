#!/usr/bin/env bash
# The aarch64 stage of the test command: cross-compiles the library and its Catch2 unit tests for
# aarch64 (Debian's g++-aarch64-linux-gnu, cmake/toolchains/aarch64-linux-gnu.cmake; Release, in
# build-aarch64/) and runs them under qemu-user (qemu-aarch64 -L /usr/aarch64-linux-gnu: the cross
# packages' sysroot), on every path the emulated CPU offers (neon and scalar):
#   - the unit tests, a reduced set (ATTNKERN_TEST_REDUCED=1, tests/support.hpp: fewer random cases,
#     fewer very long softmax rows, the memory tests on the neon path only), and the ATTNKERN_ISA
#     start-up checks; each test case's time in build-aarch64/unit-tests.log;
#   - tanh and softmax's exp against float64 on every ATTNKERN_AARCH64_STRIDE-th float input
#     (attnkern-ulp --stride; default 61, as the sanitizer build's check);
# ATTNKERN_AARCH64_FULL=1 runs the whole unit suite instead (more than 32 minutes on 2 cores: its cases but
# one took 32 min, the memory test on the caller's pool was not timed).
# Installs what is missing through tools/setup.sh aarch64 (the cross toolchain and qemu-user).
# Emulated, so nothing here says how fast attnkern runs on Arm. Extra arguments go to attnkern-tests
# (a selection, e.g. "[tanh]").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTNKERN_AARCH64_BUILD_DIR:-$root/build-aarch64}
sysroot=/usr/aarch64-linux-gnu
stride=${ATTNKERN_AARCH64_STRIDE:-61}
start=$SECONDS

"$root/tools/setup.sh" aarch64
qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
[ -n "$qemu" ] || { echo "test_aarch64: qemu-aarch64 not found (tools/setup.sh aarch64 installs qemu-user)" >&2; exit 1; }
# ATTNKERN_TEST_UNDER_QEMU: the fork tests are skipped (qemu-user 7.2 aborts a forked child of a
# threaded process when the child starts a thread: plugins/core.c, qemu_plugin_vcpu_init_hook)
run() { ATTNKERN_TEST_UNDER_QEMU=1 "$qemu" -L "$sysroot" "$@"; }

mkdir -p "$build"
log="$build/build.log"
echo "test_aarch64: cross-compiling attnkern and its unit tests for aarch64 (Release) in ${build#"$root"/}/ ..."
if ! { cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
         -DCMAKE_BUILD_TYPE=Release -DATTNKERN_BUILD_TESTS=ON &&
       cmake --build "$build" -j"$(nproc)" --target attnkern-tests attnkern-pool-tests attnkern-ulp; } >"$log" 2>&1; then
  tail -60 "$log" >&2
  echo "test_aarch64: build FAILED (full log: $log)" >&2
  exit 1
fi
tests="$build/tests/attnkern-tests"
echo "test_aarch64: built in $((SECONDS - start)) s; running under $qemu -L $sysroot"

cd "$build/tests"
t=$SECONDS
# each test case's time goes to unit-tests.log (Catch2's --durations), shown in full on a failure
log="$build/unit-tests.log"
reduced=1
[ "${ATTNKERN_AARCH64_FULL:-0}" = 1 ] && reduced=0
# The emulated tests run mostly on one thread each, so the suite runs as two processes side by side
# (the wall time halves on 2 cores): the test cases of the tags below (about half of the time under
# qemu: 282 s of 565 on the AMD EPYC) and all the others. Arguments (a filter) run as one process.
rm -f "$log".?
# (tools/unit_parts.sh: the two parts side by side; or the filters given, in one)
source "$root/tools/unit_parts.sh"
unit() { ATTNKERN_ISA= ATTNKERN_TEST_REDUCED=$reduced run "$tests" "$@"; }
if [ $# -gt 0 ]; then
  if ! unit "$@" --durations yes >"$log" 2>&1; then
    grep -v "^[0-9.]* s: " "$log" | tail -60 >&2
    echo "test_aarch64: unit tests FAILED under qemu (full output: $log)" >&2
    exit 1
  fi
  grep -E "^(All tests passed|test cases:)" "$log" || true
elif ! unit_in_parts "$log" unit; then
  echo "test_aarch64: unit tests FAILED under qemu (full output: $log)" >&2
  exit 1
fi
# the library's thread pool on its own (tests/test_pool.cpp): its atomics and its yield on AArch64
run "$build/tests/attnkern-pool-tests" >/dev/null || { echo "test_aarch64: the pool's tests FAILED under qemu" >&2; exit 1; }
# ATTNKERN_ISA picks the initial path; an unusable value is ignored (tests/CMakeLists.txt's env tests)
ATTNKERN_ISA=scalar run "$tests" "[.env]" >/dev/null
ATTNKERN_ISA=no-such-isa run "$tests" "[.env-bad]" >/dev/null
echo "test_aarch64: unit tests passed under qemu in $((SECONDS - t)) s"
# the per-ISA object defines no weak symbol but its ISA's (kernels/simd/isa_namespace.hpp)
"$root/tests/check_isa_symbols.sh" "$build"/CMakeFiles/attnkern_kernels.dir/kernels/isa_*.cpp.o >/dev/null

t=$SECONDS
run "$build/tools/attnkern-ulp" --function tanh --stride "$stride" --quiet
run "$build/tools/attnkern-ulp" --function exp --stride "$stride" --quiet
echo "test_aarch64: tanh and exp on 1 input in $stride passed under qemu in $((SECONDS - t)) s"
echo "test_aarch64: passed in $((SECONDS - start)) s"
