// relu: y = max(x, 0); on int8, y = max(x, z_x), keeping the input's scale and zero point.
// inputs [x]; output [y] of the same shape.
#include <algorithm>

#include "ops/elementwise.h"
#include "ops/op_table.h"
#include "ops/rules.h"

namespace latentkit::ops {
namespace {

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op&) {
  return fb::CreateRelu(b).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  expect_same_encoding(x, y, what);
  expect_shape(y, x.shape, what, "output");
}

void float_kernel(const ElementwiseArgs<float, float>& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = a.x[i] > 0.0f ? a.x[i] : 0.0f;
}

void integer_kernel(const ElementwiseArgs<int8_t, int8_t>& a) {
  const auto zero = static_cast<int8_t>(a.zero_point);
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = std::max(a.x[i], zero);
}

void build_reference(ReferenceProgram& program, const Op& op) {
  if (program.tensor(op.inputs[0]).dtype == DType::int8) {
    add_elementwise_step<int8_t, int8_t>(program, op, integer_kernel);
  } else {
    add_elementwise_step<float, float>(program, op, float_kernel);
  }
}

}  // namespace

extern const OpDef relu_op;
const OpDef relu_op = {
    OpKind::relu,              // kind
    "relu",                    // name
    fb::OpOptions::Relu,       // options_type
    false,                     // weighted
    1,                         // inputs
    1,                         // max_outputs
    Int8Form::keeps_encoding,  // int8
    no_options,                // read_options
    write_options,             // write_options
    check,                     // check
    nullptr,                   // check_constants
    one_per_element,           // multiply_adds
    build_reference,           // build_reference
    no_description,            // describe_options
};

}  // namespace latentkit::ops
