// dequantize: int8 to float32 activations, x = scale * (q - zero_point) with the input's
// per-tensor scale and zero point. inputs [x]; output [y] of the same shape.
#include "ops/elementwise.h"
#include "ops/op_table.h"
#include "ops/rules.h"

namespace latentkit::ops {
namespace {

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op&) {
  return fb::CreateDequantize(b).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  check_elementwise(tensors, op, DType::int8, DType::float32, what);
}

void kernel(const ElementwiseArgs<int8_t, float>& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = a.scale * static_cast<float>(int32_t{a.x[i]} - a.zero_point);
}

void build_reference(ReferenceProgram& program, const Op& op) {
  add_elementwise_step<int8_t, float>(program, op, kernel);
}

}  // namespace

extern const OpDef dequantize_op;
const OpDef dequantize_op = {
    OpKind::dequantize,         // kind
    "dequantize",               // name
    fb::OpOptions::Dequantize,  // options_type
    false,                      // weighted
    1,                          // inputs
    1,                          // max_outputs
    Int8Form::conversion,       // int8
    no_options,                 // read_options
    write_options,              // write_options
    check,                      // check
    nullptr,                    // check_constants
    one_per_element,            // multiply_adds
    build_reference,            // build_reference
    no_description,             // describe_options
};

}  // namespace latentkit::ops
