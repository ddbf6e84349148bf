// relu -> xnn_define_clamp(0, +inf), on float32 or int8 values (XNNPACK clamps int8 in the
// real domain, which is max(x, z_x)); the optimiser fuses it into its producer.
#include <limits>

#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  check(xnn_define_clamp(b.subgraph(), 0.0f, std::numeric_limits<float>::infinity(), input, output, /*flags=*/0),
        "xnn_define_clamp for " + op_name(op_index, op));
}

}  // namespace

extern const Lowering relu_lowering;
const Lowering relu_lowering = {define, one_node};

}  // namespace latentkit::xnnpack
