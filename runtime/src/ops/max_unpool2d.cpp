// max_unpool2d (PyTorch MaxUnpool2d with output_size = [height, width]): y is 0 except that each
// x[h, w, c], in row-major order, lands at plane position i = indices[h, w, c] of channel c,
// y[i / width, i % width, c]; a later write to a position wins. Indices are positions in the
// output plane counted as max_pool2d counts them (iy * width + ix). An index outside
// [0, height * width) writes nothing: the indices are data, computed when the method runs, so
// the load cannot check them, and the kernel checks each one before it writes.
// inputs [x [H, W, C] float32, indices [H, W, C] int32]; output [height, width, C] float32.
// float32 only: in int8 the zeros would be zero points, and XNNPACK's unpooling is 32-bit only
// (quantize_model dequantizes its input, Int8Form::float_only).
#include <algorithm>
#include <cstdint>

#include "ops/op_table.h"
#include "ops/rules.h"
#include "saturating.h"

namespace latentkit::ops {
namespace {

void read_options(const fb::Operator& op, uint32_t index, const ModelLimits& limits, Op& parsed) {
  const fb::MaxUnpool2D& u = *op.options_as_MaxUnpool2D();
  if (u.height() < 1 || u.width() < 1 || u.height() > limits.max_dimension || u.width() > limits.max_dimension) {
    detail::malformed("operator " + std::to_string(index) + " (max_unpool2d) has output size " +
                      std::to_string(u.height()) + "x" + std::to_string(u.width()));
  }
  parsed.height = u.height();
  parsed.width = u.width();
}

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op& op) {
  return fb::CreateMaxUnpool2D(b, op.height, op.width).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& indices = tensors[static_cast<std::size_t>(op.inputs[1])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  if (x.dtype == DType::int8) {
    detail::malformed(what + " is float32 only (int8 zeros would be zero points; XNNPACK's unpooling is 32-bit): "
                      "dequantize its input '" + x.name + "' first");
  }
  expect_dtypes(x, DType::float32, y, DType::float32, what);
  expect_constant(indices, false, what, "indices");
  if (indices.dtype != DType::int32) {
    detail::malformed(what + ": its indices '" + indices.name + "' must be int32 (a max_pool2d's second output), not " +
                      to_string(indices.dtype));
  }
  if (x.shape.size() != 3) {
    detail::malformed(what + ": input '" + x.name + "' has shape " + detail::shape_string(x.shape) +
                      "; expected [height, width, channels]");
  }
  expect_shape(indices, x.shape, what, "indices");
  expect_shape(y, {op.height, op.width, x.shape[2]}, what, "output");
}

// Zeroing the output and one store per input element.
int64_t multiply_adds(const Graph& graph, const Op& op) {
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  return detail::saturating_add(x.elements(), y.elements());
}

struct Args {
  const float* x = nullptr;          // batch x h x w x c
  const int32_t* indices = nullptr;  // batch x h x w x c
  float* y = nullptr;                // batch x plane x c
  int64_t pixels = 0, c = 0;         // per example: h x w input pixels; channels
  int64_t plane = 0;                 // height x width
};

void kernel(const Args& a, int batch) {
  std::fill(a.y, a.y + batch * a.plane * a.c, 0.0f);
  for (int n = 0; n < batch; ++n) {
    const float* x = a.x + n * a.pixels * a.c;
    const int32_t* indices = a.indices + n * a.pixels * a.c;
    float* y = a.y + n * a.plane * a.c;
    for (int64_t p = 0; p < a.pixels; ++p) {
      for (int64_t ch = 0; ch < a.c; ++ch) {
        const int64_t i = indices[p * a.c + ch];
        if (i >= 0 && i < a.plane) y[i * a.c + ch] = x[p * a.c + ch];  // out of range: nothing
      }
    }
  }
}

void build_reference(ReferenceProgram& program, const Op& op) {
  const Tensor& x = program.tensor(op.inputs[0]);
  Args a;
  a.x = program.activation(op.inputs[0]);
  a.indices = program.activation<int32_t>(op.inputs[1]);
  a.y = program.activation(op.outputs[0]);
  a.pixels = x.shape[0] * x.shape[1];
  a.c = x.shape[2];
  a.plane = int64_t{op.height} * op.width;
  program.steps.emplace_back([a, batch = program.batch] { kernel(a, batch); });
}

std::string describe(const Op& op) { return "output " + std::to_string(op.height) + "x" + std::to_string(op.width); }

}  // namespace

extern const OpDef max_unpool2d_op;
const OpDef max_unpool2d_op = {
    OpKind::max_unpool2d,        // kind
    "max_unpool2d",              // name
    fb::OpOptions::MaxUnpool2D,  // options_type
    false,                       // weighted
    2,                           // inputs
    1,                           // max_outputs
    Int8Form::float_only,        // int8
    read_options,                // read_options
    write_options,               // write_options
    check,                       // check
    nullptr,                     // check_constants
    multiply_adds,               // multiply_adds
    build_reference,             // build_reference
    describe,                    // describe_options
};

}  // namespace latentkit::ops
