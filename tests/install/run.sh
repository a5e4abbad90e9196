#!/usr/bin/env bash
# The embedder's builds, as an engine would do them:
#  1. a plain configure (no options: the shared library) and one with BUILD_SHARED_LIBS=OFF, both
#     installed into one prefix: only the library, its headers, the CMake package and attnkern.pc;
#  2. find_package consumers against that prefix: C99 and C++17 with the default (shared), with
#     COMPONENTS static and shared, and with ATTNKERN_SHARED_LIBS=OFF; a C-only project (no C++
#     enabled) with each library; and the default against a prefix holding the static library alone;
#     each one's linkage checked;
#  3. pkg-config consumers: shared (with an rpath, as the README says; and a C++ one built with
#     -fno-exceptions, attnkern.hpp's status forms), and static (--static) against a prefix holding
#     the static library alone;
#  4. add_subdirectory of the source tree with the defaults: the library only (and -O3 in a Debug build);
#  5. a missing Catch2 or Google Benchmark: a note and that part off (an error under
#     ATTNKERN_REQUIRE_DEPS);
#  6. the installed tools (ATTNKERN_BUILD_TOOLS=ON) run from their own prefix;
#  7. a build without OpenMP (ATTNKERN_OPENMP=OFF): no OpenMP in the libraries or the packages, and
#     the std::thread pool example (examples/thread_pool.cpp) on it, statically linked.
# Also checks that the shared library has a versioned soname and exports the C API only.
# usage: run.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
work=$2
cmake_bin=${CMAKE:-cmake}
here="$src/tests/install"
rm -rf "$work"
mkdir -p "$work"
log="$work/log.txt"
step() { echo "-- $*"; }
run() { "$@" >>"$log" 2>&1 || { echo "FAILED: $*" >&2; tail -40 "$log" >&2; exit 1; }; }
fail() { echo "install check: $*" >&2; exit 1; }
# links_shared BINARY: whether it needs libattnkern.so at run time
links_shared() { readelf -d "$1" | grep -q 'NEEDED.*libattnkern\.so'; }

prefix="$work/prefix"
step "a plain configure (no options), build, install into $prefix"
run "$cmake_bin" -S "$src" -B "$work/lib-shared"
run "$cmake_bin" --build "$work/lib-shared" -j2
run "$cmake_bin" --install "$work/lib-shared" --prefix "$prefix"
step "the static library (BUILD_SHARED_LIBS=OFF), build, install into the same prefix"
run "$cmake_bin" -S "$src" -B "$work/lib-static" -DBUILD_SHARED_LIBS=OFF
run "$cmake_bin" --build "$work/lib-static" -j2
run "$cmake_bin" --install "$work/lib-static" --prefix "$prefix"
libdir=$(cd "$(dirname "$(find "$prefix" -name 'attnkern.pc' | head -1)")/.." && pwd)
[ -f "$libdir/libattnkern.a" ] && [ -f "$libdir/libattnkern.so" ] || fail "the prefix lacks one of the two libraries"
[ ! -e "$prefix/bin" ] && [ ! -e "$prefix/share/attnkern" ] || fail "a plain install put tools or data into the prefix: $(ls "$prefix")"

step "shared library: soname and exported symbols"
soname=$(readelf -d "$libdir/libattnkern.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "libattnkern.so.0" ] || fail "unexpected soname '$soname'"
others=$(nm -D --defined-only "$libdir/libattnkern.so" | awk '{print $3}' | grep -v '^attnkern_' || true)
[ -z "$others" ] || fail "symbols other than the C API are exported: $others"

# check_linkage shared|static EXECUTABLE...
check_linkage() {
  local want=$1 exe
  shift
  for exe in "$@"; do
    if [ "$want" = static ]; then ! links_shared "$exe" || fail "$exe links libattnkern.so, not the static library"
    else links_shared "$exe" || fail "$exe did not link the shared library"; fi
  done
}
static_prefix="$work/prefix-static"
run "$cmake_bin" --install "$work/lib-static" --prefix "$static_prefix"
# name | prefix | expected linkage | consumer configure arguments
while IFS='|' read -r name where want args; do
  step "find_package consumers (C99 and C++17): $name"
  out="$work/consumer-cmake-${name// /-}"
  # shellcheck disable=SC2086
  run "$cmake_bin" -S "$here" -B "$out" -DCMAKE_PREFIX_PATH="$where" $args
  run "$cmake_bin" --build "$out"
  "$out/c_consumer"
  "$out/cpp_consumer"
  check_linkage "$want" "$out/c_consumer" "$out/cpp_consumer"
done <<CASES
both installed, no component|$prefix|shared|
both installed, COMPONENTS static|$prefix|static|-DATTNKERN_LINKAGE=static
both installed, COMPONENTS shared|$prefix|shared|-DATTNKERN_LINKAGE=shared
both installed, ATTNKERN_SHARED_LIBS=OFF|$prefix|static|-DATTNKERN_SHARED_LIBS=OFF
the static library alone, no component|$static_prefix|static|
CASES
for linkage in static shared; do
  step "a C-only project (project(... LANGUAGES C)) with find_package, $linkage"
  out="$work/consumer-c-only-$linkage"
  run "$cmake_bin" -S "$here/c_only" -B "$out" -DCMAKE_PREFIX_PATH="$prefix" -DATTNKERN_LINKAGE=$linkage
  run "$cmake_bin" --build "$out"
  "$out/c_consumer"
  check_linkage $linkage "$out/c_consumer"
done

step "shared: consumers built with pkg-config, found at run time through an rpath"
out="$work/consumer-pc-shared"
mkdir -p "$out"
cflags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags attnkern)
libs=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --libs attnkern)
# shellcheck disable=SC2086
run cc -std=c99 -Wall -Wextra -Werror -pedantic $cflags "$here/consumer.c" -o "$out/c_consumer" $libs -lm -Wl,-rpath,"$libdir"
# shellcheck disable=SC2086
run c++ -std=c++17 -Wall -Wextra -Werror $cflags "$here/consumer.cpp" -o "$out/cpp_consumer" $libs -Wl,-rpath,"$libdir"
# shellcheck disable=SC2086
run c++ -std=c++17 -fno-exceptions -Wall -Wextra -Werror $cflags "$here/consumer_noexcept.cpp" -o "$out/cpp_noexcept_consumer" \
  $libs -Wl,-rpath,"$libdir"
