// A transposed 2-D convolution computed through the convolution it is the adjoint of.
//
// ConvTranspose2d(x; W) is the gradient of Conv2d(u; W) with respect to u (same W, stride and
// padding). libtorch 1.13 runs ConvTranspose2d on CPU as a per-image GEMM and col2im
// (slow_conv_transpose2d), one image after the other, while Conv2d and its gradients go to oneDNN,
// which blocks over the batch and channels. So here, with u the transposed convolution's output:
//   forward      y      = dConv/du applied to x                    (oneDNN backward-data)
//   backward     dL/dx  = Conv2d(dL/dy; W)                          (oneDNN forward)
//                dL/dW  = dConv/dW with input dL/dy, output grad x   (oneDNN backward-weights)
//                dL/db  = sum of dL/dy over batch, height and width
// The parameters are the ConvTranspose2d module's own (weight [in, out, kh, kw], bias [out]);
// only the computation changes, and the result equals the module's up to float rounding
// (tests/trainer/test_transposed_conv.cpp). Activations are channels-last (NHWC in memory), the
// layout oneDNN computes in without reordering; the output is channels-last too.
#pragma once

#include <torch/torch.h>

namespace latentkit::trainer {

// y = conv_transpose2d(x, module.weight, module.bias, stride, padding, output_padding), dilation
// 1, groups 1, differentiable in x, weight and bias.
torch::Tensor conv_transpose2d_via_adjoint(const torch::Tensor& x, torch::nn::ConvTranspose2d& module);

// The same function as one GEMM over all the batch's pixels (channels-last) and a col2im, from
// differentiable libtorch ops. For a layer with few output channels (the decoder's last), where
// oneDNN is slow and slow_conv_transpose2d works image by image.
torch::Tensor conv_transpose2d_via_gemm(const torch::Tensor& x, torch::nn::ConvTranspose2d& module);

}  // namespace latentkit::trainer
