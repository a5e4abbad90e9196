# Cross-compiling attnkern for 64-bit Arm Linux (aarch64) with Debian's cross toolchain:
#   apt-get install g++-aarch64-linux-gnu libgomp1-arm64-cross qemu-user
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# tools/test_aarch64.sh builds the unit tests this way and runs them under qemu-aarch64.
#
# The target's libraries come from the cross packages' sysroot, /usr/aarch64-linux-gnu. xsimd and
# Catch2 are header-only and the same for every architecture: their headers are the build machine's
# (/usr/include, which Debian's cross g++ searches last, after the sysroot's), and so are their CMake
# package files, which the searches below may find outside the sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ATTNKERN_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${ATTNKERN_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${ATTNKERN_CROSS_TRIPLE}-g++)

set(ATTNKERN_CROSS_SYSROOT /usr/${ATTNKERN_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH ${ATTNKERN_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # programs run on the build machine
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)   # libraries: the target's only
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)   # xsimd's and Catch2's package files (header-only)
# Debian installs xsimd's package file under the build machine's multiarch directory, which a search
# for the target's (lib/aarch64-linux-gnu) does not visit.
if(NOT DEFINED xsimd_DIR)
  file(GLOB ATTNKERN_HOST_XSIMD_DIR LIST_DIRECTORIES true /usr/lib/*-linux-gnu*/cmake/xsimd /usr/share/cmake/xsimd)
  if(ATTNKERN_HOST_XSIMD_DIR)
    list(GET ATTNKERN_HOST_XSIMD_DIR 0 ATTNKERN_HOST_XSIMD_DIR)
    set(xsimd_DIR ${ATTNKERN_HOST_XSIMD_DIR} CACHE PATH "xsimd's CMake package (header-only: the build machine's)")
  endif()
endif()

# The target's programs (the tests, try_run) run on the build machine under qemu-user, with the
# sysroot's dynamic loader and libraries; ctest uses this too.
find_program(ATTNKERN_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(ATTNKERN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ATTNKERN_QEMU_AARCH64} -L ${ATTNKERN_CROSS_SYSROOT})
endif()
