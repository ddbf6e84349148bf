#include "latentkit/trainer/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace latentkit::trainer {
namespace {

constexpr std::uint8_t kTypeUnsignedByte = 0x08;
constexpr std::size_t kReadChunk = std::size_t{1} << 20;

const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "not an IDX type";
  }
}

std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(b));
  return buf;
}

// Reads an IDX file through zlib (which passes raw files through unchanged) and turns every
// failure into an exception that names the file.
class IdxStream {
 public:
  IdxStream(std::string path, bool gzip) : path_(std::move(path)), gzip_(gzip) {
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
      fail(std::string("cannot open: ") + (errno != 0 ? std::strerror(errno) : "out of memory"));
    }
    gzbuffer(file_, 1U << 17);
  }
  ~IdxStream() {
    if (file_ != nullptr) gzclose_r(file_);
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;

  [[noreturn]] void fail(const std::string& problem) const;

  // Reads up to n bytes; returns how many were read (fewer only at the end of the data).
  std::size_t read(std::uint8_t* out, std::size_t n) {
    std::size_t total = 0;
    while (total < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - total, INT_MAX));
      const int got = gzread(file_, out + total, want);
      if (got < 0) fail_stream();
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
    }
    if (total < n) check_clean_end();
    return total;
  }

  // Counts the bytes left until the end of the stream.
  std::uint64_t count_remaining() {
    std::vector<std::uint8_t> sink(1 << 16);
    std::uint64_t total = 0;
    for (;;) {
      const int got = gzread(file_, sink.data(), static_cast<unsigned>(sink.size()));
      if (got < 0) fail_stream();
      if (got == 0) break;
      total += static_cast<std::uint64_t>(got);
    }
    // Here even Z_BUF_ERROR is an error: the data is complete but the gzip trailer is missing.
    if (stream_cut_short()) fail("corrupt gzip stream: it ends before its trailer (CRC and size)");
    check_clean_end();
    return total;
  }

  // Whether the last short read came from a gzip stream that ended before its end marker.
  bool stream_cut_short() const {
    int errnum = Z_OK;
    gzerror(file_, &errnum);
    return errnum == Z_BUF_ERROR;
  }
  // Appended to "truncated" messages: the file itself was cut, not only the IDX payload.
  std::string cut_note() const {
    return stream_cut_short() ? " (the gzip stream ends early)" : "";
  }

 private:
  [[noreturn]] void fail_stream() const {
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    if (errnum == Z_ERRNO) fail(std::string("read error: ") + std::strerror(errno));
    std::string text = msg != nullptr && *msg != '\0' ? msg : "unknown zlib error";
    // zlib says "<path>: <problem>"; the path is already in our message.
    const std::string prefix = path_ + ": ";
    if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
    fail((gzip_ ? "corrupt gzip stream: " : "read error: ") + text);
  }

  void check_clean_end() const {
    int errnum = Z_OK;
    gzerror(file_, &errnum);
    if (errnum != Z_OK && errnum != Z_BUF_ERROR) fail_stream();
  }

  std::string path_;
  bool gzip_;
  gzFile file_ = nullptr;
};

