// A whole dataset through a model without holding every activation at once: what encoding the
// training set (codes for a prior, naming categories) and picturing the test set need.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace latentkit::trainer {

// f(images[b : b + batch]) for consecutive batches along dimension 0, concatenated.
template <typename F>
torch::Tensor in_batches(const torch::Tensor& images, F&& f, int64_t batch = 1000) {
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < images.size(0); begin += batch) {
    parts.push_back(f(images.slice(0, begin, std::min(images.size(0), begin + batch))));
  }
  return torch::cat(parts, 0);
}

}  // namespace latentkit::trainer
