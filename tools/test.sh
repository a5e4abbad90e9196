#!/usr/bin/env bash
# The test command: installs what is missing, builds what is stale (Release, in build/), and runs
# every test: unit tests on every ISA path (guard pages, concurrency, memory among them), the
# exhaustive tanh and exp checks, the coefficient check, the numerics fingerprint, the notebooks'
# examples, the report and comparison tools, the install check, and the Python module (pytest in
# tests/python/, the notebooks' Python examples against the golden values, its install rules). Then the same unit, numerics
# and examples tests, and the tanh and exp checks on every 61st input, again in an AddressSanitizer
# + UndefinedBehaviorSanitizer build (build-sanitize/; any report fails), the unit tests in a ThreadSanitizer build (build-tsan/,
# clang and LLVM's OpenMP runtime with its Archer tool, which tells TSan about OpenMP's
# synchronisation; any report fails), and the six libFuzzer targets for 40 s each with a minimum
# number of executions (tests/fuzz.sh, build-fuzz/; FUZZ_SECONDS changes the 40 s). ATTNKERN_SKIP_SANITIZERS=1 skips all three. Extra
# arguments go to the first ctest (e.g. -L exhaustive, -E install).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/unit_parts.sh"

# ctest_named DIR NAME...: runs exactly the tests NAME... of the build in DIR, and fails when one of
# them does not exist there (a renamed or unregistered test must not make a stage pass by running
# nothing).
ctest_named() {
  local dir=$1 name missing=()
  shift
  for name in "$@"; do
    (cd "$dir" && ctest -N -R "^${name}\$" | grep -q "^Total Tests: 1$") || missing+=("$name")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "test: ${dir#"$root"/}/ has no test named: ${missing[*]}" >&2
    return 1
  fi
  local IFS='|'
  (cd "$dir" && ctest --output-on-failure --no-tests=error -R "^($*)\$")
}

"$root/tools/setup.sh"
"$root/tools/build.sh"
(cd "$root/build" && ctest --output-on-failure --no-tests=error "$@")

# The aarch64 stage: the library and its unit tests cross-compiled for aarch64 and run under
# qemu-user, on the neon and scalar paths, with tanh and exp on every 61st input
# (tools/test_aarch64.sh, build-aarch64/; it installs the cross toolchain and qemu-user).
# ATTNKERN_SKIP_AARCH64=1 skips it.
if [ "${ATTNKERN_SKIP_AARCH64:-0}" = 1 ]; then
  echo "test: the aarch64 stage is skipped (ATTNKERN_SKIP_AARCH64=1)"
else
  "$root/tools/test_aarch64.sh"
fi

if [ "${ATTNKERN_SKIP_SANITIZERS:-0}" = 1 ]; then
  echo "test: the sanitizer build and the fuzzing are skipped (ATTNKERN_SKIP_SANITIZERS=1)"
  exit 0
fi
echo "test: the same tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-sanitize/) ..."
ATTNKERN_BUILD_DIR="$root/build-sanitize" \
  ATTNKERN_CMAKE_ARGS="-DATTNKERN_SANITIZE=ON -DATTNKERN_BUILD_BENCH=OFF" \
  "$root/tools/build.sh" attnkern-tests attnkern-pool-tests attnkern-ulp attnkern-numerics attnkern-examples
# halt at the first report of either sanitizer; leaks count too
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest_named "$root/build-sanitize" pool env_isa env_isa_unusable tanh_strided exp_strided ulp_cli numerics_fingerprint examples
# the unit tests (ctest's "unit") in two parts side by side, one per core (tools/unit_parts.sh)
sanitized_unit() { ATTNKERN_ISA= "$1/tests/attnkern-tests" "${@:2}"; }
echo "test: unit tests (ASan + UBSan), two parts side by side ..."
unit_in_parts "$root/build-sanitize/unit-tests.log" sanitized_unit "$root/build-sanitize" ||
  { echo "test: unit tests FAILED under ASan + UBSan (full output: build-sanitize/unit-tests.log)" >&2; exit 1; }
unset ASAN_OPTIONS UBSAN_OPTIONS

echo "test: the unit tests under ThreadSanitizer (build-tsan/) ..."
# Archer: the OMPT tool of LLVM's libomp that reports OpenMP's barriers and regions to TSan (libomp
# itself is not instrumented, hence ignore_noninstrumented_modules). Without it every parallel
# region would be reported.
archer="$(dirname "$(dirname "$(clang -print-resource-dir)")")/libarcher.so"
[ -f "$archer" ] || { echo "test: $archer not found (tools/setup.sh installs libomp-14-dev)" >&2; exit 1; }
CC=clang CXX=clang++ ATTNKERN_BUILD_DIR="$root/build-tsan" \
  ATTNKERN_CMAKE_ARGS="-DATTNKERN_TSAN=ON -DBUILD_SHARED_LIBS=OFF -DATTNKERN_BUILD_BENCH=OFF -DATTNKERN_BUILD_TOOLS=OFF" \
  "$root/tools/build.sh" attnkern-tests attnkern-pool-tests
# die_after_fork=0: the fork tests' children start pool workers of their own
export OMP_TOOL_LIBRARIES="$archer" ARCHER_OPTIONS="verbose=1" TSAN_OPTIONS="halt_on_error=1:ignore_noninstrumented_modules=1:die_after_fork=0"
ctest_named "$root/build-tsan" pool
echo "test: unit tests (TSan), two parts side by side ..."
unit_in_parts "$root/build-tsan/unit-tests.log" sanitized_unit "$root/build-tsan" ||
  { echo "test: unit tests FAILED under TSan (full output: build-tsan/unit-tests.log)" >&2; exit 1; }
unset OMP_TOOL_LIBRARIES ARCHER_OPTIONS TSAN_OPTIONS
"$root/tests/fuzz.sh"
