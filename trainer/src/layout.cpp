#include "latentkit/trainer/layout.h"

namespace latentkit::trainer {

std::vector<float> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::vector<float> conv_weight_to_ohwi(const torch::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 4, "a conv2d weight has 4 dimensions, got ", weight.sizes());
  return to_vector(weight.permute({0, 2, 3, 1}));
}

std::vector<float> transpose_conv_weight_to_ohwi(const torch::Tensor& weight) {
  TORCH_CHECK(weight.dim() == 4, "a transposed conv2d weight has 4 dimensions, got ", weight.sizes());
  return to_vector(weight.permute({1, 2, 3, 0}));
}

torch::Tensor chw_rows_to_hwc(const torch::Tensor& rows, int64_t channels, int64_t height, int64_t width) {
  TORCH_CHECK(rows.size(0) == channels * height * width, "expected ", channels * height * width, " rows, got ",
              rows.size(0));
  auto tail = rows.sizes().slice(1).vec();
  std::vector<int64_t> split{channels, height, width};
  split.insert(split.end(), tail.begin(), tail.end());
  std::vector<int64_t> order{1, 2, 0};
  for (int64_t i = 3; i < static_cast<int64_t>(split.size()); ++i) order.push_back(i);
  std::vector<int64_t> merged{channels * height * width};
  merged.insert(merged.end(), tail.begin(), tail.end());
  return rows.detach().reshape(split).permute(order).reshape(merged).contiguous();
}

torch::Tensor chw_columns_to_hwc(const torch::Tensor& weight, int64_t channels, int64_t height, int64_t width) {
  TORCH_CHECK(weight.dim() == 2 && weight.size(1) == channels * height * width, "expected [out, ",
              channels * height * width, "] weights, got ", weight.sizes());
  const int64_t out = weight.size(0);
  return weight.detach().reshape({out, channels, height, width}).permute({0, 2, 3, 1}).reshape({out, -1}).contiguous();
}

namespace {

// Stride and symmetric padding, which both kinds of layer's options hold alike.
template <typename Options>
Window strided_window(const Options& o) {
  const auto& padding = *c10::get<torch::ExpandingArray<2>>(o.padding());
  Window w;
  w.stride_h = static_cast<int>((*o.stride())[0]);
  w.stride_w = static_cast<int>((*o.stride())[1]);
  w.pad_top = w.pad_bottom = static_cast<int>(padding[0]);
  w.pad_left = w.pad_right = static_cast<int>(padding[1]);
  return w;
}

}  // namespace

Window window_of(const torch::nn::Conv2d& layer) {
  Window w = strided_window(layer->options);
  w.dilation_h = static_cast<int>((*layer->options.dilation())[0]);
  w.dilation_w = static_cast<int>((*layer->options.dilation())[1]);
  return w;
}

Window window_of(const torch::nn::ConvTranspose2d& layer) {
  Window w = strided_window(layer->options);
  w.adjustment_h = static_cast<int>((*layer->options.output_padding())[0]);
  w.adjustment_w = static_cast<int>((*layer->options.output_padding())[1]);
  return w;
}

}  // namespace latentkit::trainer
