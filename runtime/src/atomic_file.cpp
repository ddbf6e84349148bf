#include "latentkit/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "latentkit/error.h"

namespace latentkit {

namespace {

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Error write_error(const std::string& path, const std::string& what, int error_number) {
  return Error(ErrorCode::io, "cannot write '" + path + "': " + what + " (" + std::strerror(error_number) + ")");
}

// Writes all of `bytes` to `fd`; returns 0 or the errno of the failure.
int write_all(int fd, const std::vector<uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return ENOSPC;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

// A path that exists and is not a regular file (a terminal, a pipe, /dev/null, /dev/full): no
// temporary file and no rename (which would replace the device with a file); written in place.
void write_in_place(const std::string& path, const std::vector<uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw write_error(path, "cannot open it", errno);
  const int failed = write_all(fd, bytes);
  if (failed != 0) {
    ::close(fd);
    throw write_error(path, "write failed", failed);
  }
  if (::close(fd) != 0) throw write_error(path, "close failed", errno);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (path.empty()) throw Error(ErrorCode::invalid_argument, "cannot write a file with an empty name");
  struct stat target {};
  if (::stat(path.c_str(), &target) == 0) {
    if (S_ISDIR(target.st_mode)) {
      throw Error(ErrorCode::io, "cannot write '" + path + "': it is a folder; give a file name");
    }
    if (!S_ISREG(target.st_mode)) return write_in_place(path, bytes);
  }
  // Name the folder when it is the problem: "No such file or directory" alone does not say which.
  const std::string folder = parent_of(path);
  struct stat parent {};
  if (::stat(folder.c_str(), &parent) != 0) {
    const int failed = errno;
    if (failed == ENOENT) throw Error(ErrorCode::io, "cannot write '" + path + "': the folder '" + folder + "' does not exist");
    if (failed == ENOTDIR) throw Error(ErrorCode::io, "cannot write '" + path + "': '" + folder + "' is not a folder (part of it is a file)");
    throw write_error(path, "cannot use the folder '" + folder + "'", failed);
  }
  if (!S_ISDIR(parent.st_mode)) {
    throw Error(ErrorCode::io, "cannot write '" + path + "': '" + folder + "' is not a folder");
  }

  const std::string tmp = path + ".tmp";
  // Removes the temporary file and reports the errno of the failure (not that of the removal).
  auto fail = [&](const std::string& what, int error_number) {
    ::unlink(tmp.c_str());
    return write_error(path, what, error_number);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw write_error(path, "cannot create " + tmp, errno);
  if (const int failed = write_all(fd, bytes); failed != 0) {
    ::close(fd);
    throw fail("write failed", failed);
  }
  if (::fsync(fd) != 0) {
    const int failed = errno;
    ::close(fd);
    throw fail("fsync failed", failed);
  }
  if (::close(fd) != 0) throw fail("close failed", errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw fail("rename failed", errno);
  // The rename is durable once the folder's entry is on disk; a folder that cannot be flushed
  // (some file systems refuse fsync on folders) still holds the complete file.
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, std::vector<uint8_t>(text.begin(), text.end()));
}

}  // namespace latentkit
