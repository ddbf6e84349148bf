// Seed 004's three VAEs as one network: an MLP encoder and decoder around a latent of a continuous
// (Gaussian) part and a discrete part of N categorical variables of K categories each.
//
//   encoder  flatten C*H*W (HWC order, as the runtime's images) -> Linear 512 -> ReLU -> Linear 256 -> ReLU
//            -> continuous head Linear 256 -> 2 * continuous (mean, log-variance)
//            -> discrete head   Linear 256 -> N * K (logits of q(c | x), K per variable)
//   decoder  [z | one-hot c] -> Linear 256 -> ReLU -> Linear 512 -> ReLU -> Linear C*H*W -> sigmoid
//
// mlp-vae has the continuous part only (the seed's continuous VAE), discrete-vae the discrete part
// only (Gumbel-softmax, Jang et al. 2017), joint-vae both (Dupont 2018's JointVAE without, or with,
// its capacity-controlled KL terms).
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace latentkit::trainer {

struct MlpVaeShape {
  int64_t channels = 3, height = 28, width = 28;
  int64_t continuous = 2;            // size of the Gaussian part (0: none)
  int64_t variables = 0, categories = 0;  // N and K of the discrete part (0: none)

  int64_t pixels() const { return channels * height * width; }
  int64_t discrete() const { return variables * categories; }
  int64_t latent() const { return continuous + discrete(); }  // what the decoder reads
};

// The encoder's outputs for a batch.
struct MlpVaePosterior {
  torch::Tensor mean, log_variance;  // [B, continuous] (undefined without a continuous part)
  torch::Tensor logits;              // [B, N, K] (undefined without a discrete part)
};

class MlpVaeImpl : public torch::nn::Module {
 public:
  explicit MlpVaeImpl(const MlpVaeShape& shape);

  const MlpVaeShape& shape() const { return shape_; }

  MlpVaePosterior encode(const torch::Tensor& images);  // [B, C, H, W] in [0, 1]
  // Logits of the pixels' Bernoulli means, [B, C, H, W], from latents [B, latent].
  torch::Tensor decode_logits(const torch::Tensor& latents);
  torch::Tensor decode(const torch::Tensor& latents) { return torch::sigmoid(decode_logits(latents)); }
  // The latent of the posterior's mode: the means and each variable's most likely category, one-hot.
  torch::Tensor posterior_mode(const MlpVaePosterior& q);

  torch::nn::Linear encoder0{nullptr}, encoder1{nullptr}, continuous_head{nullptr}, discrete_head{nullptr};
  torch::nn::Linear decoder0{nullptr}, decoder1{nullptr}, decoder2{nullptr};

 private:
  MlpVaeShape shape_;
};
TORCH_MODULE(MlpVae);

// Gumbel(0, 1) noise from uniform draws in [0, 1), kept away from 0 and 1 so that it stays
// finite: -log(-log u). Added to logits, its argmax is an exact categorical sample.
torch::Tensor gumbel_noise(const torch::Tensor& uniform);

// A relaxed one-hot sample of each variable, softmax((logits + Gumbel noise) / temperature) over
// the last dimension; `hard` gives exact one-hots forward with the relaxed gradient backward
// (straight-through).
torch::Tensor gumbel_softmax(const torch::Tensor& logits, double temperature, bool hard);

// KL(q(c | x) || uniform over K) summed over the N variables, per image: sum q log q + N log K.
torch::Tensor categorical_kl(const torch::Tensor& logits);

// The Gumbel-softmax temperature after `step` steps: max(minimum, exp(-rate * step)), the annealing
// of Jang et al. (2017) applied every step (the seed's ANNEAL_RATE 0.0003, minimum 0.5).
double annealed_temperature(int64_t step, double rate, double minimum);

}  // namespace latentkit::trainer
