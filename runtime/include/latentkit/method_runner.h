// Runs one method of a model at any batch size: build once per batch size, run many times.
//
//   auto model = latentkit::Model::load_file("cvae.lkm");
//   latentkit::MethodRunner encoder(model, "encode", latentkit::BackendKind::xnnpack);
//   auto outputs = encoder.run({images}, 16);  // outputs[0]: means, outputs[1]: log-variances
//
// A backend is built the first time a batch size is seen and reused afterwards, so repeated
// runs of the same batch size allocate nothing beyond the returned vectors (run_into allocates
// nothing at all). A batch larger than BackendOptions::max_chunk runs as chunks of that size
// and the remainder, through the backends of those two sizes (faster: the activations of a
// chunk stay in cache). The backends kept for several batch sizes together stay within the
// model's memory limit (ModelLimits::max_memory_bytes): a new one that would pass it replaces
// them; a batch whose chunk and remainder backends do not fit together runs whole. The backends
// share one set of XNNPACK worker threads (BackendOptions::worker_threads), as they run in turn.
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
  // Raises Error(invalid_argument) if the model has no method called `method` or
  // options.max_chunk is negative.
  MethodRunner(Model model, const std::string& method, BackendKind kind, BackendOptions options = {});

  const Model& model() const { return model_; }
  const Method& method() const { return *method_; }
  BackendKind backend_kind() const { return kind_; }
  // The activations and workspace of the backends kept now (MemoryPlan): with the model's own
  // bytes, within ModelLimits::max_memory_bytes.
  uint64_t backend_bytes() const { return cached_bytes_; }

  // Builds the backends a run of `batch` uses now rather than at the first run.
  void prepare(int batch);

  // inputs[i] holds batch x method().input_elements(i) values, outputs[i] receives batch x
  // method().output_elements(i) (Backend::invoke). Raises Error(out_of_memory) if the batch's
  // backends exceed the memory limit.
  void run_into(const float* const* inputs, int batch, float* const* outputs);
  // One vector per input, each of batch x its elements; returns one per output. Raises
  // Error(invalid_argument) naming the input whose size is wrong.
  std::vector<std::vector<float>> run(const std::vector<std::vector<float>>& inputs, int batch);

 private:
  // What a run of a batch goes through: `whole`, or `chunk` as many times as it fits and then
  // `remainder` (null when the chunk divides the batch).
  struct Route {
    Backend* whole = nullptr;
    Backend* chunk = nullptr;
    Backend* remainder = nullptr;
  };
  struct CachedBackend {
    std::unique_ptr<Backend> backend;
    uint64_t bytes = 0;  // its activations and workspace (MemoryPlan)
  };

  Route route_for(int batch);
  // The cached backend of `batch`, or null.
  Backend* cached(int batch);
  // Builds the backend of `batch` if it is not cached; when the cache would pass the memory
  // limit, drops every other backend but the one of `keep`.
  Backend& backend_for(int batch, int keep = 0);
  // Whether the backends of `chunk` and `remainder` (0: none) fit within the limit together.
  bool fit_together(int chunk, int remainder) const;
  // Runs examples [first, first + backend.batch()) of the caller's buffers.
  void invoke_from(Backend& backend, const float* const* inputs, int first, float* const* outputs);

  Model model_;
  const Method* method_;  // the model's
  BackendKind kind_;
  BackendOptions options_;
  std::map<int, CachedBackend> backends_;
  uint64_t cached_bytes_ = 0;  // activations and workspace of the backends in backends_
  // Per example, for advancing the caller's pointers to a chunk; and the advanced pointers,
  // sized here so that a chunked run allocates nothing.
  std::vector<int64_t> input_elements_, output_elements_;
  std::vector<const float*> chunk_inputs_;
  std::vector<float*> chunk_outputs_;
};

}  // namespace latentkit
