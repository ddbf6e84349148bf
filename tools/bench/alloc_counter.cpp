#include "alloc_counter.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <unistd.h>

// Sanitizers interpose malloc themselves: a second replacement would hand their memory to glibc.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LATENTKIT_NO_ALLOC_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define LATENTKIT_NO_ALLOC_HOOKS 1
#endif
#endif
#if !defined(__GLIBC__)
#define LATENTKIT_NO_ALLOC_HOOKS 1
#endif

namespace {
// Relaxed atomics: XNNPACK's worker threads could allocate too, and an exact total is all we read.
std::atomic<uint64_t> calls{0}, bytes{0};
inline void count(std::size_t size) {
  calls.fetch_add(1, std::memory_order_relaxed);
  bytes.fetch_add(size, std::memory_order_relaxed);
}
}  // namespace

namespace latentkit::cli {

#ifdef LATENTKIT_NO_ALLOC_HOOKS
bool counting_allocations() { return false; }
#else
bool counting_allocations() { return true; }
#endif

AllocationCount allocations_so_far() {
  return {calls.load(std::memory_order_relaxed), bytes.load(std::memory_order_relaxed)};
}

}  // namespace latentkit::cli

#ifndef LATENTKIT_NO_ALLOC_HOOKS
// glibc's allocator under its internal names (exported by libc.so.6 on every architecture).
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* pointer);

void* malloc(std::size_t size) {
  count(size);
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  count(n * size);
  return __libc_calloc(n, size);
}
void* realloc(void* pointer, std::size_t size) {
  count(size);
  return __libc_realloc(pointer, size);
}
void free(void* pointer) { __libc_free(pointer); }
void* memalign(std::size_t alignment, std::size_t size) {
  count(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  // glibc's own rule: a power of two that is a multiple of sizeof(void*).
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
  count(size);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t size) {
  count(size);
  return __libc_memalign(static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), size);
}
}
#endif
