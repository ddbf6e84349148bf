// reshape: the same elements under a new per-example shape (the output's). inputs [x]; output [y].
#include <cstring>

#include "ops/elementwise.h"
#include "ops/op_table.h"
#include "ops/rules.h"

namespace latentkit::ops {
namespace {

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op&) {
  return fb::CreateReshape(b).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  expect_same_encoding(x, y, what);
  if (x.elements() != y.elements()) {
    detail::malformed(what + ": cannot reshape " + detail::shape_string(x.shape) + " into " +
                      detail::shape_string(y.shape));
  }
}

template <typename T>
void kernel(const ElementwiseArgs<T, T>& a) { std::memcpy(a.y, a.x, sizeof(T) * a.count); }

void build_reference(ReferenceProgram& program, const Op& op) {
  if (program.tensor(op.inputs[0]).dtype == DType::int8) {
    add_elementwise_step<int8_t, int8_t>(program, op, kernel<int8_t>);
  } else {
    add_elementwise_step<float, float>(program, op, kernel<float>);
  }
}

}  // namespace

extern const OpDef reshape_op;
const OpDef reshape_op = {
    OpKind::reshape,           // kind
    "reshape",                 // name
    fb::OpOptions::Reshape,    // options_type
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
