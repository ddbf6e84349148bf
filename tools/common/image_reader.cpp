#include "image_reader.h"

#include <sys/stat.h>

#include <cstdio>

#include "idx_image_reader.h"
#include "input_file.h"
#include "latentkit/error.h"
#include "png_reader.h"

namespace latentkit::cli {

std::string ImageSource::name() const { return index ? path + ":" + std::to_string(*index) : path; }

ImageSource parse_image_source(const std::string& text) {
  const std::size_t colon = text.find_last_of(':');
  struct stat s {};
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size() || ::stat(text.c_str(), &s) == 0) {
    return {text, std::nullopt};
  }
  uint64_t index = 0;
  for (std::size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return {text, std::nullopt};
    if (index > (uint64_t{1} << 63) / 10) {
      throw Error(ErrorCode::invalid_argument, "'" + text + "': the image index " + text.substr(colon + 1) +
                                                   " is too large (and no file has this name)");
    }
    index = index * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  return {text.substr(0, colon), index};
}

Picture read_image(const ImageSource& source) {
  const std::string quoted = "'" + source.path + "'";
  uint8_t head[8] = {};
  std::size_t got = 0;
  {
    const InputFile file(source.path);
    got = file.read_at(0, head, sizeof head);
  }
  // A PNG signature, or one damaged in transfer (png_reader says so).
  if (got >= 4 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G') {
    if (source.index) {
      throw Error(ErrorCode::invalid_argument, quoted + " is a PNG file, which holds one image; ':" +
                                                   std::to_string(*source.index) +
                                                   "' picks an image of an IDX file");
    }
    return read_png(source.path);
  }
  // The IDX magic: 00 00, a data type (idx_image_reader refuses all but 08 with a message), and
  // a number of dimensions. (00 00 alone would take in Windows icons, 00 00 01 00.)
  const bool idx_type = head[2] == 0x08 || head[2] == 0x09 || (head[2] >= 0x0B && head[2] <= 0x0E);
  if (got >= 4 && head[0] == 0 && head[1] == 0 && idx_type && head[3] >= 1) {
    if (!source.index) {
      throw Error(ErrorCode::invalid_argument, quoted + " is an IDX file, which holds many images: say which as '" +
                                                   source.path + ":INDEX' (counted from 0)");
    }
    return read_idx_image(source.path, *source.index);
  }
  if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
    throw Error(ErrorCode::invalid_argument,
                quoted + " is gzip-compressed; decompress it first (gunzip -k " + quoted + ")");
  }
  if (got == 0) throw Error(ErrorCode::invalid_argument, quoted + " is empty, not an image");
  std::string start;
  for (std::size_t i = 0; i < got && i < 4; ++i) {
    char b[4];
    std::snprintf(b, sizeof b, "%02X", static_cast<unsigned>(head[i]));
    start += (i ? " " : "") + std::string(b);
  }
  throw Error(ErrorCode::invalid_argument,
              quoted + " is neither a PNG nor an IDX file (it starts with " + start + ")");
}

}  // namespace latentkit::cli
