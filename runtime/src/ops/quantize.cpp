// quantize: float32 to int8 activations, q = clamp(round_half_even(x / scale) + zero_point,
// -128, 127) with the output's per-tensor scale and zero point. A NaN gives -128.
// inputs [x]; output [y] of the same shape.
#include <cmath>

#include "ops/arithmetic.h"
#include "ops/elementwise.h"
#include "ops/op_table.h"
#include "ops/rules.h"

namespace latentkit::ops {
namespace {

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op&) {
  return fb::CreateQuantize(b).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  check_elementwise(tensors, op, DType::float32, DType::int8, what);
}

void kernel(const ElementwiseArgs<float, int8_t>& a) {
  for (int64_t i = 0; i < a.count; ++i) {
    const float q = std::nearbyint(a.x[i] / a.scale) + static_cast<float>(a.zero_point);
    a.y[i] = saturate_to_int8(q);
  }
}

void build_reference(ReferenceProgram& program, const Op& op) {
  add_elementwise_step<float, int8_t>(program, op, kernel);
}

}  // namespace

extern const OpDef quantize_op;
const OpDef quantize_op = {
    OpKind::quantize,         // kind
    "quantize",               // name
    fb::OpOptions::Quantize,  // options_type
    false,                    // weighted
    1,                        // inputs
    1,                        // max_outputs
    Int8Form::conversion,     // int8
    no_options,               // read_options
    write_options,            // write_options
    check,                    // check
    nullptr,                  // check_constants
    one_per_element,          // multiply_adds
    build_reference,          // build_reference
    no_description,           // describe_options
};

}  // namespace latentkit::ops
