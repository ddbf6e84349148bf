// One image of an IDX file, for the command-line programs on a device (no zlib, no libtorch).
//
// IDX is the format of MNIST and Fashion-MNIST (trainer/include/latentkit/trainer/idx_reader.h
// describes it): the magic 00 00 08 D (unsigned bytes, D dimensions), D big-endian uint32
// sizes, the data row-major. Images are
//   D = 3: count x height x width               (grey, as MNIST's *-images-idx3-ubyte)
//   D = 4: count x height x width x channels    (channels 1 or 3, HWC)
// each side 1..kMaxImageSide. Only the header and the one image are read, so a 47 MB training
// set costs a few hundred bytes. The file must be raw: a gzip-compressed one (.gz, as MNIST is
// downloaded) is refused with a message saying to decompress it.
//
// Errors: Error(io) when the file cannot be opened or read; Error(invalid_argument) for its
// contents (magic, data type, dimensions, a size that does not match the header, truncation)
// and for an index outside 0..count-1. Messages name the file and give the numbers.
#pragma once

#include <cstdint>
#include <string>

#include "latentkit/image_grid.h"

namespace latentkit::cli {

// Image `index` (0-based) of the IDX file at `path`.
Picture read_idx_image(const std::string& path, uint64_t index);

}  // namespace latentkit::cli