"$out/c_consumer"
"$out/cpp_consumer"
"$out/cpp_noexcept_consumer"

step "static: consumers built with pkg-config --static, against a prefix holding the static library only"
static_libdir=$(cd "$(dirname "$(find "$static_prefix" -name 'attnkern.pc' | head -1)")/.." && pwd)
out="$work/consumer-pc-static"
mkdir -p "$out"
cflags=$(PKG_CONFIG_PATH="$static_libdir/pkgconfig" pkg-config --cflags attnkern)
libs=$(PKG_CONFIG_PATH="$static_libdir/pkgconfig" pkg-config --static --libs attnkern)
# shellcheck disable=SC2086
run cc -std=c99 -Wall -Wextra -Werror -pedantic $cflags "$here/consumer.c" -o "$out/c_consumer" $libs -lm
# shellcheck disable=SC2086
run c++ -std=c++17 -Wall -Wextra -Werror $cflags "$here/consumer.cpp" -o "$out/cpp_consumer" $libs
"$out/c_consumer"
"$out/cpp_consumer"
! links_shared "$out/c_consumer" || fail "the pkg-config static consumer links libattnkern.so"

step "add_subdirectory of the source tree, with the defaults (and no build type: the engine's cache is left alone)"
out="$work/consumer-subdir"
run "$cmake_bin" -S "$here/subdir" -B "$out" -DATTNKERN_SOURCE_DIR="$src"
! grep -q "^Catch2_DIR\|^benchmark_DIR" "$out/CMakeCache.txt" || fail "add_subdirectory looked for Catch2 or Google Benchmark"
grep -q "^CMAKE_BUILD_TYPE:STRING=$" "$out/CMakeCache.txt" || fail "add_subdirectory set the engine's CMAKE_BUILD_TYPE"
run "$cmake_bin" --build "$out" -j2
grep -q -- "-O3" "$out/attnkern/CMakeFiles/attnkern_kernels.dir/flags.make" || fail "without a build type, attnkern's kernels were not optimised"
"$out/c_consumer"
"$out/cpp_consumer"
check_linkage shared "$out/c_consumer" "$out/cpp_consumer"
# (an engine's Debug build: the kernels -O3 all the same, unless ATTNKERN_DEBUG_KERNELS; configure only)
run "$cmake_bin" -S "$here/subdir" -B "$out-debug" -DATTNKERN_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=Debug
grep -q -- "-O3" "$out-debug/attnkern/CMakeFiles/attnkern_kernels.dir/flags.make" || fail "in a Debug build, attnkern's kernels were not optimised"
run "$cmake_bin" -S "$here/subdir" -B "$out-debug" -DATTNKERN_DEBUG_KERNELS=ON
! grep -q -- "-O3" "$out-debug/attnkern/CMakeFiles/attnkern_kernels.dir/flags.make" || fail "ATTNKERN_DEBUG_KERNELS=ON left -O3 on the kernels"

step "a missing Catch2 or Google Benchmark turns off only its part, with a note (an error under ATTNKERN_REQUIRE_DEPS)"
missing=(-DATTNKERN_BUILD_TESTS=ON -DATTNKERN_BUILD_BENCH=ON -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON
         -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON)
