// Turns latents into images: the runtime's main entry point, the `decode` method.
//
//   auto model = latentkit::Model::load_file("cvae.lkm");
//   latentkit::Decoder decoder(model, latentkit::BackendKind::xnnpack);
//   std::vector<float> z = latentkit::sample_latents(model.latent(), 64, /*seed=*/7);
//   std::vector<float> images = decoder.decode(z, 64);
//
// Backends are built per batch size and kept, within the model's memory limit (MethodRunner);
// decode_into allocates nothing once the batch size has been seen.
#pragma once

#include <vector>

#include "latentkit/method_runner.h"

namespace latentkit {

class Decoder {
 public:
  // Raises Error(invalid_argument) if the model has no `decode` method.
  Decoder(Model model, BackendKind kind, BackendOptions options = {});

  const Model& model() const { return runner_.model(); }
  BackendKind backend_kind() const { return runner_.backend_kind(); }
  int latent_dims() const { return model().latent().dims(); }
  int64_t image_pixels() const { return model().image().pixels(); }

  // Builds the backend for `batch` now rather than at the first decode.
  void prepare(int batch) { runner_.prepare(batch); }

  // latents holds batch x latent_dims() values; images receives batch x image_pixels().
  void decode_into(const float* latents, int batch, float* images);
  std::vector<float> decode(const std::vector<float>& latents, int batch);

 private:
  MethodRunner runner_;
};

}  // namespace latentkit
