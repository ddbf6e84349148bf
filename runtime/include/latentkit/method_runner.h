// Runs one method of a model at any batch size: build once per batch size, run many times.
//
//   auto model = latentkit::Model::load_file("cvae.lkm");
//   latentkit::MethodRunner encoder(model, "encode", latentkit::BackendKind::xnnpack);
//   auto outputs = encoder.run({images}, 16);  // outputs[0]: means, outputs[1]: log-variances
//
// A backend is built the first time a batch size is seen and reused afterwards, so repeated
// runs of the same batch size allocate nothing beyond the returned vectors (run_into allocates
// nothing at all). The backends kept for several batch sizes together stay within the model's
// memory limit (ModelLimits::max_memory_bytes): a new one that would pass it replaces them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/model.h"

namespace latentkit {

class MethodRunner {
 public:
  // Raises Error(invalid_argument) if the model has no method called `method`.
  MethodRunner(Model model, const std::string& method, BackendKind kind, BackendOptions options = {});

  const Model& model() const { return model_; }
  const Method& method() const { return *method_; }
  BackendKind backend_kind() const { return kind_; }

  // Builds the backend for `batch` now rather than at the first run.
  void prepare(int batch);

  // inputs[i] holds batch x method().input_elements(i) values, outputs[i] receives batch x
  // method().output_elements(i) (Backend::invoke).
  void run_into(const float* const* inputs, int batch, float* const* outputs);
  // One vector per input, each of batch x its elements; returns one per output. Raises
  // Error(invalid_argument) naming the input whose size is wrong.
  std::vector<std::vector<float>> run(const std::vector<std::vector<float>>& inputs, int batch);

 private:
  Backend& backend_for(int batch);

  Model model_;
  const Method* method_;  // the model's
  BackendKind kind_;
  BackendOptions options_;
  std::map<int, std::unique_ptr<Backend>> backends_;
  uint64_t cached_bytes_ = 0;  // activations and workspace of the backends in backends_
};

}  // namespace latentkit
