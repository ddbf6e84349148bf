// sigmoid: y = 1 / (1 + e^-x), float32 only. inputs [x]; output [y] of the same shape.
#include <cmath>

#include "ops/elementwise.h"
#include "ops/op_table.h"
#include "ops/rules.h"

namespace latentkit::ops {
namespace {

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op&) {
  return fb::CreateSigmoid(b).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  check_elementwise(tensors, op, DType::float32, DType::float32, what);
}

void kernel(const ElementwiseArgs<float, float>& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = static_cast<float>(1.0 / (1.0 + std::exp(-double{a.x[i]})));
}

void build_reference(ReferenceProgram& program, const Op& op) {
  add_elementwise_step<float, float>(program, op, kernel);
}

}  // namespace

extern const OpDef sigmoid_op;
const OpDef sigmoid_op = {
    OpKind::sigmoid,         // kind
    "sigmoid",               // name
    fb::OpOptions::Sigmoid,  // options_type
    false,                   // weighted
    1,                       // inputs
    1,                       // max_outputs
    Int8Form::float_only,    // int8
    no_options,              // read_options
    write_options,           // write_options
    check,                   // check
    nullptr,                 // check_constants
    one_per_element,         // multiply_adds
    build_reference,         // build_reference
    no_description,          // describe_options
};

}  // namespace latentkit::ops
