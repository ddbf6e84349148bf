/* The shared library the Python module loads (liblatentkit.so beside latentkit/__init__.py): the
 * whole static runtime linked in, and only the C API's latentkit_* symbols exported
 * (exports.map), so that the C++ inside cannot clash with another library in the process.
 *
 * This file adds one function: the C API version the library was compiled against, which the
 * module compares with the one it was written for before declaring any function. */
#include "latentkit.h"

LATENTKIT_API int latentkit_python_c_api_version(void);

int latentkit_python_c_api_version(void) { return LATENTKIT_C_API_VERSION; }
