// Writes latentkit model files: the counterpart of Model::load, used by the trainer's export
// and by tests that need model files (valid or deliberately broken).
//
// The writer checks nothing beyond what it needs to serialise: the runtime's loader is the one
// place that decides whether a file is valid, so tests can write invalid files on purpose.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/atomic_file.h"
#include "latentkit/graph.h"
#include "latentkit/model.h"

namespace latentkit {

struct TensorDescription {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::float32;
  std::vector<uint8_t> data;  // empty for activations
  Quantization quantization;
};

// A method: ops over the description's tensors, and its typed inputs and outputs.
struct MethodDescription {
  std::string name;
  std::vector<Op> ops;
  std::vector<int> inputs, outputs;            // tensor indices
  std::vector<Role> input_roles, output_roles;  // one per input / output
};

struct ModelDescription {
  // Version 1 (tests write it on purpose) stores the `decode` method alone as the old decoder
  // graph; its roles are implied.
  uint32_t format_version = kFormatVersion;
  std::vector<TensorDescription> tensors;
  std::vector<MethodDescription> methods;
  // A description without `methods` is a decoder: these are its `decode` method (latent in,
  // image out), the common case of tests and of single-method models.
  std::vector<Op> ops;
  std::vector<int> inputs;
  std::vector<int> outputs;
  LatentSpec latent;
  ImageSpec image;
  Provenance provenance;

  // Appends a tensor and returns its index.
  int add_activation(std::string name, std::vector<int64_t> shape);
  int add_constant(std::string name, std::vector<int64_t> shape, const std::vector<float>& values);

  // `methods`, or the decode method that ops / inputs / outputs describe.
  std::vector<MethodDescription> all_methods() const;
};

std::vector<uint8_t> serialize_model(const ModelDescription& description);

}  // namespace latentkit
