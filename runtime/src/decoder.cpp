#include "latentkit/decoder.h"

#include "latentkit/error.h"
#include "latentkit/memory_plan.h"

namespace latentkit {

Decoder::Decoder(Model model, BackendKind kind, BackendOptions options)
    : model_(std::move(model)), kind_(kind), options_(options) {}

Backend& Decoder::backend_for(int batch) {
  auto it = backends_.find(batch);
  if (it != backends_.end()) return *it->second;
  // The memory limit bounds all cached backends together, not each alone: a caller cycling
  // through batch sizes must not accumulate backends past it. Over the limit, the others go.
  const MemoryPlan plan = plan_memory(model_, kind_, batch);
  if (cached_bytes_ + plan.total() > model_.limits().max_memory_bytes) {
    backends_.clear();
    cached_bytes_ = 0;
  }
  it = backends_.emplace(batch, make_backend(kind_, model_, batch, options_)).first;
  cached_bytes_ += plan.activation_bytes + plan.workspace_bytes;
  return *it->second;
}

void Decoder::prepare(int batch) { backend_for(batch); }

void Decoder::decode_into(const float* latents, int batch, float* images) {
  backend_for(batch).run(latents, images);
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
