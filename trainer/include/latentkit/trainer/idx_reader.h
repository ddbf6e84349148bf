#pragma once
// Reader for the IDX format of MNIST-style datasets (MNIST, Fashion-MNIST, ...). Torch-free.
//
// An IDX file is a 4-byte magic, then one big-endian uint32 per dimension, then the data in
// row-major order:
//
//   byte 0, 1   always 0
//   byte 2      data type: 0x08 unsigned byte (the only one these datasets use; the only one
//               supported here), 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32,
//               0x0E float64
//   byte 3      number of dimensions (1 for labels, 3 for images: count x height x width)
//
// The file may be raw or gzip-compressed (recognised by the gzip magic 1f 8b, whatever its name).
// Input is untrusted: every inconsistency (bad magic, unsupported type, a zero or absurd
// dimension, truncated data, trailing bytes, a corrupt gzip stream) throws std::runtime_error with
// a message that names the file and gives the numbers.
#include <cstdint>
#include <string>
#include <vector>

namespace latentkit::trainer {

// The largest payload read_idx accepts (2 GiB); full MNIST is 47 MB.
inline constexpr std::uint64_t kIdxMaxDataBytes = std::uint64_t{1} << 31;
// IDX files with more dimensions than this are refused.
inline constexpr int kIdxMaxDims = 4;

struct IdxArray {
  std::vector<std::int64_t> dims;  // outermost first, each >= 1
  std::vector<std::uint8_t> data;  // product(dims) bytes, row-major
};

// Reads a whole IDX file of unsigned bytes (raw or gzip). Throws std::runtime_error on any error.
IdxArray read_idx(const std::string& path);

}  // namespace latentkit::trainer
