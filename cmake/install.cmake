# Installing the runtime: liblatentkit, its headers, latentkit-sample, a CMake package
# (find_package(latentkit) -> latentkit::runtime) and a pkg-config file (latentkit.pc).
# The trainer, the writer and the workstation CLI are not installed.
#
#   <prefix>/bin/latentkit-sample
#   <prefix>/include/latentkit.h              the C API
#   <prefix>/include/latentkit/*.h            the C++ API (C++17)
#   <prefix>/<libdir>/liblatentkit.a          (or .so with -DLATENTKIT_SHARED=ON)
#   <prefix>/<libdir>/cmake/latentkit/        latentkitConfig.cmake, ...ConfigVersion, targets
#   <prefix>/<libdir>/pkgconfig/latentkit.pc
#   <prefix>/lib/python3/dist-packages/latentkit/   the Python module and its liblatentkit.so
#                                              (bindings/python, LATENTKIT_PYTHON_INSTALL_DIR)
include(CMakePackageConfigHelpers)

set(LATENTKIT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/latentkit)
set(LATENTKIT_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(TARGETS latentkit_runtime EXPORT latentkitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The runtime's headers, by name: model_writer.h, quantize.h and calibration.h belong to the
# writer, which is not installed. None of these includes the generated FlatBuffers header.
install(FILES ${PROJECT_SOURCE_DIR}/runtime/include/latentkit.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/atomic_file.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/backend.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/decoder.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/error.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/graph.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/image_grid.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/latents.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/memory_plan.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/method.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/method_runner.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/model.h
  ${PROJECT_SOURCE_DIR}/runtime/include/latentkit/rng.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/latentkit)

if(LATENTKIT_SHARED)
  # latentkit-sample finds liblatentkit.so next door, wherever the prefix is moved (after any
  # RPATH the build asked for, such as a device bundle's $ORIGIN/lib).
  set_property(TARGET latentkit-sample APPEND PROPERTY
    INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
endif()
install(TARGETS latentkit-sample RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The C++ runtime as the C++ compiler links it (libstdc++ and libm with GCC), minus what a C
# link has anyway: what a C program must add to link a static liblatentkit with the C compiler.
set(LATENTKIT_CXX_RUNTIME_LIBRARIES "")
foreach(library ${CMAKE_CXX_IMPLICIT_LINK_LIBRARIES})
  if(NOT library IN_LIST CMAKE_C_IMPLICIT_LINK_LIBRARIES)
    list(APPEND LATENTKIT_CXX_RUNTIME_LIBRARIES ${library})
  endif()
endforeach()
list(REMOVE_DUPLICATES LATENTKIT_CXX_RUNTIME_LIBRARIES)

# ---- the CMake package ----------------------------------------------------------------------
install(EXPORT latentkitTargets
  NAMESPACE latentkit::
  FILE latentkitTargets.cmake
  DESTINATION ${LATENTKIT_INSTALL_CMAKEDIR})
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/latentkitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/latentkitConfig.cmake
  INSTALL_DESTINATION ${LATENTKIT_INSTALL_CMAKEDIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/latentkitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/latentkitConfig.cmake
  ${PROJECT_BINARY_DIR}/latentkitConfigVersion.cmake
  DESTINATION ${LATENTKIT_INSTALL_CMAKEDIR})

# ---- the pkg-config file --------------------------------------------------------------------
# A static liblatentkit is C++ calling XNNPACK: a C program linking it needs XNNPACK,
# pthreadpool and the C++ standard library too. They go in Libs, not Libs.private, because
# there is no shared liblatentkit to link instead, so that plain `pkg-config --libs latentkit`
# links (Libs.private would need every user to pass --static).
set(pc_dependency_libs "")
if(LATENTKIT_WITH_XNNPACK)
  foreach(library ${XNNPACK_LIBRARY} ${PTHREADPOOL_LIBRARY})
    get_filename_component(dir ${library} DIRECTORY)
    if(NOT dir IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES AND NOT "-L${dir}" IN_LIST pc_dependency_libs)
      list(APPEND pc_dependency_libs "-L${dir}")
    endif()
  endforeach()
  list(APPEND pc_dependency_libs -lXNNPACK -lpthreadpool)
endif()
foreach(library ${LATENTKIT_CXX_RUNTIME_LIBRARIES})
  list(APPEND pc_dependency_libs "-l${library}")
endforeach()
list(REMOVE_DUPLICATES pc_dependency_libs)
list(JOIN pc_dependency_libs " " pc_dependency_libs)
if(LATENTKIT_SHARED)
  set(PC_LIBS "")
  set(PC_LIBS_PRIVATE "${pc_dependency_libs}")
  set(PC_CFLAGS " -DLATENTKIT_DLL")
else()
  set(PC_LIBS " ${pc_dependency_libs}")
  set(PC_LIBS_PRIVATE "")
  set(PC_CFLAGS "")
endif()
# The prefix relative to the .pc file, so that the installed tree can be moved.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH pc_up /root/${LATENTKIT_INSTALL_PKGCONFIGDIR} /root)  # "../.."
  string(REGEX REPLACE "/$" "" pc_up "${pc_up}")
  set(PC_PREFIX "\${pcfiledir}/${pc_up}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/latentkit.pc.in ${PROJECT_BINARY_DIR}/latentkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/latentkit.pc DESTINATION ${LATENTKIT_INSTALL_PKGCONFIGDIR})
