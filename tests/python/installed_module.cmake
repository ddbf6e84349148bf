# The Python module from an installed tree, as a user runs it: the README's one-liner must
# print the shape of 16 samples and import the module from PACKAGE_DIR (not the build tree),
# and examples/python/sample.py must write its two pictures.
#
#   cmake -DPYTHON=... -DPACKAGE_DIR=... -DMODEL=... -DEXAMPLE=... -DWORK_DIR=... -P installed_module.cmake
include(${CMAKE_CURRENT_LIST_DIR}/../run_command.cmake)

if(NOT EXISTS ${PACKAGE_DIR}/latentkit/__init__.py OR NOT EXISTS ${PACKAGE_DIR}/latentkit/liblatentkit.so)
  message(FATAL_ERROR "the install has no latentkit package with its library in ${PACKAGE_DIR}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
# PYTHONPATH is the installed tree's only: nothing of the build tree may be used.
set(ENV{PYTHONPATH} ${PACKAGE_DIR})
unset(ENV{LATENTKIT_LIBRARY})
# (A file rather than -c: CMake would split the one-liner at its semicolons.)
file(WRITE ${WORK_DIR}/one_liner.py "import latentkit as lk\nm = lk.Model('${MODEL}')\nprint(m.sample(16, seed=7).shape)\n"
                                    "print(lk.__file__)\nprint(lk.library_path())\n")
run(${PYTHON} ${WORK_DIR}/one_liner.py)
message(STATUS "${run_output}")
string(FIND "${run_output}" "(16, 28, 28, 1)" shape_at)
string(FIND "${run_output}" "${PACKAGE_DIR}/latentkit/__init__.py" module_at)
string(FIND "${run_output}" "${PACKAGE_DIR}/latentkit/liblatentkit.so" library_at)
if(shape_at EQUAL -1 OR module_at EQUAL -1 OR library_at EQUAL -1)
  message(FATAL_ERROR "expected the shape (16, 28, 28, 1) and the module and library from ${PACKAGE_DIR}")
endif()
run(${PYTHON} ${EXAMPLE} ${MODEL} --out ${WORK_DIR})
message(STATUS "${run_output}")
foreach(picture grid.png samples.png)
  file(SIZE ${WORK_DIR}/${picture} size)
  if(size LESS 200)
    message(FATAL_ERROR "${WORK_DIR}/${picture}: ${size} bytes, not a picture")
  endif()
endforeach()
