#include "latentkit/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "latentkit/error.h"

namespace latentkit {

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp";
  auto io_error = [&](const std::string& what) {
    std::remove(tmp.c_str());
    return Error(ErrorCode::io, "cannot write '" + path + "': " + what + " (" + std::strerror(errno) + ")");
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw io_error("cannot create " + tmp);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw io_error("write failed");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw io_error("fsync failed");
  }
  if (::close(fd) != 0) throw io_error("close failed");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw io_error("rename failed");
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, std::vector<uint8_t>(text.begin(), text.end()));
}

}  // namespace latentkit
