// The building blocks the exporters share: libtorch layers appended as ops of a model file
// (weights converted to the runtime's layouts, layout.h), so that a family's exporter says which
// layers it has, not how each becomes ops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/model_writer.h"

namespace latentkit::trainer {

// Appends `layers` to `ops` (dense, a ReLU after each but the last, and after the last too when
// `relu_last`; weights named PREFIX0.weight, ...) reading tensor `x`; returns the last output,
// named `last_name`. The building block of every exporter of dense layers.
int add_dense_stack(ModelDescription& d, std::vector<Op>& ops, const std::vector<torch::nn::Linear>& layers,
                    const std::string& prefix, int x, bool relu_last, const std::string& last_name);

// The decoder shape of the CVAE and of the DCGAN's generator, appended to d.ops from latent tensor
// `z`: `dense` (weights DENSE_NAME.weight; libtorch views its output as [channels, side, side],
// the file stores it as [side, side, channels]), ReLU, then the transposed convolutions `layers`
// (PREFIX1, PREFIX2, ...) with a ReLU after each but the last, whose output is called "logits".
// Returns the logits tensor; `side` becomes its side.
int add_upsampling_decoder(ModelDescription& d, int z, const torch::nn::Linear& dense, const std::string& dense_name,
                           int64_t seed_side, int64_t seed_channels,
                           const std::vector<torch::nn::ConvTranspose2d>& layers, const std::string& prefix,
                           int64_t& side);

}  // namespace latentkit::trainer
