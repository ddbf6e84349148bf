#include "latentkit/decoder.h"

#include "latentkit/error.h"

namespace latentkit {

Decoder::Decoder(Model model, BackendKind kind, BackendOptions options)
    : runner_(std::move(model), methods::decode, kind, options) {}

void Decoder::decode_into(const float* latents, int batch, float* images) {
  runner_.run_into(&latents, batch, &images);
}

std::vector<float> Decoder::decode(const std::vector<float>& latents, int batch) {
  if (batch <= 0 || latents.size() != static_cast<std::size_t>(batch) * latent_dims()) {
    throw Error(ErrorCode::invalid_argument,
                "decode: got " + std::to_string(latents.size()) + " latent values for a batch of " +
                    std::to_string(batch) + " with " + std::to_string(latent_dims()) + " dimensions each");
  }
  std::vector<float> images(static_cast<std::size_t>(batch) * image_pixels());
  decode_into(latents.data(), batch, images.data());
  return images;
}

}  // namespace latentkit
