// Reshape and the element-wise ops (relu, sigmoid, tanh, quantize, dequantize) see their
// tensors as flat arrays of batch x elements.
#pragma once

#include <cstdint>

#include "ops/op_table.h"

namespace latentkit::ops {

template <typename In, typename Out>
struct ElementwiseArgs {
  const In* x = nullptr;
  Out* y = nullptr;
  int64_t count = 0;       // batch x elements
  float scale = 1;         // quantize / dequantize: the int8 side's scale and zero point
  int32_t zero_point = 0;  // also relu on int8: max(x, zero_point)
};

// The op's input and output as In and Out, with the scale and zero point of its int8 side, if any.
template <typename In, typename Out>
ElementwiseArgs<In, Out> elementwise_args(ReferenceProgram& program, const Op& op) {
  const Tensor& x = program.tensor(op.inputs[0]);
  const Tensor& y = program.tensor(op.outputs[0]);
  const Tensor& quantised = x.dtype == DType::int8 ? x : y;
  ElementwiseArgs<In, Out> a;
  a.x = program.activation<In>(op.inputs[0]);
  a.y = program.activation<Out>(op.outputs[0]);
  a.count = x.elements() * program.batch;
  if (quantised.dtype == DType::int8) {
    a.scale = quantised.quantization.scales[0];
    a.zero_point = static_cast<int32_t>(quantised.quantization.zero_points[0]);
  }
  return a;
}

// Appends the step kernel(args) for an op from In to Out.
template <typename In, typename Out, typename Kernel>
void add_elementwise_step(ReferenceProgram& program, const Op& op, Kernel kernel) {
  program.steps.emplace_back([a = elementwise_args<In, Out>(program, op), kernel] { kernel(a); });
}

}  // namespace latentkit::ops
