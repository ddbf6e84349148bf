#include "cli_checks.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include "latentkit/error.h"

namespace latentkit::cli {

void check_input_file(const std::string& path, const std::string& what) {
  struct stat s {};
  if (::stat(path.c_str(), &s) == 0 && S_ISDIR(s.st_mode)) {
    throw Error(ErrorCode::io, what + " '" + path + "' is a folder, not a file");
  }
}

void check_output_file(const std::string& path, const std::string& what) {
  if (path.empty()) throw Error(ErrorCode::invalid_argument, what + ": the file name is empty");
  struct stat s {};
  if (::stat(path.c_str(), &s) == 0) {
    if (S_ISDIR(s.st_mode)) throw Error(ErrorCode::io, what + " '" + path + "' is a folder; give a file name");
    return;  // an existing file (replaced atomically) or device (written in place)
  }
  const std::size_t slash = path.find_last_of('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (::stat(folder.c_str(), &s) != 0) {
    const int failed = errno;
    if (failed == ENOENT) {
      throw Error(ErrorCode::io, what + " '" + path + "': the folder '" + folder + "' does not exist");
    }
    if (failed == ENOTDIR) {
      throw Error(ErrorCode::io, what + " '" + path + "': '" + folder + "' is not a folder (part of it is a file)");
    }
    throw Error(ErrorCode::io, what + " '" + path + "': cannot use the folder '" + folder + "' (" +
                                   std::strerror(failed) + ")");
  }
  if (!S_ISDIR(s.st_mode)) throw Error(ErrorCode::io, what + " '" + path + "': '" + folder + "' is not a folder");
}

uint64_t parse_byte_size(const std::string& text, const std::string& what) {
  auto refuse = [&](const std::string& why) {
    return Error(ErrorCode::invalid_argument,
                 what + " '" + text + "': " + why + " (bytes, or a number with K, M or G, e.g. 512M)");
  };
  std::size_t i = 0;
  uint64_t value = 0;
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
    if (value > kLimit) throw refuse("too large");
  }
  if (i == 0) throw refuse("not a size");
  int shift = 0;
  if (i < text.size()) {
    switch (std::toupper(static_cast<unsigned char>(text[i]))) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      default: throw refuse("unknown suffix '" + text.substr(i) + "'");
    }
    if (++i != text.size()) throw refuse("unknown suffix '" + text.substr(i - 1) + "'");
  }
  if (value == 0) throw refuse("must be more than 0");
  if (value > (kLimit >> shift)) throw refuse("too large");
  return value << shift;
}

}  // namespace latentkit::cli
