#include "latentkit/trainer/dcgan.h"

#include <stdexcept>
#include <string>

#include "latentkit/trainer/transposed_conv.h"

namespace latentkit::trainer {

namespace nn = torch::nn;

namespace {

using Shape = DcganShape;

// DCGAN's initialisation (Radford et al. 2016, section 4): every weight from N(0, 0.02), batch
// norm scales from N(1, 0.02), biases 0. Drawn from libtorch's default generator, so that the
// run's seed fixes them.
void dcgan_init(nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    const bool norm = name.find("norm") != std::string::npos;
    if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      p.zero_();
    } else if (norm) {
      p.normal_(1.0, 0.02);
    } else {
      p.normal_(0.0, 0.02);
    }
  }
}

// s = g / sqrt(v + e) of a batch norm's running statistics, per channel.
torch::Tensor norm_scale(const nn::BatchNorm2d& norm) {
  return norm->weight / torch::sqrt(norm->running_var + norm->options.eps());
}

// s * (bias - m) + b per channel.
torch::Tensor folded_bias(const torch::Tensor& bias, const nn::BatchNorm2d& norm) {
  return norm_scale(norm) * (bias - norm->running_mean) + norm->bias;
}

// A new layer's options, the same as `layer`'s.
nn::ConvTranspose2dOptions transposed_options(const nn::ConvTranspose2d& layer) {
  const auto& o = layer->options;
  return nn::ConvTranspose2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
      .stride(o.stride())
      .padding(c10::get<torch::ExpandingArray<2>>(o.padding()))
      .output_padding(o.output_padding());
}

}  // namespace

DcganGeneratorImpl::DcganGeneratorImpl(const DcganShape& shape) : shape_(shape) {
  if (shape.latent < 1 || (shape.channels != 1 && shape.channels != 3)) {
    throw std::invalid_argument("a DCGAN generator takes a latent of >= 1 dimensions and 1 or 3 channels (given " +
                                std::to_string(shape.latent) + " and " + std::to_string(shape.channels) + ")");
  }
  const int64_t seed = Shape::kSeedChannels * Shape::kSeedSide * Shape::kSeedSide;
  dense = register_module("dense", nn::Linear(shape.latent, seed));
  dense_norm = register_module("dense_norm", nn::BatchNorm2d(Shape::kSeedChannels));
  up1 = register_module("up1", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(Shape::kSeedChannels, Shape::kHiddenChannels, 4)
                                                       .stride(2)
                                                       .padding(1)));
  up1_norm = register_module("up1_norm", nn::BatchNorm2d(Shape::kHiddenChannels));
  up2 = register_module("up2", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(Shape::kHiddenChannels, shape.channels, 4)
                                                       .stride(2)
                                                       .padding(1)));
  dcgan_init(*this);
}

torch::Tensor DcganGeneratorImpl::logits(const torch::Tensor& latents) {
  torch::Tensor h = dense(latents).view({-1, Shape::kSeedChannels, Shape::kSeedSide, Shape::kSeedSide});
  h = torch::relu(dense_norm(h));
  // The transposed convolutions as the CVAE's decoder computes them (transposed_conv.h): the same
  // function, several times faster on CPU than the module's own forward.
  h = torch::relu(up1_norm(conv_transpose2d_via_adjoint(h, up1)));
  return conv_transpose2d_via_gemm(h, up2).contiguous();
}

DcganDiscriminatorImpl::DcganDiscriminatorImpl(const DcganShape& shape) {
  down1 = register_module("down1", nn::Conv2d(nn::Conv2dOptions(shape.channels, 64, 4).stride(2).padding(1)));
  down2 = register_module("down2", nn::Conv2d(nn::Conv2dOptions(64, 128, 4).stride(2).padding(1)));
  head = register_module("head", nn::Linear(128 * Shape::kSeedSide * Shape::kSeedSide, 1));
  dcgan_init(*this);
}

torch::Tensor DcganDiscriminatorImpl::forward(const torch::Tensor& images) {
  const auto leaky = nn::functional::LeakyReLUFuncOptions().negative_slope(0.2);
  torch::Tensor h = nn::functional::leaky_relu(down1(images), leaky);
  h = nn::functional::leaky_relu(down2(h), leaky);
  return head(h.flatten(1)).squeeze(1);
}

FoldedGenerator fold_batch_norm(DcganGeneratorImpl& g) {
  torch::NoGradGuard no_grad;
  FoldedGenerator f;
  f.dense = nn::Linear(g.dense->options);
  // Each row of the dense layer feeds one channel of the [128, 7, 7] view.
  const torch::Tensor row_scale =
      norm_scale(g.dense_norm).repeat_interleave(Shape::kSeedSide * Shape::kSeedSide);
  f.dense->weight.copy_(g.dense->weight * row_scale.unsqueeze(1));
  f.dense->bias.copy_(folded_bias(g.dense->bias.view({Shape::kSeedChannels, -1}).t(), g.dense_norm).t().reshape(-1));
  f.up1 = nn::ConvTranspose2d(transposed_options(g.up1));
  // A transposed convolution's weight is [in, out, kh, kw]: the output channel is dimension 1.
  f.up1->weight.copy_(g.up1->weight * norm_scale(g.up1_norm).view({1, -1, 1, 1}));
  f.up1->bias.copy_(folded_bias(g.up1->bias, g.up1_norm));
  f.up2 = nn::ConvTranspose2d(transposed_options(g.up2));
  f.up2->weight.copy_(g.up2->weight);
  f.up2->bias.copy_(g.up2->bias);
  return f;
}

torch::Tensor FoldedGenerator::forward(const torch::Tensor& latents) {
  torch::Tensor h = torch::relu(dense(latents)).view({-1, Shape::kSeedChannels, Shape::kSeedSide, Shape::kSeedSide});
  h = torch::relu(up1(h));
  return torch::sigmoid(up2(h));
}

torch::Tensor discriminator_loss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits) {
  return torch::nn::functional::softplus(-real_logits) + torch::nn::functional::softplus(fake_logits);
}

torch::Tensor generator_loss(const torch::Tensor& fake_logits) { return torch::nn::functional::softplus(-fake_logits); }

}  // namespace latentkit::trainer
