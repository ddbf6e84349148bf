// fully_connected -> xnn_define_fully_connected ([N, in] x [out, in]^T).
// int8: a 1x1 convolution between two static reshapes, because this XNNPACK has per-channel
// int8 weights (qcint8) for convolutions only.
#include <limits>

#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

// [B, in] -> [B, 1, 1, in] -> conv -> [B, 1, 1, out] -> [B, out].
void define_integer(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& x = b.tensor(op.inputs[0]);
  const Tensor& w = b.tensor(op.inputs[1]);
  const Tensor& y = b.tensor(op.outputs[0]);
  const std::size_t n = static_cast<std::size_t>(b.batch()), in = static_cast<std::size_t>(x.shape[0]),
                    out = static_cast<std::size_t>(y.shape[0]);
  const std::string name = op_name(op_index, op);
  const std::vector<std::size_t> image_in{n, 1, 1, in}, image_out{n, 1, 1, out};
  const uint32_t x4 = b.int8_value(op_index, op, image_in, x), y4 = b.int8_value(op_index, op, image_out, y);
  check(xnn_define_static_reshape(b.subgraph(), 4, image_in.data(), b.activation(op_index, op, op.inputs[0]), x4, 0),
        "xnn_define_static_reshape (to 1x1 image) for " + name);
  const uint32_t filter =
      b.channelwise_weights(op_index, op, {out, 1, 1, in}, static_cast<const int8_t*>(w.data), weight_scales(w));
  const uint32_t bias = b.integer_bias(op_index, op);
  const float inf = std::numeric_limits<float>::infinity();
  check(xnn_define_convolution_2d(b.subgraph(), 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, in, out, -inf, inf, x4, filter, bias,
                                  y4, 0),
        "xnn_define_convolution_2d (as fully connected) for " + name);
  const std::vector<std::size_t> flat = b.batched_dims(y);
  check(xnn_define_static_reshape(b.subgraph(), flat.size(), flat.data(), y4, b.activation(op_index, op, op.outputs[0]),
                                  0),
        "xnn_define_static_reshape (from 1x1 image) for " + name);
}

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  if (b.tensor(op.inputs[0]).dtype == DType::int8) return define_integer(b, op_index, op);
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t weights = b.constant(op_index, op, op.inputs[1]);
  const uint32_t bias = has_bias(op) ? b.constant(op_index, op, op.inputs[2]) : XNN_INVALID_VALUE_ID;
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  check(xnn_define_fully_connected(b.subgraph(), -std::numeric_limits<float>::infinity(),
                                   std::numeric_limits<float>::infinity(), input, weights, bias, output,
                                   /*flags=*/0),
        "xnn_define_fully_connected for " + op_name(op_index, op));
}

OpCost cost(const CostModel& m, const Graph& graph, const Op& op) {
  OpCost c = one_node(m, graph, op);
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  const bool integer = x.dtype == DType::int8;
  const int64_t in = x.shape[0], out = y.shape[0];
  c.bytes = detail::saturating_add(c.bytes, CostModel::packed(out, in, integer ? 1 : 4));
  if (integer) {  // a 1x1 convolution between two reshapes
    c.bytes = detail::saturating_add(c.bytes, 2 * CostModel::kNodeBytes);
    c.bytes = detail::saturating_add(c.bytes, detail::saturating_add(m.indirection(1, 1), m.values(in + out, 1)));
  }
  return c;
}

}  // namespace

extern const Lowering fully_connected_lowering;
const Lowering fully_connected_lowering = {define, cost};

}  // namespace latentkit::xnnpack
