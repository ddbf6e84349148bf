// tanh -> 2 * sigmoid(2x) - 1 (this XNNPACK has no fp32 tanh node): multiply2, sigmoid,
// multiply2, add2 clamped to [-1, 1], with scalar constants kept by the backend. The identity
// is exact; in float it costs an absolute error of about one ulp of 1 (6e-8) near 0.
#include <limits>

#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

// A scalar XNNPACK reads in place for the lifetime of the runtime, and may read up to
// XNN_EXTRA_BYTES past: 8 copies of the value, and own()'s slack.
const float* scalar(SubgraphBuilder& b, float value) {
  float* data = b.own<float>(8);
  for (int i = 0; i < 8; ++i) data[i] = value;
  return data;
}

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& x = b.tensor(op.inputs[0]);
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<std::size_t> dims = b.batched_dims(x);
  const std::vector<std::size_t> scalar_dims{1};
  const uint32_t two = b.internal_value(op_index, op, scalar_dims, scalar(b, 2.0f));
  const uint32_t minus_one = b.internal_value(op_index, op, scalar_dims, scalar(b, -1.0f));
  const uint32_t doubled = b.internal_value(op_index, op, dims, nullptr);
  const uint32_t squashed = b.internal_value(op_index, op, dims, nullptr);
  const uint32_t stretched = b.internal_value(op_index, op, dims, nullptr);
  const std::string name = op_name(op_index, op);
  check(xnn_define_multiply2(b.subgraph(), -inf, inf, input, two, doubled, 0), "xnn_define_multiply2 (2x) for " + name);
  check(xnn_define_sigmoid(b.subgraph(), doubled, squashed, 0), "xnn_define_sigmoid (sigmoid(2x)) for " + name);
  check(xnn_define_multiply2(b.subgraph(), -inf, inf, squashed, two, stretched, 0),
        "xnn_define_multiply2 (2 sigmoid(2x)) for " + name);
  check(xnn_define_add2(b.subgraph(), -1.0f, 1.0f, stretched, minus_one, output, 0),
        "xnn_define_add2 (2 sigmoid(2x) - 1) for " + name);
}

// Three more nodes than one, and their intermediates; four element-wise passes.
OpCost cost(const CostModel& m, const Graph& graph, const Op& op) {
  OpCost c = one_node(m, graph, op);
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  c.bytes = detail::saturating_add(c.bytes, 3 * CostModel::kNodeBytes);
  c.bytes = detail::saturating_add(c.bytes, m.values(detail::saturating_product({x.elements(), 3}), 4));
  c.work = detail::saturating_product({x.elements(), 4});
  return c;
}

}  // namespace

extern const Lowering tanh_lowering;
const Lowering tanh_lowering = {define, cost};

}  // namespace latentkit::xnnpack
