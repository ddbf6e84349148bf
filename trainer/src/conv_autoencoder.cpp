#include "latentkit/trainer/conv_autoencoder.h"

#include <stdexcept>

#include "latentkit/trainer/transposed_conv.h"

namespace latentkit::trainer {

namespace nn = torch::nn;

Upsample parse_upsample(const std::string& text) {
  if (text == "transposed") return Upsample::transposed;
  if (text == "nearest") return Upsample::nearest;
  if (text == "max-unpool") {
    throw std::invalid_argument(
        "--upsample max-unpool is not built yet: unpooling needs the encoder's max-pooling switches, which decode "
        "(code -> image) does not have, and the runtime's max_pool2d / max_unpool2d ops; use transposed or nearest");
  }
  throw std::invalid_argument("--upsample '" + text + "': expected transposed or nearest");
}

const char* to_string(Upsample upsample) { return upsample == Upsample::transposed ? "transposed" : "nearest"; }

ConvAutoencoderImpl::ConvAutoencoderImpl(int64_t code, Upsample upsample) : code_(code), upsample_(upsample) {
  enc_conv1 = register_module("enc_conv1", nn::Conv2d(nn::Conv2dOptions(1, kConvHiddenChannels, 3).stride(2).padding(1)));
  enc_conv2 = register_module("enc_conv2",
                              nn::Conv2d(nn::Conv2dOptions(kConvHiddenChannels, kConvSeedChannels, 3).stride(2).padding(1)));
  const int64_t seed = kConvSeedSize * kConvSeedSize * kConvSeedChannels;
  enc_dense = register_module("enc_dense", nn::Linear(seed, code));
  dec_dense = register_module("dec_dense", nn::Linear(code, seed));
  if (upsample == Upsample::transposed) {
    // Padding 1 and one extra row and column: exactly twice the size (TensorFlow's SAME).
    auto options = [](int64_t in, int64_t out) {
      return nn::ConvTranspose2dOptions(in, out, 3).stride(2).padding(1).output_padding(1);
    };
    up1_transposed = register_module("up1", nn::ConvTranspose2d(options(kConvSeedChannels, kConvHiddenChannels)));
    up2_transposed = register_module("up2", nn::ConvTranspose2d(options(kConvHiddenChannels, 1)));
  } else {
    up1_conv = register_module("up1", nn::Conv2d(nn::Conv2dOptions(kConvSeedChannels, kConvHiddenChannels, 3).padding(1)));
    up2_conv = register_module("up2", nn::Conv2d(nn::Conv2dOptions(kConvHiddenChannels, 1, 3).padding(1)));
  }
}

torch::Tensor ConvAutoencoderImpl::encode(const torch::Tensor& x) {
  torch::Tensor h = torch::relu(enc_conv1(x));
  h = torch::relu(enc_conv2(h));
  return enc_dense(h.flatten(1));
}

torch::Tensor ConvAutoencoderImpl::decode_output(const torch::Tensor& code) {
  torch::Tensor h = torch::relu(dec_dense(code)).view({-1, kConvSeedChannels, kConvSeedSize, kConvSeedSize});
  if (upsample_ == Upsample::transposed) {
    // Through the convolutions they are the adjoints of (transposed_conv.h): the same function,
    // faster than libtorch's own ConvTranspose2d on the CPU.
    h = torch::relu(conv_transpose2d_via_adjoint(h, up1_transposed));
    return conv_transpose2d_via_adjoint(h, up2_transposed).contiguous();
  }
  auto twice = [](const torch::Tensor& t) {
    return nn::functional::interpolate(
        t, nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  };
  h = torch::relu(up1_conv(twice(h)));
  return up2_conv(twice(h)).contiguous();
}

}  // namespace latentkit::trainer
