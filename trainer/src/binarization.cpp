#include "latentkit/trainer/binarization.h"

#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>

namespace latentkit::trainer {

const char* to_string(Binarization b) {
  switch (b) {
    case Binarization::dynamic: return "dynamic";
    case Binarization::fixed: return "static";
    case Binarization::none: return "none";
  }
  return "?";
}

Binarization parse_binarization(const std::string& name) {
  if (name == "dynamic") return Binarization::dynamic;
  if (name == "static") return Binarization::fixed;
  if (name == "none") return Binarization::none;
  throw std::invalid_argument("unknown binarization '" + name + "' (expected 'dynamic', 'static' or 'none')");
}

torch::Tensor to_tensor(const ImageDataset& data) {
  auto bytes = torch::from_blob(const_cast<uint8_t*>(data.pixels.data()),
                                {data.count, data.height, data.width, data.channels}, torch::kUInt8);
  return bytes.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(255.0f).contiguous();
}

torch::Tensor binarize(const torch::Tensor& grey, Binarization mode, at::Generator& generator) {
  if (mode == Binarization::none) return grey;
  if (mode == Binarization::fixed) return (grey >= 0.5f).to(torch::kFloat32);
  return at::bernoulli(grey, generator);
}

torch::Tensor binarized_test_images(const ImageDataset& test_set, Binarization mode) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(kTestBinarizationSeed);
  return binarize(to_tensor(test_set), mode, generator);
}

}  // namespace latentkit::trainer
