# Cross-compiling for 32-bit Raspberry Pi OS / Debian armhf (ARMv7 and newer: Raspberry Pi 2, 3,
# 4, 5 running a 32-bit system), with Debian's arm-linux-gnueabihf-g++ (crossbuild-essential-armhf)
# and a sysroot of Debian armhf packages. Debian's armhf is ARMv7-A with VFPv3-D16 and Thumb-2:
# the code does not run on ARMv6 (Pi Zero / Pi 1); see docs/raspberry-pi.md.
#   cmake --preset rpi-armhf && cmake --build --preset rpi-armhf
# See linux-cross-common.cmake for the cache variables (LATENTKIT_SYSROOT, LATENTKIT_QEMU_CPU).
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(LATENTKIT_TRIPLET arm-linux-gnueabihf)
set(LATENTKIT_DEB_ARCH armhf)
set(LATENTKIT_QEMU qemu-arm)
set(LATENTKIT_QEMU_CPU_DEFAULT cortex-a7)  # Raspberry Pi 2
# GCC notes that the ABI for passing some types changed in GCC 7.1 (-Wpsabi) on every
# std::vector<int64_t/double> growth; Debian's armhf libraries are all built with GCC 12.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross-common.cmake)
