// conv2d -> xnn_define_convolution_2d (groups = 1); int8 with qcint8 weights (per output
// channel) and a qcint32 bias.
#include <limits>

#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& x = b.tensor(op.inputs[0]);
  const Tensor& w = b.tensor(op.inputs[1]);
  const Window& win = op.window;
  const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  const float inf = std::numeric_limits<float>::infinity();
  uint32_t filter, bias;
  if (x.dtype == DType::int8) {
    std::vector<std::size_t> dims(w.shape.begin(), w.shape.end());
    filter = b.channelwise_weights(op_index, op, dims, static_cast<const int8_t*>(w.data), weight_scales(w));
    bias = b.integer_bias(op_index, op);
  } else {
    filter = b.constant(op_index, op, op.inputs[1]);
    bias = has_bias(op) ? b.constant(op_index, op, op.inputs[2]) : XNN_INVALID_VALUE_ID;
  }
  // Defined by now (a method input or an earlier op's output): the order of values is as before.
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  check(xnn_define_convolution_2d(b.subgraph(), u32(win.pad_top), u32(win.pad_right), u32(win.pad_bottom),
                                  u32(win.pad_left), u32(w.shape[1]), u32(w.shape[2]), u32(win.stride_h),
                                  u32(win.stride_w), u32(win.dilation_h), u32(win.dilation_w), /*groups=*/1,
                                  static_cast<std::size_t>(x.shape[2]), static_cast<std::size_t>(w.shape[0]), -inf,
                                  inf, input, filter, bias, output, /*flags=*/0),
        "xnn_define_convolution_2d for " + op_name(op_index, op));
}

OpCost cost(const CostModel& m, const Graph& graph, const Op& op) {
  OpCost c = one_node(m, graph, op);
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& w = graph.tensors[static_cast<std::size_t>(op.inputs[1])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  const int64_t taps = detail::saturating_product({w.shape[1], w.shape[2]});
  const int64_t element = x.dtype == DType::int8 ? 1 : 4;
  c.bytes = detail::saturating_add(c.bytes, CostModel::packed(w.shape[0], detail::saturating_product({taps, w.shape[3]}), element));
  c.bytes = detail::saturating_add(c.bytes, m.indirection(y.shape[0] * y.shape[1], taps));
  return c;
}

}  // namespace

extern const Lowering conv2d_lowering;
const Lowering conv2d_lowering = {define, cost};

}  // namespace latentkit::xnnpack
