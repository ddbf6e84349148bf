#include "latentkit/trainer/transposed_conv.h"

#include <array>

namespace latentkit::trainer {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

// t in channels-last memory with channels-last strides. A tensor with one channel is already
// laid out that way when contiguous, but keeps NCHW strides, and oneDNN would then pick NCHW
// for everything computed from it; its channels-last strides describe the same memory.
torch::Tensor channels_last(const torch::Tensor& t) {
  torch::Tensor r = t.contiguous(kChannelsLast);
  if (r.size(1) == 1 && r.suggest_memory_format() != kChannelsLast) {
    r = r.as_strided(r.sizes(), {r.size(2) * r.size(3), 1, r.size(3), 1});
  }
  return r;
}

struct Geometry {
  std::array<int64_t, 2> stride, padding;
};

Geometry geometry_of(AutogradContext* ctx) {
  return {{ctx->saved_data["stride0"].toInt(), ctx->saved_data["stride1"].toInt()},
          {ctx->saved_data["padding0"].toInt(), ctx->saved_data["padding1"].toInt()}};
}

constexpr std::array<int64_t, 2> kNoDilation{1, 1};
constexpr std::array<int64_t, 2> kNoOutputPadding{0, 0};

class AdjointConvTranspose2d : public torch::autograd::Function<AdjointConvTranspose2d> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& weight,
                               const torch::Tensor& bias, at::IntArrayRef stride, at::IntArrayRef padding,
                               at::IntArrayRef output_padding) {
    const torch::Tensor x = channels_last(x_in);
    std::vector<int64_t> out_size{x.size(0), weight.size(1), 0, 0};
    for (int d = 0; d < 2; ++d) {
      out_size[2 + d] = (x.size(2 + d) - 1) * stride[d] - 2 * padding[d] + weight.size(2 + d) + output_padding[d];
    }
    // Only the shape, layout and type of the convolution's input matter here: it is not read.
    const torch::Tensor shape_of_u = torch::empty(out_size, x.options().memory_format(kChannelsLast));
    torch::Tensor y = std::get<0>(at::convolution_backward(x, shape_of_u, weight, c10::nullopt, stride, padding,
                                                           kNoDilation, false, kNoOutputPadding, 1,
                                                           {true, false, false}));
    y.add_(bias.view({1, -1, 1, 1}));
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride0"] = stride[0];
    ctx->saved_data["stride1"] = stride[1];
    ctx->saved_data["padding0"] = padding[0];
    ctx->saved_data["padding1"] = padding[1];
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& weight = saved[1];
    const Geometry g = geometry_of(ctx);
    const torch::Tensor grad_y = channels_last(grad_outputs[0]);
    torch::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) {
      grad_x = at::convolution(grad_y, weight, c10::nullopt, g.stride, g.padding, kNoDilation, false,
                               kNoOutputPadding, 1);
    }
    if (ctx->needs_input_grad(1)) {
      grad_weight = std::get<1>(at::convolution_backward(x, grad_y, weight, c10::nullopt, g.stride, g.padding,
                                                         kNoDilation, false, kNoOutputPadding, 1,
                                                         {false, true, false}))
                        .contiguous(weight.suggest_memory_format());
    }
    if (ctx->needs_input_grad(2)) grad_bias = grad_y.sum({0, 2, 3});
    return {grad_x, grad_weight, grad_bias, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// The module's explicit padding, after checking that `what` can compute this module.
const torch::ExpandingArray<2>& supported_padding(const torch::nn::ConvTranspose2d& module, const char* what) {
  const auto& o = module->options;
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  TORCH_CHECK(padding != nullptr && o.groups() == 1 && *o.dilation() == *torch::ExpandingArray<2>(1) &&
                  o.bias() && c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) != nullptr,
              what, ": explicit zero padding, groups 1, dilation 1 and a bias only");
  return *padding;
}

}  // namespace

torch::Tensor conv_transpose2d_via_adjoint(const torch::Tensor& x, torch::nn::ConvTranspose2d& module) {
  const auto& o = module->options;
  const auto& padding = supported_padding(module, "conv_transpose2d_via_adjoint");
  return AdjointConvTranspose2d::apply(x, module->weight, module->bias, at::IntArrayRef(*o.stride()),
                                       at::IntArrayRef(*padding), at::IntArrayRef(*o.output_padding()));
}

torch::Tensor conv_transpose2d_via_gemm(const torch::Tensor& x_in, torch::nn::ConvTranspose2d& module) {
  const auto& o = module->options;
  const auto& padding = supported_padding(module, "conv_transpose2d_via_gemm");
  const torch::Tensor x = channels_last(x_in);
  const torch::Tensor& weight = module->weight;  // [in, out, kh, kw]
  const int64_t batch = x.size(0), in = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t out = weight.size(1), kh = weight.size(2), kw = weight.size(3);
  const auto stride = *o.stride(), pad = *padding, output_padding = *o.output_padding();
  const int64_t out_h = (h - 1) * stride[0] - 2 * pad[0] + kh + output_padding[0];
  const int64_t out_w = (w - 1) * stride[1] - 2 * pad[1] + kw + output_padding[1];
  // One GEMM over every pixel of the batch: [B*H*W, in] x [in, out*kh*kw], then col2im (fold).
  const torch::Tensor pixels = x.permute({0, 2, 3, 1}).reshape({batch * h * w, in});
  const torch::Tensor columns = pixels.mm(weight.reshape({in, out * kh * kw}));
  const torch::Tensor y = torch::col2im(columns.view({batch, h * w, out * kh * kw}).transpose(1, 2), {out_h, out_w},
                                        {kh, kw}, {1, 1}, {pad[0], pad[1]}, {stride[0], stride[1]});
  return y + module->bias.view({1, -1, 1, 1});
}

}  // namespace latentkit::trainer
