// The convolutional autoencoder of seed 003 ("plain autoencoder ... convolutional"), with the
// decoder's upsampling chosen by `--upsample` (seed 003: nearest-neighbour unpooling, max
// unpooling, learnable transposed convolution):
//
//   encoder  28x28x1 -> Conv 32 (3x3, stride 2, pad 1, ReLU) -> 14x14x32
//                    -> Conv 64 (3x3, stride 2, pad 1, ReLU) -> 7x7x64 -> flatten -> Dense(code)
//   decoder  Dense(7*7*64, ReLU) -> 7x7x64 -> up 64 -> 32 (ReLU) -> 14x14x32 -> up 32 -> 1 -> 28x28x1
//            logits -> sigmoid
//
// where "up a -> b" is, by --upsample:
//   transposed  ConvT(a, b, 3x3, stride 2, pad 1, output padding 1): learned upsampling, exported
//               with the runtime's transpose_conv2d
//   nearest     each pixel repeated 2x2, then Conv(a, b, 3x3, stride 1, pad 1); trains here, and
//               export refuses it until the runtime has an upsample_nearest2d op
// max-unpool is refused when the model is built: unpooling needs the encoder's pooling switches,
// which `decode` (code -> image) does not have; it needs the encoder to pool (max_pool2d with
// indices) and a decision on what decode does without switches, with the runtime's max_pool2d and
// max_unpool2d ops.
#pragma once

#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/autoencoder.h"

namespace latentkit::trainer {

enum class Upsample { transposed, nearest };
// "transposed" or "nearest"; throws std::invalid_argument naming --upsample (and why max-unpool is
// not there yet).
Upsample parse_upsample(const std::string& text);
const char* to_string(Upsample upsample);

constexpr int64_t kConvSeedSize = 7, kConvSeedChannels = 64, kConvHiddenChannels = 32;

class ConvAutoencoderImpl : public AutoencoderNet {
 public:
  ConvAutoencoderImpl(int64_t code, Upsample upsample);

  torch::Tensor encode(const torch::Tensor& x) override;
  torch::Tensor decode_output(const torch::Tensor& code) override;
  bool sigmoid_output() const override { return true; }
  int64_t code_size() const override { return code_; }
  Upsample upsample() const { return upsample_; }

  // The layers, read by the exporter. up1 / up2 are the transposed convolutions (transposed) or
  // the convolutions after the 2x2 repetition (nearest); the other pair stays empty.
  torch::nn::Conv2d enc_conv1{nullptr}, enc_conv2{nullptr};
  torch::nn::Linear enc_dense{nullptr}, dec_dense{nullptr};
  torch::nn::ConvTranspose2d up1_transposed{nullptr}, up2_transposed{nullptr};
  torch::nn::Conv2d up1_conv{nullptr}, up2_conv{nullptr};

 private:
  int64_t code_;
  Upsample upsample_;
};

}  // namespace latentkit::trainer