[[noreturn]] void fail_file(const std::string& path, bool gzip, const std::string& problem) {
  throw std::runtime_error("IDX file '" + path + "'" + (gzip ? " (gzip)" : "") + ": " + problem);
}

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void IdxStream::fail(const std::string& problem) const { fail_file(path_, gzip_, problem); }

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::ostringstream out;
  for (std::size_t i = 0; i < dims.size(); ++i) out << (i ? " x " : "") << dims[i];
  return out.str();
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  namespace fs = std::filesystem;
  const auto fail = [&path](const std::string& problem) { fail_file(path, false, problem); };

  // Look at the file before zlib does, so that "missing" and "is a directory" are reported as
  // such and a gzip file is known to be one.
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    fail(std::string("cannot open: ") +
         (ec ? ec.message() : std::strerror(ENOENT)));
  }
  if (fs::is_directory(status)) fail("is a directory, not a file");

  bool gzip = false;
  std::uint64_t raw_size = 0;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) fail(std::string("cannot open: ") + std::strerror(errno));
    unsigned char head[2] = {0, 0};
    const std::size_t got = std::fread(head, 1, 2, f);
    std::fclose(f);
    gzip = got == 2 && head[0] == 0x1f && head[1] == 0x8b;
    if (!gzip) {
      raw_size = fs::file_size(path, ec);
      if (ec) fail("cannot get the file size: " + ec.message());
    }
  }

  IdxStream in(path, gzip);

  // Magic: 0, 0, data type, number of dimensions.
  std::uint8_t magic[4];
  const std::size_t magic_got = in.read(magic, 4);
  if (magic_got < 4) {
    in.fail("too short for an IDX header: " + std::to_string(magic_got) +
            " bytes, the magic alone is 4" + in.cut_note());
  }
  if (magic[0] != 0 || magic[1] != 0) {
    in.fail("bad magic: first two bytes are " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) +
            ", an IDX file starts with 0x00 0x00 (not an IDX file?)");
  }
  const std::uint8_t type = magic[2];
  if (type != kTypeUnsignedByte) {
    in.fail("data type " + hex_byte(type) + " (" + idx_type_name(type) +
            ") is not supported; only 0x08 (unsigned byte) is");
  }
  const int ndims = magic[3];
  if (ndims == 0 || ndims > kIdxMaxDims) {
    in.fail("has " + std::to_string(ndims) + " dimensions; expected 1 to " +
            std::to_string(kIdxMaxDims));
  }

  // Dimensions.
  std::uint8_t dim_bytes[4 * kIdxMaxDims];
  const std::size_t dims_len = 4 * static_cast<std::size_t>(ndims);
  const std::size_t dims_got = in.read(dim_bytes, dims_len);
  if (dims_got < dims_len) {
    in.fail("header truncated: " + std::to_string(ndims) + " dimensions need " +
            std::to_string(dims_len) + " bytes after the magic, found " +
            std::to_string(dims_got) + in.cut_note());
  }
  IdxArray out;
  out.dims.reserve(static_cast<std::size_t>(ndims));
  std::uint64_t expected = 1;
  for (int i = 0; i < ndims; ++i) {
    out.dims.push_back(static_cast<std::int64_t>(big_endian_u32(dim_bytes + 4 * i)));
  }
  for (int i = 0; i < ndims; ++i) {
    if (out.dims[static_cast<std::size_t>(i)] == 0) {
      in.fail("dimension " + std::to_string(i) + " of " + std::to_string(ndims) +
              " is 0 (dimensions " + dims_text(out.dims) + ")");
    }
  }
  for (int i = 0; i < ndims; ++i) {
    // expected <= 2^31 and d < 2^32 before each multiplication: no uint64 overflow.
    expected *= static_cast<std::uint64_t>(out.dims[static_cast<std::size_t>(i)]);
    if (expected > kIdxMaxDataBytes) {
      in.fail("dimensions " + dims_text(out.dims) + " describe more than the " +
              std::to_string(kIdxMaxDataBytes) + " bytes this reader accepts");
    }
  }

  // Data. A raw file's size is known: check it before allocating anything.
  const std::uint64_t header_len = 4 + dims_len;
  if (!gzip && raw_size != header_len + expected) {
    const std::uint64_t found = raw_size - header_len;
    if (found < expected) {
      in.fail("truncated: expected " + std::to_string(expected) + " bytes of data (dimensions " +
              dims_text(out.dims) + "), found " + std::to_string(found));
    }
    in.fail(std::to_string(found - expected) + " trailing bytes after the " +
            std::to_string(expected) + " bytes of data (dimensions " + dims_text(out.dims) +
            ")");
  }
  // A gzip file's payload size is not known up front: grow as data arrives, so that a header
  // claiming 2 GiB does not allocate 2 GiB for a small file.
  out.data.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(expected, 64 * kReadChunk)));
  std::uint64_t have = 0;
  while (have < expected) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(expected - have, kReadChunk));
    out.data.resize(static_cast<std::size_t>(have) + want);
    const std::size_t got = in.read(out.data.data() + have, want);
    have += got;
    if (got < want) {
      in.fail("truncated: expected " + std::to_string(expected) + " bytes of data (dimensions " +
              dims_text(out.dims) + "), found " + std::to_string(have) + in.cut_note());
    }
  }
  const std::uint64_t trailing = in.count_remaining();
  if (trailing != 0) {
    in.fail(std::to_string(trailing) + " trailing bytes after the " + std::to_string(expected) +
            " bytes of data (dimensions " + dims_text(out.dims) + ")");
  }
  return out;
}

}  // namespace latentkit::trainer
