# doctest_discover_tests registers each TEST_CASE as a ctest test named after it, and CMake splits
# a name at ';' into two tests that match no test case: doctest then runs nothing and passes. So a
# test case with ';' in its name would never run under ctest. This check fails on any.
#   cmake -DTESTS_DIR=<tests folder> -P check_test_names.cmake
file(GLOB_RECURSE sources "${TESTS_DIR}/*.cpp" "${TESTS_DIR}/*.c")
set(bad "")
foreach(source IN LISTS sources)
  file(STRINGS "${source}" lines REGEX "TEST_CASE\\(\"[^\"]*\\;")
  foreach(line IN LISTS lines)
    string(STRIP "${line}" line)
    string(APPEND bad "\n  ${source}: ${line}")
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "test case names with ';' (ctest would split them and run nothing; use ','):${bad}")
endif()
