#include "input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "latentkit/error.h"

namespace latentkit::cli {

InputFile::InputFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error(ErrorCode::io, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat s {};
  if (::fstat(fd_, &s) != 0) {
    const int failed = errno;
    ::close(fd_);
    throw Error(ErrorCode::io, "cannot read '" + path + "': " + std::strerror(failed));
  }
  if (!S_ISREG(s.st_mode)) {
    ::close(fd_);
    throw Error(ErrorCode::io, "'" + path + "' is " +
                                   (S_ISDIR(s.st_mode) ? "a folder, not a file" : "not a regular file (a pipe or device?)"));
  }
  size_ = static_cast<uint64_t>(s.st_size);
}

InputFile::~InputFile() { ::close(fd_); }

std::size_t InputFile::read_at(uint64_t offset, void* out, std::size_t n) const {
  auto* bytes = static_cast<uint8_t*>(out);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, bytes + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(ErrorCode::io, "cannot read '" + path_ + "': " + std::strerror(errno));
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

}  // namespace latentkit::cli
