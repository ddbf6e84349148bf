// The deterministic autoencoders of seeds 001-003, in libtorch: a stack of dense layers from the
// flattened image to a code and a mirror stack back (Linear layers, ReLU between).
//
//   pca      784 -> code -> 784, no activation: the linear autoencoder, fitted in closed form
//            (its weights are the principal directions, pca_family.cpp)
//   ae, dae  784 -> 512 -> 256 -> code (linear) -> 256 -> 512 -> 784 -> sigmoid
//   sae      the same with a ReLU on the code, so that a sparsity penalty can drive entries to
//            exactly 0 (a linear code would only shrink them)
//
// Images are [B, 1, 28, 28] in [0, 1] (one channel: libtorch's flatten is the runtime's HWC one).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace latentkit::trainer {

// What the autoencoder families (families/autoencoder_family.h) need of a model: a dense one
// (below) or a convolutional one (conv_autoencoder.h).
class AutoencoderNet : public torch::nn::Module {
 public:
  // x [B, 1, H, W] in [0, 1] -> code [B, code_size()].
  virtual torch::Tensor encode(const torch::Tensor& x) = 0;
  // code -> [B, 1, H, W] before the output activation: logits when sigmoid_output().
  virtual torch::Tensor decode_output(const torch::Tensor& code) = 0;
  virtual bool sigmoid_output() const = 0;
  virtual int64_t code_size() const = 0;
  // code -> the image.
  torch::Tensor decode(const torch::Tensor& code) { return output_image(decode_output(code)); }

  // x -> its code and the decoder's output of it (before the output activation). By default
  // encode then decode_output; a model whose decoder needs more of the encoder than the code (the
  // max-unpooling conv-ae: the pooling switches) overrides it.
  struct Pass {
    torch::Tensor code, output;
  };
  virtual Pass pass(const torch::Tensor& x) {
    torch::Tensor code = encode(x);
    return {code, decode_output(code)};
  }
  // False when decode_output cannot take a free code (it needs the encoder's pooling switches):
  // then only pass() and reconstruct() go through the decoder, and the model file has no decode.
  virtual bool decodes_free_codes() const { return true; }
  // x -> its reconstruction (the image).
  torch::Tensor reconstruct(const torch::Tensor& x) { return output_image(pass(x).output); }

 private:
  torch::Tensor output_image(const torch::Tensor& y) { return sigmoid_output() ? torch::sigmoid(y) : y; }
};

// The hidden sizes of the seed-002 autoencoder's encoder (the decoder mirrors them).
inline const std::vector<int64_t> kMlpHidden = {512, 256};

struct MlpShape {
  int64_t image_pixels = 28 * 28;
  std::vector<int64_t> hidden;  // encoder side, from the image; empty: one linear layer each way
  int64_t code = 2;
  bool relu_code = false;       // a ReLU after the encoder's last layer
  bool sigmoid_output = true;   // else the decoder's output is the image itself (PCA)
};

class MlpAutoencoderImpl : public AutoencoderNet {
 public:
  explicit MlpAutoencoderImpl(const MlpShape& shape);

  torch::Tensor encode(const torch::Tensor& x) override;
  torch::Tensor decode_output(const torch::Tensor& code) override;
  bool sigmoid_output() const override { return shape_.sigmoid_output; }
  int64_t code_size() const override { return shape_.code; }

  const MlpShape& shape() const { return shape_; }
  int64_t image_size() const;  // H = W

  // The layers in order, read by the exporter; ReLU follows every encoder layer but the last (and
  // the last too when relu_code), and every decoder layer but the last.
  std::vector<torch::nn::Linear> encoder, decoder;

 private:
  MlpShape shape_;
};

}  // namespace latentkit::trainer
