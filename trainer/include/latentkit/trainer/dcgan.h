// A DCGAN (Radford et al. 2016) for 28 x 28 images: a generator from a Gaussian latent to an
// image and a discriminator from an image to a logit of "real".
//
//   generator      z [latent] -> Linear 128*7*7 -> view [128, 7, 7] -> BatchNorm -> ReLU
//                  -> ConvTranspose 128 -> 64, 4x4, stride 2, pad 1 -> 14x14 -> BatchNorm -> ReLU
//                  -> ConvTranspose 64 -> C, 4x4, stride 2, pad 1 -> 28x28 -> sigmoid
//   discriminator  x [C, 28, 28] -> Conv C -> 64, 4x4, stride 2, pad 1 -> 14x14 -> LeakyReLU 0.2
//                  -> Conv 64 -> 128, 4x4, stride 2, pad 1 -> 7x7 -> LeakyReLU 0.2
//                  -> flatten -> Linear 1 (the logit)
//
// C is the dataset's: 1 for MNIST and Fashion-MNIST, 3 for coloured MNIST. The layers before a
// batch norm keep their bias although the norm's shift could stand for it: the fast transposed
// convolution (transposed_conv.h) takes a bias, and the folding takes either. The discriminator has no batch norm:
// it sees real and generated batches apart, and a norm over each would tell them apart by their
// statistics alone. The output is a sigmoid, as the VAE decoders', so that images are in [0, 1]
// like the data and the runtime's image spec.
//
// At export the batch norms (eval mode: running statistics) are folded into the layer before each
// (fold_batch_norm), so that the device runs dense, transposed convolutions, ReLU and a sigmoid:
// the CVAE's ops.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace latentkit::trainer {

struct DcganShape {
  int64_t latent = 64;
  int64_t channels = 1;
  static constexpr int64_t kSide = 28, kSeedSide = 7;
  static constexpr int64_t kSeedChannels = 128, kHiddenChannels = 64;
};

class DcganGeneratorImpl : public torch::nn::Module {
 public:
  explicit DcganGeneratorImpl(const DcganShape& shape);
  // latents [B, latent] -> images [B, C, 28, 28] in (0, 1).
  torch::Tensor forward(const torch::Tensor& latents) { return torch::sigmoid(logits(latents)); }
  // The pre-sigmoid output.
  torch::Tensor logits(const torch::Tensor& latents);

  const DcganShape& shape() const { return shape_; }

  torch::nn::Linear dense{nullptr};
  torch::nn::BatchNorm2d dense_norm{nullptr};
  torch::nn::ConvTranspose2d up1{nullptr};
  torch::nn::BatchNorm2d up1_norm{nullptr};
  torch::nn::ConvTranspose2d up2{nullptr};

 private:
  DcganShape shape_;
};
TORCH_MODULE(DcganGenerator);

class DcganDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DcganDiscriminatorImpl(const DcganShape& shape);
  // images [B, C, 28, 28] -> logits [B] of "real".
  torch::Tensor forward(const torch::Tensor& images);

  torch::nn::Conv2d down1{nullptr}, down2{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(DcganDiscriminator);

// The generator in eval mode with each batch norm folded into the layer before it: for a norm
// with running mean m, variance v, weight g, bias b and eps e, scale s = g / sqrt(v + e) per
// channel; the layer's weights for that output channel are multiplied by s and its bias becomes
// s * (bias - m) + b. The dense layer's rows are channel-major (libtorch views its output as
// [128, 7, 7]), so row r belongs to channel r / 49.
struct FoldedGenerator {
  torch::nn::Linear dense{nullptr};
  torch::nn::ConvTranspose2d up1{nullptr};
  torch::nn::ConvTranspose2d up2{nullptr};   // the generator's own (no norm after it), copied

  // The same images as the generator in eval mode, up to float rounding.
  torch::Tensor forward(const torch::Tensor& latents);
};
FoldedGenerator fold_batch_norm(DcganGeneratorImpl& generator);

// The non-saturating GAN losses (Goodfellow et al. 2014, section 3), per image, from logits:
//   discriminator  -log D(x) - log(1 - D(G(z))) = softplus(-real) + softplus(fake)
//   generator      -log D(G(z))                 = softplus(-fake)
torch::Tensor discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits);
torch::Tensor generator_loss(const torch::Tensor& fake_logits);

}  // namespace latentkit::trainer
