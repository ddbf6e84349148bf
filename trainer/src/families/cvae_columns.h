// The CVAE family's test figures, as its two files (cvae_family.cpp, cvae_pictures.cpp) read them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace latentkit::trainer::cvae_columns {

// Indices into a run's test figures: the order of cvae_family().test_metrics.
enum Column : std::size_t { kElbo, kReconstruction, kKl, kIwae, kIwaeK, kCount };

// How many images the IWAE bound of a training run was measured on: the first k_images (0: all)
// of the test images.
inline int64_t iwae_images(int64_t k_images, int64_t test_images) {
  return k_images > 0 ? std::min(k_images, test_images) : test_images;
}

}  // namespace latentkit::trainer::cvae_columns
