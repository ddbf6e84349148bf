# Installs the build into WORK_DIR/prefix, builds examples/c against it with
# find_package(latentkit) and runs the example on MODEL; it must write its picture.
#
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DMODEL=... -DGENERATOR=...
#         -DC_COMPILER=... -P install_find_package.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../run_command.cmake)

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
if(NOT EXISTS ${prefix}/include/latentkit.h)
  message(FATAL_ERROR "the install has no include/latentkit.h")
endif()
file(GLOB_RECURSE generated ${prefix}/*_generated.h)
if(generated)
  message(FATAL_ERROR "the FlatBuffers generated header was installed: ${generated}")
endif()

run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/c -B ${WORK_DIR}/example-build -G ${GENERATOR}
    -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_FLAGS=-Werror)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/example-build)

set(picture ${WORK_DIR}/cmake-samples.pgm)
run(${WORK_DIR}/example-build/latentkit-sample-c ${MODEL} -n 6 --seed 3 -o ${picture})
message(STATUS "${run_output}")
file(READ ${picture} header LIMIT 12)
file(SIZE ${picture} size)
# 6 images of 28 x 28 in a 2 x 3 tiling: 84 x 56 pixels after a 13-byte header.
if(NOT header STREQUAL "P5\n84 56\n255\n" OR NOT size EQUAL 4717)
  message(FATAL_ERROR "${picture}: unexpected header '${header}' or size ${size}")
endif()
message(STATUS "find_package(latentkit): built, ran and wrote ${picture}")