"$cmake_bin" -S "$src" -B "$work/missing-deps" "${missing[@]}" >"$work/missing-deps.txt" 2>&1 ||
  fail "configure stopped on a missing Catch2 or Google Benchmark: $(tail -5 "$work/missing-deps.txt")"
grep -q "note: Catch2 2.13 not found.*the unit tests (attnkern-tests) are not built" "$work/missing-deps.txt" &&
  grep -q "note: Google Benchmark not found.*the benchmarks (attnkern-bench) are not built" "$work/missing-deps.txt" ||
  fail "no note for the missing Catch2 and Google Benchmark"
! "$cmake_bin" -S "$src" -B "$work/missing-deps-required" "${missing[@]}" -DATTNKERN_REQUIRE_DEPS=ON >"$work/missing-deps-required.txt" 2>&1 ||
  fail "ATTNKERN_REQUIRE_DEPS=ON did not stop configure on a missing dependency"
grep -q "attnkern: the benchmarks (attnkern-bench) need Google Benchmark" "$work/missing-deps-required.txt" ||
  fail "ATTNKERN_REQUIRE_DEPS=ON stopped configure, but not for the missing Google Benchmark: $(grep -m1 -A3 'CMake Error' "$work/missing-deps-required.txt")"

step "the tools (ATTNKERN_BUILD_TOOLS=ON): attnkern-examples on its installed data, attnkern-numerics"
tools_prefix="$work/prefix-tools"
run "$cmake_bin" -S "$src" -B "$work/lib-shared" -DATTNKERN_BUILD_TOOLS=ON
run "$cmake_bin" --build "$work/lib-shared" -j2
run "$cmake_bin" --install "$work/lib-shared" --prefix "$tools_prefix"
"$tools_prefix/bin/attnkern-examples" >"$work/examples.txt" || fail "installed attnkern-examples failed"
grep -q "share/attnkern/examples" "$work/examples.txt" || fail "attnkern-examples did not use its installed data"
"$tools_prefix/bin/attnkern-numerics" record --out "$work/numerics.json" 2>/dev/null
"$tools_prefix/bin/attnkern-numerics" compare "$work/numerics.json" "$work/numerics.json" >/dev/null
step "a build without OpenMP (ATTNKERN_OPENMP=OFF), shared and static: nothing of OpenMP in the library or its packages; the thread-pool example on it"
nomp_prefix="$work/prefix-no-openmp"
for kind in ON OFF; do
  run "$cmake_bin" -S "$src" -B "$work/lib-no-openmp-$kind" -DATTNKERN_OPENMP=OFF -DBUILD_SHARED_LIBS=$kind
  run "$cmake_bin" --build "$work/lib-no-openmp-$kind" -j2
  run "$cmake_bin" --install "$work/lib-no-openmp-$kind" --prefix "$nomp_prefix"
done
nomp_libdir=$(cd "$(dirname "$(find "$nomp_prefix" -name 'attnkern.pc' | head -1)")/.." && pwd)
! readelf -d "$nomp_libdir/libattnkern.so" | grep -qE 'gomp|libomp' || fail "the shared library without OpenMP still needs an OpenMP runtime"
! nm -u "$nomp_libdir/libattnkern.a" 2>/dev/null | grep -q 'GOMP_\|omp_' || fail "the static library without OpenMP refers to OpenMP's runtime"
! grep -rqE 'gomp|libomp|OpenMP::|-fopenmp' "$nomp_libdir/pkgconfig/attnkern.pc" "$nomp_libdir/cmake/attnkern" ||
  fail "the packages of the build without OpenMP name an OpenMP runtime"
out="$work/consumer-no-openmp"
mkdir -p "$out"
cflags=$(PKG_CONFIG_PATH="$nomp_libdir/pkgconfig" pkg-config --cflags attnkern)
libs=$(PKG_CONFIG_PATH="$nomp_libdir/pkgconfig" pkg-config --static --libs attnkern)
# shellcheck disable=SC2086
run c++ -std=c++17 -Wall -Wextra -Werror -pthread $cflags "$src/examples/thread_pool.cpp" -o "$out/thread_pool" "$nomp_libdir/libattnkern.a" $libs
! readelf -d "$out/thread_pool" | grep -qE 'gomp|libomp' || fail "the thread-pool example built without OpenMP links an OpenMP runtime"
run "$out/thread_pool" 2
run "$cmake_bin" -S "$here/c_only" -B "$out/c-only" -DCMAKE_PREFIX_PATH="$nomp_prefix" -DATTNKERN_LINKAGE=static
run "$cmake_bin" --build "$out/c-only"
"$out/c-only/c_consumer"

echo "install check passed: shared and static in one prefix; find_package consumers (C, C++, C-only; shared, static); pkg-config consumers (shared, static, C++ without exceptions); add_subdirectory; missing test dependencies; the installed tools; the build without OpenMP"
