#include "latentkit/image_grid.h"

#include <algorithm>
#include <cmath>

#include "latentkit/error.h"

namespace latentkit {

PictureSize picture_size(const ImageSpec& spec, int rows, int cols, int gap) {
  if (rows < 1 || cols < 1 || gap < 0) {
    throw Error(ErrorCode::invalid_argument, "cannot tile " + std::to_string(rows) + "x" +
                                                 std::to_string(cols) + " images with gap " + std::to_string(gap));
  }
  if (spec.width < 1 || spec.height < 1 || spec.channels < 1) {
    throw Error(ErrorCode::invalid_argument, "cannot tile images of " + std::to_string(spec.height) + "x" +
                                                 std::to_string(spec.width) + "x" + std::to_string(spec.channels));
  }
  // In 64 bits, and bounded before anything is allocated: PNG encoders count bytes in int.
  const int64_t width = int64_t{cols} * spec.width + int64_t{cols - 1} * gap;
  const int64_t height = int64_t{rows} * spec.height + int64_t{rows - 1} * gap;
  const int64_t row_bytes = width * spec.channels + 1;  // + the PNG filter byte
  if (width > kMaxPictureSide || height > kMaxPictureSide || row_bytes * height > kMaxPictureBytes) {
    throw Error(ErrorCode::invalid_argument,
                "a picture of " + std::to_string(rows) + "x" + std::to_string(cols) + " images of " +
                    std::to_string(spec.height) + "x" + std::to_string(spec.width) + " pixels would be " +
                    std::to_string(width) + "x" + std::to_string(height) + " pixels; the limit is " +
                    std::to_string(kMaxPictureSide) + " pixels a side and " + std::to_string(kMaxPictureBytes >> 20) +
                    " MiB");
  }
  return {static_cast<int>(width), static_cast<int>(height)};
}

Picture tile_images(const float* images, const ImageSpec& spec, int rows, int cols, int gap) {
  const PictureSize size = picture_size(spec, rows, cols, gap);
  Picture picture;
  picture.channels = spec.channels;
  picture.width = size.width;
  picture.height = size.height;
  picture.pixels.assign(static_cast<std::size_t>(picture.width) * picture.height * spec.channels, 0);
  // Map the image's value range onto 0..255.
  const float lo = spec.range == ValueRange::unit ? 0.0f : -1.0f;
  const float scale = 255.0f / (1.0f - lo);
  const std::size_t row_values = static_cast<std::size_t>(spec.width) * spec.channels;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const float* image = images + (static_cast<std::size_t>(r) * cols + c) * spec.pixels();
      for (int y = 0; y < spec.height; ++y) {
        uint8_t* out = &picture.pixels[((static_cast<std::size_t>(r) * (spec.height + gap) + y) * picture.width +
                                        static_cast<std::size_t>(c) * (spec.width + gap)) * spec.channels];
        const float* in = image + y * row_values;
        for (std::size_t i = 0; i < row_values; ++i) {
          const float scaled = (in[i] - lo) * scale;
          // NaN (from NaN or infinite latents, or a broken model) becomes black.
          const float v = std::isnan(scaled) ? 0.0f : std::clamp(scaled, 0.0f, 255.0f);
          out[i] = static_cast<uint8_t>(std::lround(v));
        }
      }
    }
  }
  return picture;
}

}  // namespace latentkit
