// Turns latents into images: the runtime's main entry point.
//
//   auto model = latentkit::Model::load_file("cvae.lkm");
//   latentkit::Decoder decoder(model, latentkit::BackendKind::xnnpack);
//   std::vector<float> z = latentkit::sample_latents(model.latent(), 64, /*seed=*/7);
//   std::vector<float> images = decoder.decode(z, 64);
//
// A backend is built the first time a batch size is seen and reused afterwards, so repeated
// decodes of the same batch size allocate nothing beyond the returned vector (decode_into
// allocates nothing at all). The backends kept for several batch sizes together stay within the
// model's memory limit (ModelLimits::max_memory_bytes): a new one that would pass it replaces
// them.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/model.h"

namespace latentkit {

class Decoder {
 public:
  Decoder(Model model, BackendKind kind, BackendOptions options = {});

  const Model& model() const { return model_; }
  BackendKind backend_kind() const { return kind_; }
  int latent_dims() const { return model_.latent().dims(); }
  int64_t image_pixels() const { return model_.image().pixels(); }

  // Builds the backend for `batch` now rather than at the first decode.
  void prepare(int batch);

  // latents holds batch x latent_dims() values; images receives batch x image_pixels().
  void decode_into(const float* latents, int batch, float* images);
  std::vector<float> decode(const std::vector<float>& latents, int batch);

 private:
  Backend& backend_for(int batch);

  Model model_;
  BackendKind kind_;
  BackendOptions options_;
  std::map<int, std::unique_ptr<Backend>> backends_;
  uint64_t cached_bytes_ = 0;  // activations and workspace of the backends in backends_
};

}  // namespace latentkit
