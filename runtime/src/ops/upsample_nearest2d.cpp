// upsample_nearest2d (PyTorch Upsample(mode='nearest') with whole scale factors):
// y[oy, ox, c] = x[oy / scale_h, ox / scale_w, c]. inputs [x [H, W, C]]; output
// [H * scale_h, W * scale_w, C]. A copy of values, so float32, or int8 with x's scale and zero
// point (Int8Form::keeps_encoding), both exact.
#include <cstring>

#include "ops/op_table.h"
#include "ops/rules.h"

namespace latentkit::ops {
namespace {

void read_options(const fb::Operator& op, uint32_t index, const ModelLimits& limits, Op& parsed) {
  const fb::UpsampleNearest2D& u = *op.options_as_UpsampleNearest2D();
  if (u.scale_h() < 1 || u.scale_w() < 1 || u.scale_h() > limits.max_dimension || u.scale_w() > limits.max_dimension) {
    detail::malformed("operator " + std::to_string(index) + " (upsample_nearest2d) has scale " +
                      std::to_string(u.scale_h()) + "x" + std::to_string(u.scale_w()));
  }
  parsed.scale_h = u.scale_h();
  parsed.scale_w = u.scale_w();
}

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op& op) {
  return fb::CreateUpsampleNearest2D(b, op.scale_h, op.scale_w).Union();
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  expect_same_encoding(x, y, what);
  if (x.shape.size() != 3) {
    detail::malformed(what + ": input '" + x.name + "' has shape " + detail::shape_string(x.shape) +
                      "; expected [height, width, channels]");
  }
  // At most 2^16 x 2^16 each: no overflow; the output's own shape is bounded by the limits.
  expect_shape(y, {x.shape[0] * op.scale_h, x.shape[1] * op.scale_w, x.shape[2]}, what, "output");
}

template <typename T>
struct Args {
  const T* x = nullptr;  // batch x h x w x c
  T* y = nullptr;        // batch x oh x ow x c
  int64_t h = 0, w = 0, c = 0;
  int scale_h = 1, scale_w = 1;
};

template <typename T>
void kernel(const Args<T>& a, int batch) {
  const int64_t oh = a.h * a.scale_h, ow = a.w * a.scale_w;
  for (int n = 0; n < batch; ++n) {
    const T* x = a.x + n * a.h * a.w * a.c;
    T* y = a.y + n * oh * ow * a.c;
    for (int64_t oy = 0; oy < oh; ++oy) {
      for (int64_t ox = 0; ox < ow; ++ox) {
        std::memcpy(y + (oy * ow + ox) * a.c, x + ((oy / a.scale_h) * a.w + ox / a.scale_w) * a.c, sizeof(T) * a.c);
      }
    }
  }
}

template <typename T>
void add_step(ReferenceProgram& program, const Op& op) {
  const Tensor& x = program.tensor(op.inputs[0]);
  Args<T> a;
  a.x = program.activation<T>(op.inputs[0]);
  a.y = program.activation<T>(op.outputs[0]);
  a.h = x.shape[0];
  a.w = x.shape[1];
  a.c = x.shape[2];
  a.scale_h = op.scale_h;
  a.scale_w = op.scale_w;
  program.steps.emplace_back([a, batch = program.batch] { kernel(a, batch); });
}

void build_reference(ReferenceProgram& program, const Op& op) {
  if (program.tensor(op.inputs[0]).dtype == DType::int8) {
    add_step<int8_t>(program, op);
  } else {
    add_step<float>(program, op);
  }
}

std::string describe(const Op& op) { return "scale " + std::to_string(op.scale_h) + "x" + std::to_string(op.scale_w); }

}  // namespace

extern const OpDef upsample_nearest2d_op;
const OpDef upsample_nearest2d_op = {
    OpKind::upsample_nearest2d,        // kind
    "upsample_nearest2d",              // name
    fb::OpOptions::UpsampleNearest2D,  // options_type
    false,                             // weighted
    1,                                 // inputs
    1,                                 // max_outputs
    Int8Form::keeps_encoding,          // int8
    read_options,                      // read_options
    write_options,                     // write_options
    check,                             // check
    nullptr,                           // check_constants
    one_per_element,                   // multiply_adds
    build_reference,                   // build_reference
    describe,                          // describe_options
};

}  // namespace latentkit::ops
