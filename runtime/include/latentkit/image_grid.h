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

// Tiles `rows * cols` images (HWC floats in the spec's value range, row-major one after the
// other) into one picture, `gap` pixels of black between tiles; values are clamped and rounded.
Picture tile_images(const float* images, const ImageSpec& spec, int rows, int cols, int gap = 0);

}  // namespace latentkit
