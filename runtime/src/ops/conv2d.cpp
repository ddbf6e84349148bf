// conv2d: y[oy, ox, co] = bias[co] + sum over (ky, kx, ci) of x[iy, ix, ci] * w[co, ky, kx, ci],
// iy = oy * stride_h - pad_top + ky * dilation_h (likewise ix), terms outside x being zero.
// inputs [x [H, W, Cin], weights OHWI, bias [Cout] (optional)]; output [OH, OW, Cout].
#include "ops/op_table.h"
#include "ops/rules.h"
#include "ops/window.h"

namespace latentkit::ops {
namespace {

void read_options(const fb::Operator& op, uint32_t index, const ModelLimits& limits, Op& parsed) {
  const fb::Conv2D& c = *op.options_as_Conv2D();
  check_window(index, limits, c.stride_h(), c.stride_w(), c.pad_top(), c.pad_left(), c.pad_bottom(), c.pad_right());
  if (c.dilation_h() < 1 || c.dilation_w() < 1 || c.dilation_h() > limits.max_dimension ||
      c.dilation_w() > limits.max_dimension) {
    detail::malformed("operator " + std::to_string(index) + " (conv2d) has dilation " + std::to_string(c.dilation_h()) +
                      "x" + std::to_string(c.dilation_w()));
  }
  parsed.window = {c.stride_h(), c.stride_w(), c.dilation_h(), c.dilation_w(),
                   c.pad_top(),  c.pad_left(), c.pad_bottom(),  c.pad_right(), 0, 0};
}

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op& op) {
  const Window& w = op.window;
  return fb::CreateConv2D(b, w.stride_h, w.stride_w, w.dilation_h, w.dilation_w, w.pad_top, w.pad_left, w.pad_bottom,
                          w.pad_right)
      .Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  check_weighted(tensors, op, what);
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& w = tensors[static_cast<std::size_t>(op.inputs[1])];
  check_window_input(x, w, what);
  const Window& s = op.window;
  const int64_t oh = conv2d_output_size(x.shape[0], w.shape[1], s.stride_h, s.dilation_h, s.pad_top, s.pad_bottom);
  const int64_t ow = conv2d_output_size(x.shape[1], w.shape[2], s.stride_w, s.dilation_w, s.pad_left, s.pad_right);
  check_window_output(tensors[static_cast<std::size_t>(op.outputs[0])], oh, ow, w.shape[0], what);
}

// Which input row (or column) feeds output position o through kernel tap k, or -1.
struct ConvolutionTaps {
  static int64_t source(int64_t o, int64_t k, int stride, int dilation, int pad, int64_t size) {
    const int64_t i = o * stride - pad + k * dilation;
    return i >= 0 && i < size ? i : -1;
  }
};

std::string describe(const Op& op) {
  const Window& w = op.window;
  return describe_window(w) + ", dilation " + std::to_string(w.dilation_h) + "x" + std::to_string(w.dilation_w);
}

}  // namespace

extern const OpDef conv2d_op;
const OpDef conv2d_op = {
    OpKind::conv2d,                    // kind
    "conv2d",                          // name
    fb::OpOptions::Conv2D,             // options_type
    true,                              // weighted
    1,                                 // inputs
    1,                                 // max_outputs
    Int8Form::weighted,                // int8
    read_options,                      // read_options
    write_options,                     // write_options
    check,                             // check
    check_integer_constants,           // check_constants
    window_multiply_adds,              // multiply_adds
    build_window_op<ConvolutionTaps>,  // build_reference
    describe,                          // describe_options
};

}  // namespace latentkit::ops
