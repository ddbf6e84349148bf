// The CVAE's encoder in a model file, and its three methods (schema/latentkit.fbs):
//
//   decode       latent -> image          the decoder (describe_cvae_decoder)
//   encode       image -> mean, log-var   Conv 32 s2 -> relu -> Conv 64 s2 -> relu -> flatten ->
//                                         two dense heads (libtorch's one dense layer of 2 x latent
//                                         outputs, split at its halves)
//   reconstruct  image -> image           encode's ops up to the mean, then decode's reading the
//                                         mean: the deterministic reconstruction
//
// The methods share the weight tensors: the file holds each weight once.
#pragma once

#include <vector>

#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "latentkit/trainer/cvae.h"

namespace latentkit::trainer {

// The encoder's tensors once appended to a description.
struct CvaeEncoder {
  int image = -1;         // its input, [28, 28, 1] in [0, 1]
  int mean = -1;          // [latent]
  int log_variance = -1;  // [latent]
  std::vector<Op> to_mean;  // image -> mean
  Op log_variance_head;     // the flattened features -> log-variance
};

// Appends the encoder's tensors to `d`, with its weights stored as `format` stores weights (int8
// for QuantMode::int8: the encoder keeps float activations, as int8_weights).
CvaeEncoder append_cvae_encoder(ModelDescription& d, Cvae& model, QuantMode format);

// Turns `d`, whose ops / inputs / outputs are the decoder (latent -> image, any quantisation),
// into the three methods above.
void make_cvae_methods(ModelDescription& d, const CvaeEncoder& encoder);

}  // namespace latentkit::trainer
