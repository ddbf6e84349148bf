// The per-image terms of a VAE's negative ELBO that every VAE family shares (the CVAE's vae_terms,
// the MLP VAEs' losses and evaluation), in nats: written once so that the families measure alike.
#pragma once

#include <torch/torch.h>

namespace latentkit::trainer {

// KL(N(mean, exp(log_variance)) || N(0, I)) per row of [B, D]: [B].
inline torch::Tensor gaussian_kl(const torch::Tensor& mean, const torch::Tensor& log_variance) {
  return 0.5 * (mean.pow(2) + log_variance.exp() - 1 - log_variance).sum(1);
}

// mean + exp(log_variance / 2) * noise: a posterior sample from standard normal `noise`.
inline torch::Tensor gaussian_sample(const torch::Tensor& mean, const torch::Tensor& log_variance,
                                     const torch::Tensor& noise) {
  return mean + torch::exp(0.5 * log_variance) * noise;
}

// The Bernoulli cross-entropy of images `x` under the decoder's `logits`, summed over each image's
// pixels: [B].
inline torch::Tensor bernoulli_cross_entropy(const torch::Tensor& logits, const torch::Tensor& x) {
  return torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::None).flatten(1).sum(1);
}

}  // namespace latentkit::trainer
