// reshape -> xnn_define_static_reshape (float32 or int8 values alike).
#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& y = b.tensor(op.outputs[0]);
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  const std::vector<std::size_t> new_shape = b.batched_dims(y);
  check(xnn_define_static_reshape(b.subgraph(), new_shape.size(), new_shape.data(), input, output, /*flags=*/0),
        "xnn_define_static_reshape for " + op_name(op_index, op));
}

}  // namespace

extern const Lowering reshape_lowering;
const Lowering reshape_lowering = {define, one_node};

}  // namespace latentkit::xnnpack
