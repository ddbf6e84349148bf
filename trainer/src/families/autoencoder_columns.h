// The autoencoder families' test figures, as their files (autoencoder_family.cpp, the four
// <family>_family.cpp and autoencoder_pictures.cpp) name and read them.
#pragma once

#include <cstddef>
#include <vector>

#include "latentkit/trainer/family_description.h"

namespace latentkit::trainer::autoencoder_columns {

// Indices into a run's test figures; kDenoisePsnr only for dae.
enum Column : std::size_t { kMse, kBce, kSparsity, kDenoisePsnr };

// Every autoencoder family's columns; with_denoising adds dae's.
inline std::vector<MetricColumn> columns(bool with_denoising) {
  std::vector<MetricColumn> all = {{"test_mse", 4}, {"test_bce", 4}, {"code_sparsity", 4}};
  if (with_denoising) all.push_back({"test_denoise_psnr_db", 3});
  return all;
}

// The pictures: reconstructions for all, the denoising for dae.
inline std::vector<Figure> figures(bool with_denoising) {
  std::vector<Figure> all = {{"loss.png", "loss curves", 0},
                             {"reconstructions.png", "test inputs (left of each pair) and reconstructions", 2 * 16 * 28}};
  if (with_denoising) {
    all.push_back({"denoising.png", "corrupted test inputs (left of each pair) and reconstructions", 2 * 16 * 28});
  }
  return all;
}

// The sparsity figure's threshold: a code entry with |h| below it counts as zero.
constexpr double kZeroCode = 1e-2;

}  // namespace latentkit::trainer::autoencoder_columns
