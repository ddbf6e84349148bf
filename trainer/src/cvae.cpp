#include "latentkit/trainer/cvae.h"

#include "latentkit/trainer/gaussian_terms.h"

#include <stdexcept>

#include "latentkit/trainer/transposed_conv.h"

namespace latentkit::trainer {

namespace nn = torch::nn;

void require_cvae_images(const ImageDataset& images, const std::string& dir) {
  if (images.height != kImageSize || images.width != kImageSize) {
    throw std::runtime_error("the CVAE needs " + std::to_string(kImageSize) + "x" + std::to_string(kImageSize) +
                             " images; '" + dir + "' has " + std::to_string(images.height) + "x" +
                             std::to_string(images.width));
  }
}

CvaeImpl::CvaeImpl(int64_t latent_dims) : latent_dims_(latent_dims) {
  TORCH_CHECK(latent_dims >= 1, "latent size must be at least 1, got ", latent_dims);
  // Encoder convolutions are 'valid' as in the tutorial: 28 -> 13 -> 6.
  enc_conv1 = register_module("enc_conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).stride(2)));
  enc_conv2 = register_module("enc_conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(2)));
  enc_dense = register_module("enc_dense", nn::Linear(64 * 6 * 6, 2 * latent_dims));
  dec_dense = register_module(
      "dec_dense", nn::Linear(latent_dims, kDecoderSeedSize * kDecoderSeedSize * kDecoderSeedChannels));
  // TensorFlow's SAME for a stride-2 transposed convolution doubles the size: padding 1 with
  // one extra row and column at the bottom and right (output_padding).
  dec_tconv1 = register_module(
      "dec_tconv1", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, 64, 3).stride(2).padding(1).output_padding(1)));
  dec_tconv2 = register_module(
      "dec_tconv2", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 32, 3).stride(2).padding(1).output_padding(1)));
  dec_tconv3 = register_module(
      "dec_tconv3", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, 1, 3).stride(1).padding(1)));
}

CvaeImpl::Posterior CvaeImpl::encode(const torch::Tensor& x) {
  auto h = torch::relu(enc_conv1(x));
  h = torch::relu(enc_conv2(h));
  auto stats = enc_dense(h.flatten(1));
  auto halves = stats.chunk(2, 1);
  return {halves[0], halves[1]};
}

torch::Tensor CvaeImpl::decode_logits(const torch::Tensor& z) {
  auto h = torch::relu(dec_dense(z));
  h = h.view({-1, kDecoderSeedChannels, kDecoderSeedSize, kDecoderSeedSize});
  // The stride-2 transposed convolutions are computed as the adjoints of convolutions
  // (transposed_conv.h): same parameters and function, 2-3x faster on the CPU, channels-last.
  h = torch::relu(conv_transpose2d_via_adjoint(h, dec_tconv1));
  h = torch::relu(conv_transpose2d_via_adjoint(h, dec_tconv2));
  return conv_transpose2d_via_gemm(h, dec_tconv3).contiguous();
}

VaeTerms vae_terms(const torch::Tensor& logits, const torch::Tensor& x, const CvaeImpl::Posterior& q) {
  return {bernoulli_cross_entropy(logits, x), gaussian_kl(q.mean, q.logvar)};
}

torch::Tensor reparameterize(const CvaeImpl::Posterior& q, c10::optional<at::Generator> generator) {
  return gaussian_sample(q.mean, q.logvar, at::randn(q.mean.sizes(), generator, q.mean.options()));
}

std::vector<float> decode_images(Cvae& model, const std::vector<float>& latents) {
  torch::NoGradGuard no_grad;
  const int64_t dims = model->latent_dims();
  if (latents.size() % dims != 0) throw std::invalid_argument("latent count is not a multiple of the latent size");
  auto z = torch::from_blob(const_cast<float*>(latents.data()), {static_cast<int64_t>(latents.size()) / dims, dims});
  // NCHW -> NHWC, the runtime's image layout.
  auto images = torch::sigmoid(model->decode_logits(z)).permute({0, 2, 3, 1}).contiguous();
  return std::vector<float>(images.data_ptr<float>(), images.data_ptr<float>() + images.numel());
}

}  // namespace latentkit::trainer
