// Image inputs of the command-line programs (encode, reconstruct, interpolate between images):
// PNG files and single images of IDX files, named on the command line as
//
//   digit.png                     a PNG file: 8-bit grey or RGB (png_reader.h says exactly what)
//   t10k-images-idx3-ubyte:17     image 17 (counted from 0) of an IDX file (idx_image_reader.h)
//
// PATH:INDEX, a colon and decimal digits at the end, picks one image of an IDX file. The suffix
// is an index only when the whole text is not the name of an existing file, so a PNG called
// "shot:1" is still that file. (Not t10k-images-idx3-ubyte[17]: brackets are glob characters,
// and zsh, macOS's shell, refuses an unquoted word whose pattern matches no file.) A program
// with an --index option fills ImageSource itself instead.
//
// What a file is comes from its first bytes, never its name: the PNG signature, or the IDX
// magic 00 00 08 D. An IDX file needs an index; a PNG holds one image and takes none. A gzip
// file (a downloaded MNIST .gz) is refused with a message saying to decompress it.
//
// The picture is what the file holds, 1 (grey) or 3 (RGB) channels of 8 bits, HWC; turning it
// into a model's input, and refusing one that does not fit, is model_input.h. Errors are
// latentkit::Error: io when a file cannot be opened or read, invalid_argument for its contents
// or a bad index, each message naming the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "latentkit/image_grid.h"

namespace latentkit::cli {

struct ImageSource {
  std::string path;
  std::optional<uint64_t> index;  // the image of an IDX file; none for a PNG

  // "digit.png", "t10k-images-idx3-ubyte:17": how messages name the image.
  std::string name() const;
};

// Splits "PATH:INDEX" as described above. Raises Error(invalid_argument) for an index beyond
// 2^63 (as digits, not a file name either).
ImageSource parse_image_source(const std::string& text);

// Reads the image `source` names, telling PNG from IDX by the file's first bytes.
Picture read_image(const ImageSource& source);

}  // namespace latentkit::cli
