// fully_connected: y[o] = bias[o] + sum over i of x[i] * w[o, i].
// inputs [x [in], weights [out, in], bias [out] (optional)]; output [out].
#include "ops/op_table.h"
#include "ops/rules.h"
#include "ops/weighted.h"
#include "saturating.h"

namespace latentkit::ops {
namespace {

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op&) {
  return fb::CreateFullyConnected(b).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  check_weighted(tensors, op, what);
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& w = tensors[static_cast<std::size_t>(op.inputs[1])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  const int64_t out_channels = w.shape[0];
  if (x.shape.size() != 1) {
    detail::malformed(what + ": input '" + x.name + "' has shape " + detail::shape_string(x.shape) +
                      "; a fully connected op takes a vector (add a reshape)");
  }
  expect_shape(w, {out_channels, x.shape[0]}, what, "weights");
  expect_shape(y, {out_channels}, what, "output");
}

int64_t multiply_adds(const Graph& graph, const Op& op) {
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  return detail::saturating_product({y.elements(), x.elements()});
}

template <typename Arithmetic>
struct Args {
  const typename Arithmetic::Input* x = nullptr;         // batch x in
  const typename Arithmetic::Weight* weights = nullptr;  // out x in
  typename Arithmetic::Output* y = nullptr;              // batch x out
  int64_t in = 0, out = 0;
  Arithmetic math;
};

template <typename Arithmetic>
void kernel(const Args<Arithmetic>& a, int batch) {
  for (int n = 0; n < batch; ++n) {
    const auto* x = a.x + n * a.in;
    auto* y = a.y + n * a.out;
    for (int64_t o = 0; o < a.out; ++o) {
      const auto* w = a.weights + o * a.in;
      auto acc = a.math.start(o);
      for (int64_t i = 0; i < a.in; ++i) a.math.add(acc, x[i], w[i]);
      y[o] = a.math.finish(acc, o);
    }
  }
}

void build_reference(ReferenceProgram& program, const Op& op) {
  build_weighted(program, op, [&](auto math, const auto* weights) {
    using Arithmetic = decltype(math);
    Args<Arithmetic> a;
    a.in = program.tensor(op.inputs[0]).shape[0];
    a.out = program.tensor(op.outputs[0]).shape[0];
    a.x = program.activation<typename Arithmetic::Input>(op.inputs[0]);
    a.y = program.activation<typename Arithmetic::Output>(op.outputs[0]);
    a.weights = weights;
    a.math = math;
    program.steps.emplace_back([a, batch = program.batch] { kernel(a, batch); });
  });
}

}  // namespace

extern const OpDef fully_connected_op;
const OpDef fully_connected_op = {
    OpKind::fully_connected,        // kind
    "fully_connected",              // name
    fb::OpOptions::FullyConnected,  // options_type
    true,                           // weighted
    1,                              // inputs
    1,                              // max_outputs
    Int8Form::weighted,             // int8
    no_options,                     // read_options
    write_options,                  // write_options
    check,                          // check
    check_integer_constants,        // check_constants
    multiply_adds,                  // multiply_adds
    build_reference,                // build_reference
    no_description,                 // describe_options
};

}  // namespace latentkit::ops
