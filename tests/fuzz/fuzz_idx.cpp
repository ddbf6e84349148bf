// fuzz_idx: hostile IDX files (MNIST-style datasets, raw or gzip) through trainer::read_idx.
//
// read_idx takes a path, so every input is written to one memfd (a file in memory, no disk
// I/O) and read back through /proc/self/fd/N. std::runtime_error is the reader's refusal and is
// fine; anything else escaping, a sanitizer report or a broken invariant is a finding.
//
// Inputs whose first byte is 0xFF (no IDX or gzip file starts with it) are the rest of the
// input gzip-compressed first: byte mutations then reach the IDX parser behind the gzip path,
// where a mutated .gz file mostly exercises zlib's CRC check. Plain inputs cover raw IDX files
// and broken gzip streams.
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "latentkit/trainer/idx_reader.h"
#include "memory_file.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_idx: broken invariant: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

std::vector<uint8_t> gzip(const uint8_t* data, std::size_t size) {
  z_stream s{};
  if (deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) finding("deflateInit2");
  std::vector<uint8_t> out(deflateBound(&s, size) + 32);
  s.next_in = const_cast<Bytef*>(data);
  s.avail_in = static_cast<uInt>(size);
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  if (deflate(&s, Z_FINISH) != Z_STREAM_END) finding("deflate did not finish");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

int file() { return latentkit::fuzz::memory_file("fuzz_idx"); }
using latentkit::fuzz::write_all;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const int fd = file();
  bool wrapped = false;
  if (size >= 1 && data[0] == 0xFF) {
    const std::vector<uint8_t> z = gzip(data + 1, size - 1);
    write_all(fd, z.data(), z.size());
    wrapped = true;
  } else {
    write_all(fd, data, size);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const latentkit::trainer::IdxArray array = latentkit::trainer::read_idx(path);
    // What an accepted file promises: 1 to 4 dimensions, each >= 1, product = data bytes.
    if (array.dims.empty() || array.dims.size() > static_cast<std::size_t>(latentkit::trainer::kIdxMaxDims)) {
      finding("accepted with " + std::to_string(array.dims.size()) + " dimensions");
    }
    uint64_t product = 1;
    for (const int64_t d : array.dims) {
      if (d < 1) finding("accepted a dimension " + std::to_string(d));
      product *= static_cast<uint64_t>(d);
    }
    if (product != array.data.size()) {
      finding("dimensions give " + std::to_string(product) + " bytes, data has " +
              std::to_string(array.data.size()));
    }
    // For a raw file, everything was read: header + data is the whole input.
    if (!wrapped && !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b) &&
        4 + 4 * array.dims.size() + array.data.size() != size) {
      finding("a raw file of " + std::to_string(size) + " bytes was accepted with " +
              std::to_string(array.data.size()) + " data bytes");
    }
  } catch (const std::runtime_error&) {
    // refused: fine
  }
  return 0;
}
