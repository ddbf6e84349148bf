# Cross-compiling for 64-bit Raspberry Pi OS / Debian arm64 (Raspberry Pi 3, 4, 5), with Debian's
# aarch64-linux-gnu-g++ (crossbuild-essential-arm64) and a sysroot of Debian arm64 packages.
#   cmake --preset rpi-aarch64 && cmake --build --preset rpi-aarch64
# See linux-cross-common.cmake for the cache variables (LATENTKIT_SYSROOT, LATENTKIT_QEMU_CPU).
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(LATENTKIT_TRIPLET aarch64-linux-gnu)
set(LATENTKIT_DEB_ARCH arm64)
set(LATENTKIT_QEMU qemu-aarch64)
set(LATENTKIT_QEMU_CPU_DEFAULT cortex-a72)  # Raspberry Pi 4
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross-common.cmake)
