#!/usr/bin/env bash
# Installs what attnkern needs from Debian's packages, non-interactively; quiet when nothing is missing.
#   required: a C/C++ toolchain with OpenMP (g++), CMake, xsimd 8.1, Catch2 2.13, Google Benchmark,
#             pkg-config (the install check), sollya (the coefficient check), clang and its libFuzzer
#             runtime (the fuzz targets), LLVM's OpenMP runtime with its Archer tool (the
#             ThreadSanitizer build), oneTBB (the example and test of a caller's thread pool), and for the
#             Python module the system python3's headers, pybind11, NumPy and pytest
#   optional: the benchmark's peers, SLEEF, Eigen, oneDNN (with OpenCL's headers, which its CMake
#             package requires) and OpenBLAS (glibc's libmvec comes with libc6-dev), and
#             python3-matplotlib for the report's plots (and the Python examples' --plot), and PyTorch
#             (python3-torch: the Python module's tensor tests and the Python benchmark's comparison);
#             a peer that cannot be installed is skipped by the benchmark with a note, the plots
#             likewise
set -euo pipefail

required=(g++ make cmake pkg-config libxsimd-dev catch2 libbenchmark-dev sollya clang libclang-rt-14-dev libomp-14-dev libtbb-dev
          python3-dev pybind11-dev python3-numpy python3-pytest)
# Each optional entry is installed as one unit: a peer with what its CMake package needs beyond its
# Depends (Debian's oneDNN config requires OpenCL's headers, only a Recommends of libdnnl-dev).
optional=(libsleef-dev libeigen3-dev "libdnnl-dev ocl-icd-opencl-dev" libopenblas-dev python3-matplotlib python3-torch)

missing() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to run: $*" >&2; return 1
  fi
}

apt_install() {
  # Try with the current package lists first; refresh them once if that fails.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/tmp/attnkern-setup.log 2>&1 ||
    { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>/tmp/attnkern-setup.log 2>&1 &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>/tmp/attnkern-setup.log 2>&1; }
}

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "setup: not a Debian system; install by hand: ${required[*]} (optional: ${optional[*]})" >&2
  exit 0
fi

# Installs those of the packages that are missing (the first argument heads the message); any failure
# stops the set-up.
install_required() {
  local what=$1 need
  shift
  mapfile -t need < <(missing "$@")
  [ "${#need[@]}" -gt 0 ] || return 0
  echo "setup: installing $what${need[*]}"
  apt_install "${need[@]}" || { echo "setup: apt-get failed; see /tmp/attnkern-setup.log" >&2; tail -20 /tmp/attnkern-setup.log >&2; exit 1; }
}

# `tools/setup.sh aarch64` (tools/test_aarch64.sh, the test command's aarch64 stage): Debian's cross
# toolchain and qemu-user (qemu-aarch64, run explicitly with -L the sysroot: no binfmt needed), and
# what the cross build takes from the build machine (xsimd and Catch2 are header-only); nothing else.
aarch64=(g++-aarch64-linux-gnu libgomp1-arm64-cross qemu-user cmake make libxsimd-dev catch2)
if [ "${1:-}" = aarch64 ]; then
  install_required "the aarch64 cross toolchain and emulator: " "${aarch64[@]}"
  exit 0
fi

install_required "" "${required[@]}"

want=()
for unit in "${optional[@]}"; do
  # shellcheck disable=SC2086
  [ -z "$(missing $unit)" ] || want+=("$unit")
done
if [ "${#want[@]}" -gt 0 ]; then
  echo "setup: installing the benchmark's peers and plotting: ${want[*]}"
  for unit in "${want[@]}"; do
    # shellcheck disable=SC2086
    apt_install $unit || echo "setup: note: $unit could not be installed; the benchmark skips it"
  done
fi
