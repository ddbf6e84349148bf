// From libtorch's weight layouts to the model file's (schema/latentkit.fbs), done once at export
// so that the runtime never transposes anything.
#pragma once

#include <utility>
#include <vector>

#include <torch/torch.h>

#include "latentkit/graph.h"

namespace latentkit::trainer {

// Conv2d weight [out, in, kh, kw] (OIHW) -> OHWI, flattened.
std::vector<float> conv_weight_to_ohwi(const torch::Tensor& weight);

// ConvTranspose2d weight [in, out, kh, kw] (IOHW) -> OHWI, flattened.
std::vector<float> transpose_conv_weight_to_ohwi(const torch::Tensor& weight);

// A dense layer whose output libtorch views as [channels, height, width] (NCHW) must produce the
// same values in [height, width, channels] order for the runtime (HWC). `rows` is the layer's
// weight [c*h*w, in] or bias [c*h*w]; the result has its rows permuted accordingly.
torch::Tensor chw_rows_to_hwc(const torch::Tensor& rows, int64_t channels, int64_t height, int64_t width);

// The other side of the same: a dense layer reading libtorch's flatten of a [channels, height,
// width] activation must read the runtime's flatten of [height, width, channels]. `weight` is
// [out, c*h*w]; the result has its columns permuted accordingly.
torch::Tensor chw_columns_to_hwc(const torch::Tensor& weight, int64_t channels, int64_t height, int64_t width);

std::vector<float> to_vector(const torch::Tensor& t);

// The window of a libtorch convolution or transposed convolution (symmetric padding; for the
// transposed one output_padding is the adjustment), as the model file describes it.
Window window_of(const torch::nn::Conv2d& layer);
Window window_of(const torch::nn::ConvTranspose2d& layer);

// One op of an exported graph, reading `inputs` (tensor indices; -1: an absent optional input)
// and writing `output`, with its window if it has one.
inline Op make_op(OpKind kind, std::vector<int> inputs, int output, Window window = {}) {
  Op op;
  op.kind = kind;
  op.inputs = std::move(inputs);
  op.outputs = {output};
  op.window = window;
  return op;
}

}  // namespace latentkit::trainer
