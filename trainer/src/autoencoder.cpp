#include "latentkit/trainer/autoencoder.h"

#include <cmath>
#include <stdexcept>

namespace latentkit::trainer {

MlpAutoencoderImpl::MlpAutoencoderImpl(const MlpShape& shape) : shape_(shape) {
  std::vector<int64_t> sizes = {shape.image_pixels};
  sizes.insert(sizes.end(), shape.hidden.begin(), shape.hidden.end());
  sizes.push_back(shape.code);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    encoder.push_back(register_module("encoder" + std::to_string(i), torch::nn::Linear(sizes[i], sizes[i + 1])));
  }
  for (std::size_t i = sizes.size() - 1; i > 0; --i) {
    decoder.push_back(register_module("decoder" + std::to_string(decoder.size()), torch::nn::Linear(sizes[i], sizes[i - 1])));
  }
}

int64_t MlpAutoencoderImpl::image_size() const {
  return static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(shape_.image_pixels))));
}

torch::Tensor MlpAutoencoderImpl::encode(const torch::Tensor& x) {
  torch::Tensor h = x.reshape({x.size(0), shape_.image_pixels});
  for (std::size_t i = 0; i < encoder.size(); ++i) {
    h = encoder[i]->forward(h);
    if (i + 1 < encoder.size() || shape_.relu_code) h = torch::relu(h);
  }
  return h;
}

torch::Tensor MlpAutoencoderImpl::decode_output(const torch::Tensor& code) {
  torch::Tensor h = code;
  for (std::size_t i = 0; i < decoder.size(); ++i) {
    h = decoder[i]->forward(h);
    if (i + 1 < decoder.size()) h = torch::relu(h);
  }
  const int64_t side = image_size();
  return h.reshape({code.size(0), 1, side, side});
}

}  // namespace latentkit::trainer
