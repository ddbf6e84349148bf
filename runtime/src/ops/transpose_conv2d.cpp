// transpose_conv2d, the gradient of a convolution (PyTorch ConvTranspose2d): input pixel
// (iy, ix) scatters x[iy, ix, :] * w[co, ky, kx, :] into output
// (iy * stride_h - pad_top + ky, ix * stride_w - pad_left + kx); the adjustment (below the
// stride) adds rows and columns at the bottom and right, which hold the bias alone.
// inputs [x [H, W, Cin], weights OHWI, bias [Cout] (optional)]; output [OH, OW, Cout].
#include "ops/op_table.h"
#include "ops/rules.h"
#include "ops/window.h"

namespace latentkit::ops {
namespace {

void read_options(const fb::Operator& op, uint32_t index, const ModelLimits& limits, Op& parsed) {
  const fb::TransposeConv2D& c = *op.options_as_TransposeConv2D();
  check_window(index, limits, c.stride_h(), c.stride_w(), c.pad_top(), c.pad_left(), c.pad_bottom(), c.pad_right());
  if (c.adjustment_h() < 0 || c.adjustment_w() < 0 || c.adjustment_h() >= c.stride_h() ||
      c.adjustment_w() >= c.stride_w()) {
    detail::malformed("operator " + std::to_string(index) + " (transpose_conv2d) has adjustment " +
                      std::to_string(c.adjustment_h()) + "x" + std::to_string(c.adjustment_w()) +
                      "; it must be >= 0 and smaller than the stride");
  }
  parsed.window = {c.stride_h(), c.stride_w(), 1, 1, c.pad_top(), c.pad_left(), c.pad_bottom(),
                   c.pad_right(), c.adjustment_h(), c.adjustment_w()};
}

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op& op) {
  const Window& w = op.window;
  return fb::CreateTransposeConv2D(b, w.stride_h, w.stride_w, w.pad_top, w.pad_left, w.pad_bottom, w.pad_right,
                                   w.adjustment_h, w.adjustment_w)
      .Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  check_weighted(tensors, op, what);
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& w = tensors[static_cast<std::size_t>(op.inputs[1])];
  check_window_input(x, w, what);
  const Window& s = op.window;
  const int64_t oh = transpose_conv2d_output_size(x.shape[0], w.shape[1], s.stride_h, s.pad_top, s.pad_bottom,
                                                  s.adjustment_h);
  const int64_t ow = transpose_conv2d_output_size(x.shape[1], w.shape[2], s.stride_w, s.pad_left, s.pad_right,
                                                  s.adjustment_w);
  check_window_output(tensors[static_cast<std::size_t>(op.outputs[0])], oh, ow, w.shape[0], what);
}

// The scatter as a gather: output row oy receives from tap ky exactly when oy + pad_top - ky is
// a non-negative multiple of stride_h, from input row (oy + pad_top - ky) / stride_h. Rows no
// input reaches (the adjustment) hold the bias.
struct TransposedConvolutionTaps {
  static int64_t source(int64_t o, int64_t k, int stride, int /*dilation*/, int pad, int64_t size) {
    const int64_t t = o + pad - k;
    if (t < 0 || t % stride != 0) return -1;
    return t / stride < size ? t / stride : -1;
  }
};

std::string describe(const Op& op) {
  const Window& w = op.window;
  return describe_window(w) + ", adjustment " + std::to_string(w.adjustment_h) + "x" + std::to_string(w.adjustment_w);
}

}  // namespace

extern const OpDef transpose_conv2d_op;
const OpDef transpose_conv2d_op = {
    OpKind::transpose_conv2d,                    // kind
    "transpose_conv2d",                          // name
    fb::OpOptions::TransposeConv2D,              // options_type
    true,                                        // weighted
    1,                                           // inputs
    1,                                           // max_outputs
    Int8Form::weighted,                          // int8
    read_options,                                // read_options
    write_options,                               // write_options
    check,                                       // check
    check_integer_constants,                     // check_constants
    window_multiply_adds,                        // multiply_adds
    build_window_op<TransposedConvolutionTaps>,  // build_reference
    describe,                                    // describe_options
};

}  // namespace latentkit::ops
