#include "latentkit/trainer/mlp_vae.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace latentkit::trainer {

MlpVaeImpl::MlpVaeImpl(const MlpVaeShape& shape) : shape_(shape) {
  if (shape.latent() <= 0) throw std::invalid_argument("an MLP VAE needs a continuous or a discrete latent part");
  if ((shape.variables == 0) != (shape.categories == 0)) {
    throw std::invalid_argument("a discrete latent part needs both a number of variables and of categories");
  }
  if (shape.categories == 1) throw std::invalid_argument("a categorical variable needs at least 2 categories");
  encoder0 = register_module("encoder0", torch::nn::Linear(shape.pixels(), 512));
  encoder1 = register_module("encoder1", torch::nn::Linear(512, 256));
  if (shape.continuous > 0) continuous_head = register_module("continuous_head", torch::nn::Linear(256, 2 * shape.continuous));
  if (shape.discrete() > 0) discrete_head = register_module("discrete_head", torch::nn::Linear(256, shape.discrete()));
  decoder0 = register_module("decoder0", torch::nn::Linear(shape.latent(), 256));
  decoder1 = register_module("decoder1", torch::nn::Linear(256, 512));
  decoder2 = register_module("decoder2", torch::nn::Linear(512, shape.pixels()));
}

MlpVaePosterior MlpVaeImpl::encode(const torch::Tensor& images) {
  // HWC order, so that the exported first layer reads the runtime's images as they are.
  const torch::Tensor x = images.permute({0, 2, 3, 1}).reshape({images.size(0), -1});
  const torch::Tensor h = torch::relu(encoder1(torch::relu(encoder0(x))));
  MlpVaePosterior q;
  if (continuous_head) {
    const auto halves = continuous_head(h).chunk(2, 1);
    q.mean = halves[0];
    q.log_variance = halves[1];
  }
  if (discrete_head) q.logits = discrete_head(h).view({-1, shape_.variables, shape_.categories});
  return q;
}

torch::Tensor MlpVaeImpl::decode_logits(const torch::Tensor& latents) {
  const torch::Tensor flat = decoder2(torch::relu(decoder1(torch::relu(decoder0(latents)))));
  return flat.view({-1, shape_.height, shape_.width, shape_.channels}).permute({0, 3, 1, 2});
}

torch::Tensor MlpVaeImpl::posterior_mode(const MlpVaePosterior& q) {
  std::vector<torch::Tensor> parts;
  if (q.mean.defined()) parts.push_back(q.mean);
  if (q.logits.defined()) {
    parts.push_back(torch::one_hot(q.logits.argmax(-1), shape_.categories).to(torch::kFloat32).flatten(1));
  }
  return torch::cat(parts, 1);
}

torch::Tensor gumbel_noise(const torch::Tensor& uniform) {
  return -torch::log(-torch::log(uniform.clamp(1e-10, 1.0 - 1e-7)));
}

torch::Tensor gumbel_softmax(const torch::Tensor& logits, double temperature, bool hard) {
  const torch::Tensor soft = torch::softmax((logits + gumbel_noise(torch::rand_like(logits))) / temperature, -1);
  if (!hard) return soft;
  const torch::Tensor one_hot = torch::one_hot(soft.argmax(-1), logits.size(-1)).to(soft.dtype());
  return one_hot - soft.detach() + soft;
}

torch::Tensor categorical_kl(const torch::Tensor& logits) {
  const torch::Tensor log_q = torch::log_softmax(logits, -1);
  const double log_k = std::log(static_cast<double>(logits.size(-1)));
  return (log_q.exp() * (log_q + log_k)).sum({1, 2});
}

double annealed_temperature(int64_t step, double rate, double minimum) {
  return std::max(minimum, std::exp(-rate * static_cast<double>(step)));
}

}  // namespace latentkit::trainer
