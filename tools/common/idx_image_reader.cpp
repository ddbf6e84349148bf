#include "idx_image_reader.h"

#include <cstdio>
#include <vector>

#include "input_file.h"
#include "latentkit/error.h"
#include "png_reader.h"

namespace latentkit::cli {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;

std::string hex(const uint8_t* bytes, int n) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    char b[4];
    std::snprintf(b, sizeof b, "%02X", static_cast<unsigned>(bytes[i]));
    text += (i ? " " : "") + std::string(b);
  }
  return text;
}

}  // namespace

Picture read_idx_image(const std::string& path, uint64_t index) {
  const auto refuse = [&path](const std::string& problem) {
    return Error(ErrorCode::invalid_argument, "IDX file '" + path + "': " + problem);
  };
  const InputFile file(path);
  uint8_t header[4 + 4 * 4] = {};
  const std::size_t got = file.read_at(0, header, sizeof header);
  if (got >= 2 && header[0] == 0x1f && header[1] == 0x8b) {
    throw refuse("gzip-compressed; decompress it first (gunzip -k '" + path + "'): the device tools read raw IDX files");
  }
  if (got < 4) throw refuse("truncated: " + std::to_string(got) + " bytes, less than the 4-byte magic");
  if (header[0] != 0 || header[1] != 0) {
    throw refuse("not an IDX file (it starts with " + hex(header, 4) + ", an IDX file with 00 00)");
  }
  if (header[2] != kUnsignedByte) {
    throw refuse("data type " + hex(header + 2, 1) + "; images are unsigned bytes (08)");
  }
  const int dims = header[3];
  if (dims != 3 && dims != 4) {
    throw refuse(std::to_string(dims) +
                 " dimensions; images are count x height x width (3) or count x height x width x channels (4)");
  }
  const std::size_t header_bytes = 4 + 4 * static_cast<std::size_t>(dims);
  if (got < header_bytes) {
    throw refuse("truncated: " + std::to_string(got) + " bytes, less than the " + std::to_string(header_bytes) +
                 "-byte header");
  }
  uint64_t size[4] = {0, 0, 0, 1};
  for (int d = 0; d < dims; ++d) {
    const uint8_t* p = header + 4 + 4 * d;
    size[d] = (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | uint64_t{p[3]};
  }
  const uint64_t count = size[0], height = size[1], width = size[2], channels = size[3];
  const std::string shape = std::to_string(count) + " x " + std::to_string(height) + " x " + std::to_string(width) +
                            (dims == 4 ? " x " + std::to_string(channels) : "");
  if (count == 0) throw refuse("holds no images (" + shape + ")");
  if (height == 0 || width == 0 || height > static_cast<uint64_t>(kMaxImageSide) ||
      width > static_cast<uint64_t>(kMaxImageSide)) {
    throw refuse("images of " + std::to_string(height) + "x" + std::to_string(width) + " pixels (" + shape +
                 "); each side must be 1.." + std::to_string(kMaxImageSide));
  }
  if (channels != 1 && channels != 3) {
    throw refuse(std::to_string(channels) + " channels (" + shape + "); images have 1 (grey) or 3 (RGB)");
  }
  // In 64 bits: count < 2^32 and an image is at most 2^24 * 3 bytes.
  const uint64_t image_bytes = height * width * channels;
  const uint64_t data_bytes = count * image_bytes;
  const uint64_t have = file.size() > header_bytes ? file.size() - header_bytes : 0;
  if (have != data_bytes) {
    throw refuse((have < data_bytes ? "truncated: " : "") + shape + " needs " + std::to_string(data_bytes) +
                 " bytes of data after the header; the file has " + std::to_string(have) +
                 (have > data_bytes ? " (not an IDX file of these dimensions?)" : ""));
  }
  if (index >= count) {
    throw refuse("image " + std::to_string(index) + " is out of range: the file holds " + std::to_string(count) +
                 " images (0 to " + std::to_string(count - 1) + ")");
  }
  Picture picture;
  picture.height = static_cast<int>(height);
  picture.width = static_cast<int>(width);
  picture.channels = static_cast<int>(channels);
  picture.pixels.resize(static_cast<std::size_t>(image_bytes));
  const uint64_t offset = header_bytes + index * image_bytes;
  if (file.read_at(offset, picture.pixels.data(), picture.pixels.size()) != picture.pixels.size()) {
    throw refuse("truncated while reading image " + std::to_string(index) + " (the file shrank?)");
  }
  return picture;
}

}  // namespace latentkit::cli
