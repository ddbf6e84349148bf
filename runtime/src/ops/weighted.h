// What fully_connected, conv2d and transpose_conv2d share: their inputs (x, constant weights,
// an optional constant bias), their float or integer form, and the integer form's bounds.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "ops/arithmetic.h"
#include "ops/op_table.h"

namespace latentkit::ops {

// The bias is the optional third input; -1 means none (the rule makes it 3 inputs always).
inline bool has_bias(const Op& op) { return op.inputs[2] != -1; }

// The rule every weighted op starts with: constant weights (not int32), a constant bias of one
// value per output channel, and either the float form (float32 activations) or the integer form
// of schema/latentkit.fbs (int8 in and out, int8 symmetric weights, int32 bias of scale
// s_x * s_w[c], which it gives the bias). The op's own shapes come after.
void check_weighted(std::vector<Tensor>& tensors, Op& op, const std::string& what);

// check_constants of the weighted ops: for the integer form, a finite positive requantisation
// multiplier per channel and an accumulator that cannot overflow (schema/latentkit.fbs).
void check_integer_constants(const Graph& graph, const Op& op, const std::string& what);

// The reference kernels' arithmetic for the op; the integer form's multipliers are kept in the
// program.
IntegerArithmetic integer_arithmetic(ReferenceProgram& program, const Op& op);
FloatArithmetic float_arithmetic(ReferenceProgram& program, const Op& op);

// Calls build(math, weights) with the op's arithmetic and its weights as that arithmetic reads
// them: float ops read them as float32 (widened at load if stored smaller), integer ops the
// stored int8 values.
template <typename Build>
void build_weighted(ReferenceProgram& program, const Op& op, Build build) {
  const Tensor& w = program.tensor(op.inputs[1]);
  if (program.tensor(op.inputs[0]).dtype == DType::int8) {
    build(integer_arithmetic(program, op), static_cast<const int8_t*>(w.data));
  } else {
    build(float_arithmetic(program, op), w.f32());
  }
}

}  // namespace latentkit::ops
