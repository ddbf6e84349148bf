// Counts the calls into the C allocator (malloc, calloc, realloc, the aligned forms) made by the
// whole process: our code, libstdc++'s operator new (which calls malloc), XNNPACK (its allocator
// is malloc), pthreadpool. `latentkit-sample bench` reads the count before and after the timed
// decodes to show that a decode in steady state allocates nothing (backend.h promises it).
//
// Linked into latentkit-sample only: the functions in alloc_counter.cpp replace the C library's
// malloc for every library in the process (an executable's definitions come first in the dynamic
// linker's search order) and forward to glibc's own entry points (__libc_malloc, ...). Where that
// cannot be done (not glibc, or a sanitizer that owns malloc itself) nothing is replaced and
// counting_allocations() says so.
#pragma once

#include <cstdint>

namespace latentkit::cli {

struct AllocationCount {
  uint64_t calls = 0;  // allocations (and reallocations) so far
  uint64_t bytes = 0;  // bytes they asked for
};

bool counting_allocations();
AllocationCount allocations_so_far();

}  // namespace latentkit::cli
