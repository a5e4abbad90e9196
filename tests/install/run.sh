#!/usr/bin/env bash
# Installs attnkern (shared, then static) into a scratch prefix and builds a C and a C++ consumer
# against each installation, with find_package and with pkg-config; runs them; checks that the
# shared library has a versioned soname and exports the C API only; runs the installed tools.
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

for linkage in shared static; do
  shared=$([ "$linkage" = shared ] && echo ON || echo OFF)
  prefix="$work/prefix-$linkage"
  step "$linkage library: configure, build, install into $prefix"
  run "$cmake_bin" -S "$src" -B "$work/lib-$linkage" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=$shared \
      -DATTNKERN_BUILD_TESTS=OFF -DATTNKERN_BUILD_BENCH=OFF
  run "$cmake_bin" --build "$work/lib-$linkage" -j2
  run "$cmake_bin" --install "$work/lib-$linkage" --prefix "$prefix"
  libdir=$(dirname "$(find "$prefix" -name 'attnkern.pc' | head -1)")/..
  libdir=$(cd "$libdir" && pwd)

  if [ "$linkage" = shared ]; then
    step "shared library: soname and exported symbols"
    soname=$(readelf -d "$libdir/libattnkern.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
    [ "$soname" = "libattnkern.so.0" ] || { echo "unexpected soname '$soname'" >&2; exit 1; }
    others=$(nm -D --defined-only "$libdir/libattnkern.so" | awk '{print $3}' | grep -v '^attnkern_' || true)
    [ -z "$others" ] || { echo "symbols other than the C API are exported:" >&2; echo "$others" >&2; exit 1; }
  fi

  step "$linkage: consumers built with find_package(attnkern)"
  run "$cmake_bin" -S "$here" -B "$work/consumer-cmake-$linkage" -DCMAKE_PREFIX_PATH="$prefix"
  run "$cmake_bin" --build "$work/consumer-cmake-$linkage"
  "$work/consumer-cmake-$linkage/c_consumer"
  "$work/consumer-cmake-$linkage/cpp_consumer"

  step "$linkage: consumers built with pkg-config"
  export PKG_CONFIG_PATH="$libdir/pkgconfig"
  static_flag=$([ "$linkage" = static ] && echo --static || true)
  cflags=$(pkg-config --cflags attnkern)
  libs=$(pkg-config $static_flag --libs attnkern)
  out="$work/consumer-pc-$linkage"
  mkdir -p "$out"
  # shellcheck disable=SC2086
  run cc -std=c99 -Wall -Wextra -Werror -pedantic $cflags "$here/consumer.c" -o "$out/c_consumer" $libs -lm -Wl,-rpath,"$libdir"
  # shellcheck disable=SC2086
  run c++ -std=c++17 -Wall -Wextra -Werror $cflags "$here/consumer.cpp" -o "$out/cpp_consumer" $libs -Wl,-rpath,"$libdir"
  "$out/c_consumer"
  "$out/cpp_consumer"
  if [ "$linkage" = static ]; then
    ! ldd "$out/c_consumer" | grep -q libattnkern || { echo "static consumer links libattnkern.so" >&2; exit 1; }
  fi

  step "$linkage: the installed tools (attnkern-examples on its installed data, attnkern-numerics)"
  "$prefix/bin/attnkern-examples" >"$work/examples-$linkage.txt" || { echo "installed attnkern-examples failed" >&2; exit 1; }
  grep -q "share/attnkern/examples" "$work/examples-$linkage.txt" || { echo "attnkern-examples did not use its installed data" >&2; exit 1; }
  "$prefix/bin/attnkern-numerics" record --out "$work/numerics-$linkage.json" 2>/dev/null
  "$prefix/bin/attnkern-numerics" compare "$work/numerics-$linkage.json" "$work/numerics-$linkage.json" >/dev/null
done
echo "install check passed: C and C++ consumers built with find_package and pkg-config, shared and static; the tools run from the prefix"
