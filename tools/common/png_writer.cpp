#include "png_writer.h"

#include <cstdint>
#include <vector>

#include "latentkit/atomic_file.h"
#include "latentkit/error.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

namespace latentkit::cli {

namespace {
void append(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + size);
}
}  // namespace

void write_png(const std::string& path, const Picture& picture) {
  std::vector<uint8_t> encoded;
  const int stride = picture.width * picture.channels;
  if (stbi_write_png_to_func(append, &encoded, picture.width, picture.height, picture.channels,
                             picture.pixels.data(), stride) == 0) {
    throw Error(ErrorCode::io, "cannot encode a " + std::to_string(picture.width) + "x" +
                                   std::to_string(picture.height) + " PNG for '" + path + "'");
  }
  write_file_atomically(path, encoded);
}

}  // namespace latentkit::cli
