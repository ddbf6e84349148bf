#include "latentkit/trainer/conv_autoencoder.h"

#include <stdexcept>
#include <tuple>

#include "latentkit/trainer/transposed_conv.h"

namespace latentkit::trainer {

namespace nn = torch::nn;

Upsample parse_upsample(const std::string& text) {
  if (text == "transposed") return Upsample::transposed;
  if (text == "nearest") return Upsample::nearest;
  if (text == "max-unpool") return Upsample::max_unpool;
  throw std::invalid_argument("--upsample '" + text + "': expected transposed, nearest or max-unpool");
}

const char* to_string(Upsample upsample) {
  switch (upsample) {
    case Upsample::transposed: return "transposed";
    case Upsample::nearest: return "nearest";
    case Upsample::max_unpool: return "max-unpool";
  }
  return "?";
}

ConvAutoencoderImpl::ConvAutoencoderImpl(int64_t code, Upsample upsample) : code_(code), upsample_(upsample) {
  // Pooling halves the size in place of the convolutions' stride.
  const int64_t stride = upsample == Upsample::max_unpool ? 1 : 2;
  enc_conv1 = register_module(
      "enc_conv1", nn::Conv2d(nn::Conv2dOptions(1, kConvHiddenChannels, 3).stride(stride).padding(1)));
  enc_conv2 = register_module(
      "enc_conv2", nn::Conv2d(nn::Conv2dOptions(kConvHiddenChannels, kConvSeedChannels, 3).stride(stride).padding(1)));
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

torch::Tensor ConvAutoencoderImpl::encode_pooled(const torch::Tensor& x, torch::Tensor* indices1,
                                                 torch::Tensor* indices2) {
  torch::Tensor h = torch::relu(enc_conv1(x));
  if (upsample_ == Upsample::max_unpool) std::tie(h, *indices1) = torch::max_pool2d_with_indices(h, kConvPool, kConvPool);
  h = torch::relu(enc_conv2(h));
  if (upsample_ == Upsample::max_unpool) std::tie(h, *indices2) = torch::max_pool2d_with_indices(h, kConvPool, kConvPool);
  return enc_dense(h.flatten(1));
}

torch::Tensor ConvAutoencoderImpl::encode(const torch::Tensor& x) {
  torch::Tensor indices1, indices2;
  return encode_pooled(x, &indices1, &indices2);
}

torch::Tensor ConvAutoencoderImpl::decode_output(const torch::Tensor& code) {
  if (upsample_ == Upsample::max_unpool) {
    throw std::logic_error(
        "a conv-ae with --upsample max-unpool cannot decode a free code: its unpooling needs the encoder's pooling "
        "switches (reconstruct images instead)");
  }
  return upsample_output(torch::relu(dec_dense(code)), {}, {});
}

torch::Tensor ConvAutoencoderImpl::switches_decided(const torch::Tensor& x) {
  if (upsample_ != Upsample::max_unpool) return torch::ones({x.size(0)}, torch::kBool);
  // z [B, C, H, W] before the ReLU -> [B]: every window decided.
  auto decided = [](const torch::Tensor& z) {
    const torch::Tensor windows =
        z.unfold(2, kConvPool, kConvPool).unfold(3, kConvPool, kConvPool).reshape({z.size(0), -1, kConvPool * kConvPool});
    const torch::Tensor top = std::get<0>(windows.topk(2, -1));
    const torch::Tensor first = top.select(-1, 0), gap = first - top.select(-1, 1);
    const torch::Tensor clear = (first > kSwitchMargin) & ((gap > kSwitchMargin) | (gap == 0));
    return (clear | (first < -kSwitchMargin)).all(1);
  };
  const torch::Tensor z1 = enc_conv1(x);
  const torch::Tensor z2 = enc_conv2(torch::max_pool2d(torch::relu(z1), kConvPool, kConvPool));
  return decided(z1) & decided(z2);
}

AutoencoderNet::Pass ConvAutoencoderImpl::pass(const torch::Tensor& x) {
  torch::Tensor indices1, indices2;
  torch::Tensor code = encode_pooled(x, &indices1, &indices2);
  torch::Tensor output = upsample_output(torch::relu(dec_dense(code)), indices1, indices2);
  return {std::move(code), std::move(output)};
}

torch::Tensor ConvAutoencoderImpl::upsample_output(torch::Tensor seed, const torch::Tensor& indices1,
                                                   const torch::Tensor& indices2) {
  torch::Tensor h = seed.view({-1, kConvSeedChannels, kConvSeedSize, kConvSeedSize});
  switch (upsample_) {
    case Upsample::transposed:
      // Through the convolutions they are the adjoints of (transposed_conv.h): the same function,
      // faster than libtorch's own ConvTranspose2d on the CPU.
      h = torch::relu(conv_transpose2d_via_adjoint(h, up1_transposed));
      return conv_transpose2d_via_adjoint(h, up2_transposed).contiguous();
    case Upsample::nearest: {
      auto twice = [](const torch::Tensor& t) {
        return nn::functional::interpolate(
            t, nn::functional::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
      };
      h = torch::relu(up1_conv(twice(h)));
      return up2_conv(twice(h)).contiguous();
    }
    case Upsample::max_unpool: {
      const int64_t middle = kConvSeedSize * kConvPool, image = middle * kConvPool;
      h = torch::relu(up1_conv(torch::max_unpool2d(h, indices2, {middle, middle})));
      return up2_conv(torch::max_unpool2d(h, indices1, {image, image})).contiguous();
    }
  }
  throw std::logic_error("unknown upsampling");
}

}  // namespace latentkit::trainer
