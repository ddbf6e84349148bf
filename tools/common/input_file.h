// A file the command-line programs read an input from (an image, a dataset), opened once, read
// by offset, and closed when it goes out of scope; every failure is an Error(io) that names it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace latentkit::cli {

class InputFile {
 public:
  // Raises Error(io) if `path` cannot be opened, is a folder, or is not a regular file (a pipe
  // or a device has no size to check a header against).
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

  // Reads up to `n` bytes at `offset` into `out`; returns how many were read (fewer only at the
  // end of the file). Raises Error(io) on a read error.
  std::size_t read_at(uint64_t offset, void* out, std::size_t n) const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace latentkit::cli
