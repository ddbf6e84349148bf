// dequantize (int8 -> float32 activations) -> xnn_define_convert.
#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  check(xnn_define_convert(b.subgraph(), b.activation(op_index, op, op.inputs[0]),
                           b.activation(op_index, op, op.outputs[0]), /*flags=*/0),
        "xnn_define_convert for " + op_name(op_index, op));
}

}  // namespace

extern const Lowering dequantize_lowering;
const Lowering dequantize_lowering = {define, one_node};

}  // namespace latentkit::xnnpack
