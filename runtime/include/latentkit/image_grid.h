// Arranging decoded images into one picture and turning them into 8-bit pixels.
#pragma once

#include <cstdint>
#include <vector>

#include "latentkit/graph.h"

namespace latentkit {

struct Picture {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // row-major, HWC
};

// The largest picture tile_images makes: PNG encoders count its bytes in int.
constexpr int64_t kMaxPictureSide = 1 << 16;
constexpr int64_t kMaxPictureBytes = int64_t{1} << 30;

struct PictureSize {
  int width = 0, height = 0;
};

// The size of the picture tile_images would make, checked against the limits without
// allocating: a program asks before it decodes the images. Raises Error(invalid_argument).
PictureSize picture_size(const ImageSpec& spec, int rows, int cols, int gap = 0);

// Tiles `rows * cols` images (HWC floats in the spec's value range, row-major one after the
// other) into one picture, `gap` pixels of black between tiles; values are clamped and rounded,
// NaN becomes 0. Raises Error(invalid_argument) for a picture above the limits.
Picture tile_images(const float* images, const ImageSpec& spec, int rows, int cols, int gap = 0);

}  // namespace latentkit
