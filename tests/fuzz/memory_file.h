// An in-memory file (memfd) that the fuzz targets write each input to, so that readers which take
// a path (/proc/self/fd/N) or a descriptor read the input as a file, without touching the disk.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace latentkit::fuzz {

[[noreturn]] inline void memory_file_failed(const char* what) {
  std::fprintf(stderr, "fuzz: %s failed\n", what);
  std::abort();
}

// One memfd per process, named `name`, made at the first call.
inline int memory_file(const char* name) {
  static const int fd = [name] {
    const int f = memfd_create(name, 0);
    if (f < 0) memory_file_failed("memfd_create");
    return f;
  }();
  return fd;
}

// Replaces the file's contents with data[0, size).
inline void write_all(int fd, const uint8_t* data, std::size_t size) {
  if (ftruncate(fd, 0) != 0) memory_file_failed("ftruncate");
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) memory_file_failed("pwrite");
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace latentkit::fuzz
