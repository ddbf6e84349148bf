// The convolutional VAE of seed 000 (the TensorFlow CVAE tutorial), in libtorch.
//
// Encoder: 28x28x1 -> Conv 32 (3x3, stride 2, ReLU) -> Conv 64 (3x3, stride 2, ReLU) -> Flatten
//          -> Dense(2 * latent): mean and log-variance.
// Decoder: Dense(7*7*32, ReLU) -> Reshape(7, 7, 32) -> ConvT 64 (3x3, stride 2, SAME, ReLU)
//          -> ConvT 32 (3x3, stride 2, SAME, ReLU) -> ConvT 1 (3x3, stride 1, SAME): logits.
// Tensors are NCHW here, as libtorch wants; the exporter converts to the runtime's HWC layout.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "latentkit/trainer/mnist.h"

namespace latentkit::trainer {

// Shapes that the decoder and the exporter both rely on.
constexpr int64_t kImageSize = 28;

// Throws std::runtime_error naming `dir` and the size unless `images` are kImageSize square:
// training, evaluation and int8 calibration all feed them to the encoder.
void require_cvae_images(const ImageDataset& images, const std::string& dir);
constexpr int64_t kDecoderSeedSize = 7;       // spatial size after the decoder's dense layer
constexpr int64_t kDecoderSeedChannels = 32;

class CvaeImpl : public torch::nn::Module {
 public:
  explicit CvaeImpl(int64_t latent_dims);

  struct Posterior {
    torch::Tensor mean, logvar;
  };
  // x: [B, 1, 28, 28] with values in [0, 1].
  Posterior encode(const torch::Tensor& x);
  // z: [B, latent]; returns logits [B, 1, 28, 28].
  torch::Tensor decode_logits(const torch::Tensor& z);

  int64_t latent_dims() const { return latent_dims_; }

  // The layers, read by the exporter.
  torch::nn::Conv2d enc_conv1{nullptr}, enc_conv2{nullptr};
  torch::nn::Linear enc_dense{nullptr};
  torch::nn::Linear dec_dense{nullptr};
  torch::nn::ConvTranspose2d dec_tconv1{nullptr}, dec_tconv2{nullptr}, dec_tconv3{nullptr};

 private:
  int64_t latent_dims_;
};
TORCH_MODULE(Cvae);

// Per-example terms of the negative ELBO, in nats: Bernoulli cross-entropy of x under the
// decoder's logits summed over pixels, and the analytic KL(q(z|x) || N(0, I)).
struct VaeTerms {
  torch::Tensor reconstruction;  // [B]
  torch::Tensor kl;              // [B]
};
VaeTerms vae_terms(const torch::Tensor& logits, const torch::Tensor& x, const CvaeImpl::Posterior& q);

// z = mean + exp(logvar / 2) * eps, eps ~ N(0, I) drawn from `generator` (or the global one).
torch::Tensor reparameterize(const CvaeImpl::Posterior& q, c10::optional<at::Generator> generator = c10::nullopt);

// Decodes `latents` ([N, latent] row-major) with the libtorch decoder: N images, HWC, in [0, 1].
std::vector<float> decode_images(Cvae& model, const std::vector<float>& latents);

}  // namespace latentkit::trainer
