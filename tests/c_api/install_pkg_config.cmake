# Compiles examples/c/sample.c the way a Makefile user would, with
# `cc sample.c $(pkg-config --cflags --libs latentkit)` against the prefix that
# install_find_package.cmake installed, runs it on MODEL and checks its picture.
#
#   cmake -DWORK_DIR=... -DSOURCE_DIR=... -DMODEL=... -DC_COMPILER=... -DPKG_CONFIG=...
#         -P install_pkg_config.cmake
set(prefix ${WORK_DIR}/prefix)
file(GLOB pc_files ${prefix}/*/pkgconfig/latentkit.pc ${prefix}/*/*/pkgconfig/latentkit.pc)
if(NOT pc_files)
  message(FATAL_ERROR "no latentkit.pc under ${prefix}")
endif()
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir ${pc_file} DIRECTORY)

set(ENV{PKG_CONFIG_PATH} ${pc_dir})
set(ENV{CC} ${C_COMPILER})
set(ENV{PKG_CONFIG} ${PKG_CONFIG})
set(program ${WORK_DIR}/pkg-config-sample)
execute_process(
  COMMAND sh -c "\"$CC\" -std=c99 -Wall -Wextra -Werror \"$1\" -o \"$2\" $(\"$PKG_CONFIG\" --cflags --libs latentkit) -lm"
          sh ${SOURCE_DIR}/examples/c/sample.c ${program}
  RESULT_VARIABLE result ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cc $(pkg-config --cflags --libs latentkit) failed:\n${err}")
endif()

# With LATENTKIT_SHARED=ON the program needs liblatentkit.so from the prefix at run time.
execute_process(COMMAND ${PKG_CONFIG} --variable=libdir latentkit OUTPUT_VARIABLE libdir
                OUTPUT_STRIP_TRAILING_WHITESPACE)
set(ENV{LD_LIBRARY_PATH} "${libdir}")

set(picture ${WORK_DIR}/pkg-config-samples.pgm)
execute_process(COMMAND ${program} ${MODEL} -n 4 --seed 9 --backend reference -o ${picture}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the example failed (${result}):\n${out}\n${err}")
endif()
message(STATUS "${out}")
file(READ ${picture} header LIMIT 12)
file(SIZE ${picture} size)
# 4 images of 28 x 28 in a 2 x 2 tiling: 56 x 56 pixels after a 13-byte header.
if(NOT header STREQUAL "P5\n56 56\n255\n" OR NOT size EQUAL 3149)
  message(FATAL_ERROR "${picture}: unexpected header '${header}' or size ${size}")
endif()
message(STATUS "pkg-config latentkit: compiled, ran and wrote ${picture}")
