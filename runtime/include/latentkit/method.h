// A named computation of a model: decode, encode, reconstruct, ...
//
// A model file holds one or more methods over shared weights (schema/latentkit.fbs). Model::load
// verifies every method and hands each out as a self-contained Graph holding only the tensors it
// uses, so that a backend builds and plans memory for one method without knowing the others.
// The method's inputs and outputs are typed by their Role; their dtype (float32) and
// per-example shape are their tensors'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/graph.h"

namespace latentkit {

enum class Role {
  latent,               // a point of the latent space: LatentSpec::dims() values
  image,                // an image: ImageSpec::pixels() values, HWC, in the spec's range
  latent_mean,          // mean of a Gaussian posterior q(z | x): LatentSpec::dims() values
  latent_log_variance,  // its log-variance per dimension
};

const char* to_string(Role role);

// The methods latentkit's tools and C API know by name, and the signature each must have.
// A file may hold others; these names are reserved for these signatures (Model::load checks).
namespace methods {
inline constexpr const char* decode = "decode";            // latent -> image
inline constexpr const char* encode = "encode";            // image -> latent_mean, latent_log_variance (a VAE),
                                                           // or image -> latent (a deterministic code)
inline constexpr const char* reconstruct = "reconstruct";  // image -> image (decode of the mean)
}  // namespace methods

struct Method {
  std::string name;
  Graph graph;                     // inputs and outputs in the order of the roles below
  std::vector<Role> input_roles;   // one per graph.inputs
  std::vector<Role> output_roles;  // one per graph.outputs

  // Per-example float32 values of input / output i.
  int64_t input_elements(std::size_t i) const;
  int64_t output_elements(std::size_t i) const;
  // "decode(latent[2]) -> image[28,28,1]"
  std::string signature() const;
};

}  // namespace latentkit
