// sigmoid -> xnn_define_sigmoid.
#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  check(xnn_define_sigmoid(b.subgraph(), input, output, /*flags=*/0), "xnn_define_sigmoid for " + op_name(op_index, op));
}

}  // namespace

extern const Lowering sigmoid_lowering;
const Lowering sigmoid_lowering = {define, one_node};

}  // namespace latentkit::xnnpack
