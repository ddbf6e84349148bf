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
//   nearest     each pixel repeated 2x2, then Conv(a, b, 3x3, stride 1, pad 1); exported with
//               upsample_nearest2d then conv2d
//   max-unpool  max unpooling to the positions the encoder's max pooling remembered (seed 003),
//               then Conv(a, b, 3x3, stride 1, pad 1). The encoder then pools instead of striding:
//                 28x28x1 -> Conv 32 (3x3, pad 1, ReLU) -> MaxPool 2x2 (stride 2) -> 14x14x32
//                 -> Conv 64 (3x3, pad 1, ReLU) -> MaxPool 2x2 -> 7x7x64 -> flatten -> Dense(code)
//               and the decoder unpools with the second pooling's switches before up 64 -> 32,
//               with the first's before up 32 -> 1. Kernel 2, stride 2, no padding: the form
//               XNNPACK's pooling with indices computes. A free code has no switches, so this
//               model has no decode of a code (decodes_free_codes() is false): it reconstructs
//               images, and its model file has encode and reconstruct but no decode.
#pragma once

#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/autoencoder.h"

namespace latentkit::trainer {

enum class Upsample { transposed, nearest, max_unpool };
// "transposed", "nearest" or "max-unpool"; throws std::invalid_argument naming --upsample.
Upsample parse_upsample(const std::string& text);
const char* to_string(Upsample upsample);

constexpr int64_t kConvSeedSize = 7, kConvSeedChannels = 64, kConvHiddenChannels = 32;
// max-unpool: the poolings' kernel and stride.
constexpr int64_t kConvPool = 2;
// max-unpool: how far apart two pooling candidates must be for the switches to count as decided
// (switches_decided); well above the difference of two backends' convolutions (about 1e-7).
constexpr double kSwitchMargin = 1e-5;

class ConvAutoencoderImpl : public AutoencoderNet {
 public:
  ConvAutoencoderImpl(int64_t code, Upsample upsample);

  torch::Tensor encode(const torch::Tensor& x) override;
  // Throws std::logic_error for max-unpool, which needs the encoder's switches (pass()).
  torch::Tensor decode_output(const torch::Tensor& code) override;
  Pass pass(const torch::Tensor& x) override;
  bool decodes_free_codes() const override { return upsample_ != Upsample::max_unpool; }
  // max-unpool: per image of x, whether its switches are decided beyond rounding ([B] bool): in
  // every pooling window the largest input before the ReLU leads the runner-up by more than
  // kSwitchMargin and is itself further than that from 0, or every input is below -kSwitchMargin
  // (the ReLU ties them at 0: the first wins), or the two are exactly equal (the same sum: the
  // first wins). Elsewhere a backend whose convolutions round otherwise may remember another
  // position than libtorch, and its reconstruction then differs by more than the export's
  // tolerance; the export checks the images whose switches are decided. All true for the other
  // kinds.
  torch::Tensor switches_decided(const torch::Tensor& x);
  bool sigmoid_output() const override { return true; }
  int64_t code_size() const override { return code_; }
  Upsample upsample() const { return upsample_; }

  // The layers, read by the exporter. up1 / up2 are the transposed convolutions (transposed) or
  // the convolutions after the 2x2 repetition (nearest) or after the unpooling (max-unpool); the
  // other pair stays empty. The encoder's convolutions have stride 2, or 1 before a pooling.
  torch::nn::Conv2d enc_conv1{nullptr}, enc_conv2{nullptr};
  torch::nn::Linear enc_dense{nullptr}, dec_dense{nullptr};
  torch::nn::ConvTranspose2d up1_transposed{nullptr}, up2_transposed{nullptr};
  torch::nn::Conv2d up1_conv{nullptr}, up2_conv{nullptr};

 private:
  // max-unpool: x -> the code, and the two poolings' indices (first pooling's, second's).
  torch::Tensor encode_pooled(const torch::Tensor& x, torch::Tensor* indices1, torch::Tensor* indices2);
  // up 64 -> 32 -> 1 from the seed map, by the upsampling kind.
  torch::Tensor upsample_output(torch::Tensor seed, const torch::Tensor& indices1, const torch::Tensor& indices2);

  int64_t code_;
  Upsample upsample_;
};

}  // namespace latentkit::trainer
