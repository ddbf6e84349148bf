// max_pool2d (PyTorch MaxPool2d, dilation 1): y[oy, ox, c] is the maximum of x over the window
// iy = oy * stride_h - pad_top + ky, ix = ox * stride_w - pad_left + kx, positions outside x
// taking no part; the optional second output holds, per maximum, its position iy * W + ix in the
// channel's input plane (PyTorch's return_indices=True), which max_unpool2d reads. Ties go to the
// first position in row-major window order; a NaN wins over any number, the window's last NaN
// over earlier ones (PyTorch's CPU kernel, which the exporter checks its files against).
// inputs [x [H, W, C]]; outputs [y [OH, OW, C]] and optionally [indices [OH, OW, C] int32].
// float32, or int8 with x's scale and zero point: the int8 encoding is monotone, so the maximum
// and its position are those of the real values (ties of equal int8 values included).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "ops/op_table.h"
#include "ops/rules.h"
#include "ops/window.h"
#include "saturating.h"

namespace latentkit::ops {
namespace {

void read_options(const fb::Operator& op, uint32_t index, const ModelLimits& limits, Op& parsed) {
  const fb::MaxPool2D& p = *op.options_as_MaxPool2D();
  check_window(index, limits, p.stride_h(), p.stride_w(), p.pad_top(), p.pad_left(), p.pad_bottom(), p.pad_right());
  if (p.kernel_h() < 1 || p.kernel_w() < 1 || p.kernel_h() > limits.max_dimension || p.kernel_w() > limits.max_dimension) {
    detail::malformed("operator " + std::to_string(index) + " (max_pool2d) has kernel " + std::to_string(p.kernel_h()) +
                      "x" + std::to_string(p.kernel_w()));
  }
  parsed.window = {p.stride_h(), p.stride_w(), 1, 1, p.pad_top(), p.pad_left(), p.pad_bottom(), p.pad_right(), 0, 0};
  parsed.kernel_h = p.kernel_h();
  parsed.kernel_w = p.kernel_w();
}

flatbuffers::Offset<void> write_options(flatbuffers::FlatBufferBuilder& b, const Op& op) {
  const Window& w = op.window;
  return fb::CreateMaxPool2D(b, op.kernel_h, op.kernel_w, w.stride_h, w.stride_w, w.pad_top, w.pad_left, w.pad_bottom,
                             w.pad_right)
      .Union();
}

// Whether every window along one axis holds a position of the input: the first starts at
// -pad_before and ends kernel - 1 later, the last starts at (out - 1) * stride - pad_before.
bool windows_see_input(int64_t in, int64_t out, int kernel, int stride, int pad_before) {
  return pad_before < kernel && (out - 1) * stride - pad_before <= in - 1;
}

void check(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  expect_same_encoding(x, y, what);
  if (x.shape.size() != 3) {
    detail::malformed(what + ": input '" + x.name + "' has shape " + detail::shape_string(x.shape) +
                      "; expected [height, width, channels]");
  }
  const Window& s = op.window;
  const int64_t oh = conv2d_output_size(x.shape[0], op.kernel_h, s.stride_h, 1, s.pad_top, s.pad_bottom);
  const int64_t ow = conv2d_output_size(x.shape[1], op.kernel_w, s.stride_w, 1, s.pad_left, s.pad_right);
  if (oh < 1 || ow < 1) {
    detail::malformed(what + ": its window leaves an empty output (" + std::to_string(oh) + "x" + std::to_string(ow) + ")");
  }
  // A window of padding alone has no maximum (PyTorch refuses padding above half the kernel).
  if (!windows_see_input(x.shape[0], oh, op.kernel_h, s.stride_h, s.pad_top) ||
      !windows_see_input(x.shape[1], ow, op.kernel_w, s.stride_w, s.pad_left)) {
    detail::malformed(what + ": with kernel " + std::to_string(op.kernel_h) + "x" + std::to_string(op.kernel_w) + ", " +
                      describe_window(s) + " a window covers padding only; every window must hold a position of '" +
                      x.name + "'");
  }
  const std::vector<int64_t> shape{oh, ow, x.shape[2]};
  expect_shape(y, shape, what, "output");
  if (op.outputs.size() == 2) {
    const Tensor& indices = tensors[static_cast<std::size_t>(op.outputs[1])];
    if (indices.dtype != DType::int32) {
      detail::malformed(what + ": its indices '" + indices.name + "' must be int32, not " + to_string(indices.dtype));
    }
    expect_shape(indices, shape, what, "indices");
    if (x.shape[0] * x.shape[1] > std::numeric_limits<int32_t>::max()) {
      detail::malformed(what + ": input '" + x.name + "' has a plane too large for int32 indices");
    }
  }
}

int64_t multiply_adds(const Graph& graph, const Op& op) {
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  return detail::saturating_product({y.elements(), op.kernel_h, op.kernel_w});
}

template <typename T>
struct Args {
  const T* x = nullptr;         // batch x h x w x c
  T* y = nullptr;               // batch x oh x ow x c
  int32_t* indices = nullptr;   // batch x oh x ow x c, or null
  int64_t h = 0, w = 0, c = 0, oh = 0, ow = 0;
  int kh = 1, kw = 1;
  Window window;
};

// Whether `v` replaces the best so far: larger, or a NaN (PyTorch: val > maxval || isnan(val)).
inline bool replaces(float v, float best) { return v > best || std::isnan(v); }
inline bool replaces(int8_t v, int8_t best) { return v > best; }

template <typename T>
void kernel(const Args<T>& a, int batch) {
  const Window& win = a.window;
  for (int n = 0; n < batch; ++n) {
    const T* x = a.x + n * a.h * a.w * a.c;
    const int64_t out_offset = n * a.oh * a.ow * a.c;
    for (int64_t oy = 0; oy < a.oh; ++oy) {
      // The window's rows and columns inside x; the rule guarantees at least one of each.
      const int64_t y0 = std::max<int64_t>(oy * win.stride_h - win.pad_top, 0);
      const int64_t y1 = std::min<int64_t>(oy * win.stride_h - win.pad_top + a.kh, a.h);
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        const int64_t x0 = std::max<int64_t>(ox * win.stride_w - win.pad_left, 0);
        const int64_t x1 = std::min<int64_t>(ox * win.stride_w - win.pad_left + a.kw, a.w);
        for (int64_t ch = 0; ch < a.c; ++ch) {
          int64_t where = y0 * a.w + x0;
          T best = x[where * a.c + ch];
          for (int64_t iy = y0; iy < y1; ++iy) {
            for (int64_t ix = x0; ix < x1; ++ix) {
              const T v = x[(iy * a.w + ix) * a.c + ch];
              if (replaces(v, best)) {
                best = v;
                where = iy * a.w + ix;
              }
            }
          }
          const int64_t o = out_offset + (oy * a.ow + ox) * a.c + ch;
          a.y[o] = best;
          if (a.indices != nullptr) a.indices[o] = static_cast<int32_t>(where);
        }
      }
    }
  }
}

template <typename T>
void add_step(ReferenceProgram& program, const Op& op) {
  const Tensor& x = program.tensor(op.inputs[0]);
  const Tensor& y = program.tensor(op.outputs[0]);
  Args<T> a;
  a.x = program.activation<T>(op.inputs[0]);
  a.y = program.activation<T>(op.outputs[0]);
  a.indices = op.outputs.size() == 2 ? program.activation<int32_t>(op.outputs[1]) : nullptr;
  a.h = x.shape[0];
  a.w = x.shape[1];
  a.c = x.shape[2];
  a.oh = y.shape[0];
  a.ow = y.shape[1];
  a.kh = op.kernel_h;
  a.kw = op.kernel_w;
  a.window = op.window;
  program.steps.emplace_back([a, batch = program.batch] { kernel(a, batch); });
}

void build_reference(ReferenceProgram& program, const Op& op) {
  if (program.tensor(op.inputs[0]).dtype == DType::int8) {
    add_step<int8_t>(program, op);
  } else {
    add_step<float>(program, op);
  }
}

std::string describe(const Op& op) {
  return "kernel " + std::to_string(op.kernel_h) + "x" + std::to_string(op.kernel_w) + ", " + describe_window(op.window) +
         (op.outputs.size() == 2 ? ", with indices" : "");
}

}  // namespace

extern const OpDef max_pool2d_op;
const OpDef max_pool2d_op = {
    OpKind::max_pool2d,         // kind
    "max_pool2d",               // name
    fb::OpOptions::MaxPool2D,   // options_type
    false,                      // weighted
    1,                          // inputs
    2,                          // max_outputs
    Int8Form::keeps_encoding,   // int8
    read_options,               // read_options
    write_options,              // write_options
    check,                      // check
    nullptr,                    // check_constants
    multiply_adds,              // multiply_adds
    build_reference,            // build_reference
    describe,                   // describe_options
};

}  // namespace latentkit::ops
