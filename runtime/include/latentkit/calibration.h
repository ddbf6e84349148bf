// Observing a float model's activations, to choose int8 scales for them (calibration).
#pragma once

#include <vector>

#include "latentkit/model.h"

namespace latentkit {

struct TensorRange {
  float min = 0, max = 0;
};

// Decodes `latents` (n x latent dims) with the reference backend and returns, for every tensor
// of the decoder graph, the smallest and largest value it took; for a constant, the range of its
// values. The model must have float32 activations.
std::vector<TensorRange> observe_ranges(const Model& model, const std::vector<float>& latents);

}  // namespace latentkit
