// How grey images become the 0/1 observations of a Bernoulli likelihood, and the test images as
// every evaluation sees them. Part of the data pipeline, before any model family: a run records
// which binarisation it used, and its figures are comparable only at equal binarisation.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/mnist.h"

namespace latentkit::trainer {

enum class Binarization {
  dynamic,  // each pixel ~ Bernoulli(intensity): redrawn every epoch in training, drawn once
            // with a fixed seed for the test set. What papers report; the default.
  fixed,    // threshold at 0.5, as in the seed-000 tutorial
  none,     // the grey levels in [0, 1] as they are: what an autoencoder reconstructs
};
const char* to_string(Binarization b);
Binarization parse_binarization(const std::string& name);  // "dynamic", "static" or "none"

// The seed of the one dynamic binarisation of a test set: every epoch, every run and `latentkit
// eval` measure the same observations.
constexpr uint64_t kTestBinarizationSeed = 0x7e57;

// Levels in [0, 1], [N, C, H, W] float32 (C = 1 for grey images, 3 for RGB).
torch::Tensor to_tensor(const ImageDataset& data);
torch::Tensor binarize(const torch::Tensor& grey, Binarization mode, at::Generator& generator);
// The test images as every evaluation sees them.
torch::Tensor binarized_test_images(const ImageDataset& test_set, Binarization mode);

}  // namespace latentkit::trainer
