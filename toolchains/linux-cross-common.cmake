# Shared by aarch64-linux-gnu.cmake and arm-linux-gnueabihf.cmake: a cross build with Debian's
# cross compiler (crossbuild-essential-<arch>) against a sysroot of Debian packages of the target
# (tools/cross/make_sysroot.sh), run in tests through qemu-user.
#
# The including file sets LATENTKIT_TRIPLET, LATENTKIT_DEB_ARCH, CMAKE_SYSTEM_PROCESSOR,
# LATENTKIT_QEMU (program) and LATENTKIT_QEMU_CPU_DEFAULT.
#
# Cache variables:
#   LATENTKIT_SYSROOT   the sysroot (default: <repo>/build/sysroot-<arch>); made on first
#                       configure when missing (LATENTKIT_MAKE_SYSROOT, default ON)
#   LATENTKIT_QEMU_CPU  the core qemu emulates for ctest (cortex-a72 = Pi 4, cortex-a7 = Pi 2)
set(CMAKE_SYSTEM_NAME Linux)

# This file is read again for every try_compile; the sysroot must be the same there.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LATENTKIT_SYSROOT LATENTKIT_QEMU_CPU)

get_filename_component(_lk_repo "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(NOT LATENTKIT_SYSROOT)
  set(LATENTKIT_SYSROOT "${_lk_repo}/build/sysroot-${LATENTKIT_DEB_ARCH}")
endif()
set(LATENTKIT_SYSROOT "${LATENTKIT_SYSROOT}" CACHE PATH
    "Sysroot of Debian ${LATENTKIT_DEB_ARCH} packages (tools/cross/make_sysroot.sh)")
if(NOT LATENTKIT_QEMU_CPU)
  set(LATENTKIT_QEMU_CPU "${LATENTKIT_QEMU_CPU_DEFAULT}")
endif()
set(LATENTKIT_QEMU_CPU "${LATENTKIT_QEMU_CPU}" CACHE STRING "Core emulated by qemu when ctest runs the tests")
option(LATENTKIT_MAKE_SYSROOT "Run tools/cross/make_sysroot.sh when the sysroot is missing" ON)

# The compilers.
find_program(_lk_cc ${LATENTKIT_TRIPLET}-gcc)
find_program(_lk_cxx ${LATENTKIT_TRIPLET}-g++)
if(NOT _lk_cc OR NOT _lk_cxx)
  message(FATAL_ERROR "${LATENTKIT_TRIPLET}-gcc/g++ not found: install crossbuild-essential-${LATENTKIT_DEB_ARCH} "
                      "(bash tools/setup.sh does).")
endif()
set(CMAKE_C_COMPILER "${_lk_cc}")
set(CMAKE_CXX_COMPILER "${_lk_cxx}")
set(CMAKE_LIBRARY_ARCHITECTURE ${LATENTKIT_TRIPLET})

# The sysroot, made once (make_sysroot.sh is idempotent and leaves a stamp when complete).
if(NOT EXISTS "${LATENTKIT_SYSROOT}/.latentkit-sysroot")
  if(NOT LATENTKIT_MAKE_SYSROOT)
    message(FATAL_ERROR "No sysroot at ${LATENTKIT_SYSROOT}: run tools/cross/make_sysroot.sh "
                        "${LATENTKIT_DEB_ARCH} ${LATENTKIT_SYSROOT}")
  endif()
  message(STATUS "Making the ${LATENTKIT_DEB_ARCH} sysroot: tools/cross/make_sysroot.sh ${LATENTKIT_DEB_ARCH} ${LATENTKIT_SYSROOT}")
  execute_process(COMMAND bash "${_lk_repo}/tools/cross/make_sysroot.sh" ${LATENTKIT_DEB_ARCH} "${LATENTKIT_SYSROOT}"
                  RESULT_VARIABLE _lk_result)
  if(NOT _lk_result EQUAL 0)
    message(FATAL_ERROR "tools/cross/make_sysroot.sh ${LATENTKIT_DEB_ARCH} failed (see above)")
  endif()
endif()

# Libraries, headers and CMake packages come from the sysroot only; programs (flatc) from the
# host. The compiler keeps its own C library in /usr/${LATENTKIT_TRIPLET} (no CMAKE_SYSROOT:
# the Debian cross gcc is not built for one).
set(CMAKE_FIND_ROOT_PATH "${LATENTKIT_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -rpath-link: libXNNPACK needs libcpuinfo, which the link must find without linking it directly.
# --disable-new-dtags: a run path set on a program (the rpi presets set $ORIGIN/lib, the device
# bundle's layout) is written as DT_RPATH, not DT_RUNPATH. The loader applies DT_RUNPATH only to
# the program's own NEEDED entries, so libcpuinfo.so.0, needed by libXNNPACK.so.0 alone, would
# not be found in the bundle's lib/ on a system without it; DT_RPATH serves the whole chain.
set(_lk_flags "-Wl,-rpath-link,${LATENTKIT_SYSROOT}/usr/lib/${LATENTKIT_TRIPLET} -Wl,--disable-new-dtags")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_lk_flags}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_lk_flags}")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "${_lk_flags}")

# ctest (and doctest's test discovery at build time) runs target programs through qemu, with the
# sysroot as the root for absolute paths: its dynamic loader, C/C++ libraries, XNNPACK, and a
# Raspberry Pi's /proc/cpuinfo.
find_program(LATENTKIT_QEMU_PROGRAM ${LATENTKIT_QEMU})
if(LATENTKIT_QEMU_PROGRAM)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${LATENTKIT_QEMU_PROGRAM};-cpu;${LATENTKIT_QEMU_CPU};-L;${LATENTKIT_SYSROOT}")
else()
  message(WARNING "${LATENTKIT_QEMU} not found (Debian package qemu-user): the tests cannot run on this machine.")
endif()
