// The reference backend: plain, portable C++ loops over NHWC tensors.
//
// It is the oracle the tests compare XNNPACK against and the fallback for targets built without
// XNNPACK, so it is written to be obviously correct rather than fast: one small function per op
// kind, each a direct transcription of the op's definition in schema/latentkit.fbs.
//
// Build does every check and every allocation (one buffer of batch x elements per activation
// tensor, a list of steps with all sizes resolved); run() copies the latents in, runs the steps
// and copies the image out.
//
// Sums are accumulated in double: the oracle should be more accurate than the backends it
// checks, so that a difference measures their rounding error and not its own, and the result
// does not depend on the summation order a compiler or a future refactoring picks. The cost is
// irrelevant for a fallback that decodes a few small images.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/error.h"
#include "latentkit/graph.h"
#include "latentkit/model.h"

namespace latentkit {
namespace {

// ---------------------------------------------------------------------------------------------
// Kernels. Each computes `batch` examples; all pointers and sizes were checked at build.

struct FullyConnectedArgs {
  const float* x = nullptr;  // batch x in
  const float* weights = nullptr;  // out x in
  const float* bias = nullptr;     // out, or null
  float* y = nullptr;              // batch x out
  int64_t in = 0, out = 0;
};

void fully_connected(const FullyConnectedArgs& a, int batch) {
  for (int n = 0; n < batch; ++n) {
    const float* x = a.x + n * a.in;
    float* y = a.y + n * a.out;
    for (int64_t o = 0; o < a.out; ++o) {
      const float* w = a.weights + o * a.in;
      double sum = a.bias ? a.bias[o] : 0.0;
      for (int64_t i = 0; i < a.in; ++i) sum += double{x[i]} * w[i];
      y[o] = static_cast<float>(sum);
    }
  }
}

// Dimensions of a convolution or transposed convolution, per example, NHWC / OHWI.
struct WindowArgs {
  const float* x = nullptr;        // batch x h x w x cin
  const float* weights = nullptr;  // cout x kh x kw x cin
  const float* bias = nullptr;     // cout, or null
  float* y = nullptr;              // batch x oh x ow x cout
  int64_t h = 0, w = 0, cin = 0;
  int64_t oh = 0, ow = 0, cout = 0;
  int64_t kh = 0, kw = 0;
  Window window;
};

// y[oy, ox, co] = bias[co] + sum over (ky, kx, ci) of x[iy, ix, ci] * w[co, ky, kx, ci] with
// iy = oy * stride_h - pad_top + ky * dilation_h (likewise ix), terms outside x being zero.
void conv2d(const WindowArgs& a, int batch) {
  const Window& win = a.window;
  for (int n = 0; n < batch; ++n) {
    const float* x = a.x + n * a.h * a.w * a.cin;
    float* y = a.y + n * a.oh * a.ow * a.cout;
    for (int64_t oy = 0; oy < a.oh; ++oy) {
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        for (int64_t co = 0; co < a.cout; ++co) {
          double sum = a.bias ? a.bias[co] : 0.0;
          for (int64_t ky = 0; ky < a.kh; ++ky) {
            const int64_t iy = oy * win.stride_h - win.pad_top + ky * win.dilation_h;
            if (iy < 0 || iy >= a.h) continue;
            for (int64_t kx = 0; kx < a.kw; ++kx) {
              const int64_t ix = ox * win.stride_w - win.pad_left + kx * win.dilation_w;
              if (ix < 0 || ix >= a.w) continue;
              const float* xp = x + (iy * a.w + ix) * a.cin;
              const float* wp = a.weights + ((co * a.kh + ky) * a.kw + kx) * a.cin;
              for (int64_t ci = 0; ci < a.cin; ++ci) sum += double{xp[ci]} * wp[ci];
            }
          }
          y[(oy * a.ow + ox) * a.cout + co] = static_cast<float>(sum);
        }
      }
    }
  }
}

// The definition scatters: input pixel (iy, ix) adds x[iy, ix, ci] * w[co, ky, kx, ci] into
// output (iy * stride_h - pad_top + ky, ix * stride_w - pad_left + kx). Written here as the
// equivalent gather, so that each output is one sum: output (oy, ox) receives from kernel tap
// (ky, kx) exactly when oy + pad_top - ky is a non-negative multiple of stride_h, from input row
// iy = (oy + pad_top - ky) / stride_h (likewise for x). Rows and columns that no input reaches
// (the adjustment) hold the bias.
void transpose_conv2d(const WindowArgs& a, int batch) {
  const Window& win = a.window;
  for (int n = 0; n < batch; ++n) {
    const float* x = a.x + n * a.h * a.w * a.cin;
    float* y = a.y + n * a.oh * a.ow * a.cout;
    for (int64_t oy = 0; oy < a.oh; ++oy) {
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        for (int64_t co = 0; co < a.cout; ++co) {
          double sum = a.bias ? a.bias[co] : 0.0;
          for (int64_t ky = 0; ky < a.kh; ++ky) {
            const int64_t ty = oy + win.pad_top - ky;
            if (ty < 0 || ty % win.stride_h != 0) continue;
            const int64_t iy = ty / win.stride_h;
            if (iy >= a.h) continue;
            for (int64_t kx = 0; kx < a.kw; ++kx) {
              const int64_t tx = ox + win.pad_left - kx;
              if (tx < 0 || tx % win.stride_w != 0) continue;
              const int64_t ix = tx / win.stride_w;
              if (ix >= a.w) continue;
              const float* xp = x + (iy * a.w + ix) * a.cin;
              const float* wp = a.weights + ((co * a.kh + ky) * a.kw + kx) * a.cin;
              for (int64_t ci = 0; ci < a.cin; ++ci) sum += double{xp[ci]} * wp[ci];
            }
          }
          y[(oy * a.ow + ox) * a.cout + co] = static_cast<float>(sum);
        }
      }
    }
  }
}

// Reshape and the element-wise ops see their tensors as flat arrays of batch x elements.
struct ElementwiseArgs {
  const float* x = nullptr;
  float* y = nullptr;
  int64_t count = 0;  // batch x elements
};

void reshape(const ElementwiseArgs& a) { std::memcpy(a.y, a.x, sizeof(float) * a.count); }

void relu(const ElementwiseArgs& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = a.x[i] > 0.0f ? a.x[i] : 0.0f;
}

void sigmoid(const ElementwiseArgs& a) {
  for (int64_t i = 0; i < a.count; ++i) {
    a.y[i] = static_cast<float>(1.0 / (1.0 + std::exp(-double{a.x[i]})));
  }
}

void tanh(const ElementwiseArgs& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = static_cast<float>(std::tanh(double{a.x[i]}));
}

// ---------------------------------------------------------------------------------------------
// Build-time checks. The loader has validated the graph already; these repeat the few facts the
// kernels rely on for memory safety, so that a loader bug is an error here and not an overrun.

[[noreturn]] void refuse(int op_index, const Op& op, const std::string& what) {
  throw Error(ErrorCode::unsupported_model, "reference backend: operator " + std::to_string(op_index) +
                                                " (" + to_string(op.kind) + "): " + what);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class ReferenceBackend final : public Backend {
 public:
  ReferenceBackend(const Model& model, int batch);

  void run(const float* latents, float* images) override {
    std::memcpy(input_, latents, sizeof(float) * input_count_);
    for (const auto& step : steps_) step();
    std::memcpy(images, output_, sizeof(float) * output_count_);
  }

  BackendKind kind() const override { return BackendKind::reference; }

 private:
  // Buffer of an activation tensor used as an op's input or output.
  float* activation(const Graph& graph, int op_index, const Op& op, int tensor_index);
  // Data of a constant operand (weights, bias) with the given shape.
  static const float* constant(const Graph& graph, int op_index, const Op& op, int tensor_index,
                               const std::vector<int64_t>& shape);

  void add_fully_connected(const Graph& graph, int op_index, const Op& op);
  void add_window_op(const Graph& graph, int op_index, const Op& op);
  void add_elementwise(const Graph& graph, int op_index, const Op& op);

  std::shared_ptr<const void> keep_alive_;  // the kernels point into the model's constant data
  std::vector<std::vector<float>> buffers_;  // per tensor: batch x elements; empty for constants
  std::vector<std::function<void()>> steps_;
  float* input_ = nullptr;
  const float* output_ = nullptr;
  int64_t input_count_ = 0, output_count_ = 0;
};

ReferenceBackend::ReferenceBackend(const Model& model, int batch)
    : Backend(batch), keep_alive_(model.keep_alive()) {
  const Graph& graph = model.decoder();
  if (graph.inputs.size() != 1 || graph.outputs.size() != 1) {
    throw Error(ErrorCode::unsupported_model,
                "reference backend: the decoder must have exactly 1 input and 1 output, it has " +
                    std::to_string(graph.inputs.size()) + " and " +
                    std::to_string(graph.outputs.size()));
  }

  // One buffer per activation tensor. The loader bounds every tensor's elements; the batch is
  // the caller's, so guard the product.
  buffers_.resize(graph.tensors.size());
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    if (tensor.is_constant()) continue;
    const int64_t elements = tensor.elements();
    if (elements > std::numeric_limits<int32_t>::max() / batch) {
      throw Error(ErrorCode::invalid_argument,
                  "reference backend: batch size " + std::to_string(batch) +
                      " is too large for tensor '" + tensor.name + "' of " +
                      std::to_string(elements) + " elements");
    }
    buffers_[t].assign(static_cast<std::size_t>(elements * batch), 0.0f);
  }

  const int input_index = graph.inputs[0], output_index = graph.outputs[0];
  const auto in_range = [&](int t) {
    return t >= 0 && static_cast<std::size_t>(t) < graph.tensors.size() &&
           !graph.tensors[static_cast<std::size_t>(t)].is_constant();
  };
  if (!in_range(input_index) || !in_range(output_index)) {
    throw Error(ErrorCode::unsupported_model,
                "reference backend: the decoder's input and output must be activation tensors");
  }
  const Tensor& input = graph.tensors[static_cast<std::size_t>(input_index)];
  const Tensor& output = graph.tensors[static_cast<std::size_t>(output_index)];
  // run() reads batch x latent dims and writes batch x image pixels (backend.h).
  if (input.elements() != model.latent().dims()) {
    throw Error(ErrorCode::unsupported_model,
                "reference backend: decoder input '" + input.name + "' has " +
                    std::to_string(input.elements()) + " elements but the latent spec has " +
                    std::to_string(model.latent().dims()) + " dimensions");
  }
  if (output.elements() != model.image().pixels()) {
    throw Error(ErrorCode::unsupported_model,
                "reference backend: decoder output '" + output.name + "' has " +
                    std::to_string(output.elements()) + " elements but the image spec has " +
                    std::to_string(model.image().pixels()) + " values");
  }
  input_ = buffers_[static_cast<std::size_t>(input_index)].data();
  output_ = buffers_[static_cast<std::size_t>(output_index)].data();
  input_count_ = input.elements() * batch;
  output_count_ = output.elements() * batch;

  for (std::size_t i = 0; i < graph.ops.size(); ++i) {
    const int op_index = static_cast<int>(i);
    const Op& op = graph.ops[i];
    if (op.outputs.size() != 1) refuse(op_index, op, "expected 1 output");
    if (op.inputs.empty()) refuse(op_index, op, "expected at least 1 input");
    // Every index in range; -1 (absent) only for the optional bias, the third input.
    for (std::size_t k = 0; k < op.inputs.size() + 1; ++k) {
      const int t = k < op.inputs.size() ? op.inputs[k] : op.outputs[0];
      const bool absent_bias = k == 2 && k < op.inputs.size() && t == -1;
      if (!absent_bias && (t < 0 || static_cast<std::size_t>(t) >= graph.tensors.size())) {
        refuse(op_index, op, "tensor index " + std::to_string(t) + " out of range");
      }
    }
    switch (op.kind) {
      case OpKind::fully_connected:
        add_fully_connected(graph, op_index, op);
        break;
      case OpKind::conv2d:
      case OpKind::transpose_conv2d:
        add_window_op(graph, op_index, op);
        break;
      case OpKind::reshape:
      case OpKind::relu:
      case OpKind::sigmoid:
      case OpKind::tanh:
        add_elementwise(graph, op_index, op);
        break;
      default:
        refuse(op_index, op, "op kind not supported by this backend");
    }
  }
}

float* ReferenceBackend::activation(const Graph& graph, int op_index, const Op& op,
                                    int tensor_index) {
  const Tensor& t = graph.tensors[static_cast<std::size_t>(tensor_index)];
  if (t.is_constant()) refuse(op_index, op, "tensor '" + t.name + "' must be an activation");
  return buffers_[static_cast<std::size_t>(tensor_index)].data();
}

const float* ReferenceBackend::constant(const Graph& graph, int op_index, const Op& op,
                                        int tensor_index, const std::vector<int64_t>& shape) {
  const Tensor& t = graph.tensors[static_cast<std::size_t>(tensor_index)];
  if (!t.is_constant() || t.dtype != DType::float32 || t.shape != shape ||
      t.bytes != static_cast<std::size_t>(t.elements()) * sizeof(float)) {
    refuse(op_index, op,
           "tensor '" + t.name + "' must be a float32 constant of shape " + shape_string(shape) +
               ", it is " + (t.is_constant() ? "a constant" : "an activation") + " of " +
               to_string(t.dtype) + " " + shape_string(t.shape));
  }
  return t.f32();
}

// The bias is the optional third input; -1 or no third input means none.
bool has_bias(const Op& op) { return op.inputs.size() == 3 && op.inputs[2] != -1; }

void ReferenceBackend::add_fully_connected(const Graph& graph, int op_index, const Op& op) {
  if (op.inputs.size() != 2 && op.inputs.size() != 3) refuse(op_index, op, "expected 2 or 3 inputs");
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  if (x.shape.size() != 1 || y.shape.size() != 1) {
    refuse(op_index, op, "input and output must have rank 1 per example, they are " +
                             shape_string(x.shape) + " and " + shape_string(y.shape));
  }
  FullyConnectedArgs a;
  a.in = x.shape[0];
  a.out = y.shape[0];
  a.x = activation(graph, op_index, op, op.inputs[0]);
  a.y = activation(graph, op_index, op, op.outputs[0]);
  a.weights = constant(graph, op_index, op, op.inputs[1], {a.out, a.in});
  a.bias = has_bias(op) ? constant(graph, op_index, op, op.inputs[2], {a.out}) : nullptr;
  const int batch = this->batch();
  steps_.emplace_back([a, batch] { fully_connected(a, batch); });
}

void ReferenceBackend::add_window_op(const Graph& graph, int op_index, const Op& op) {
  const bool transposed = op.kind == OpKind::transpose_conv2d;
  if (op.inputs.size() != 2 && op.inputs.size() != 3) refuse(op_index, op, "expected 2 or 3 inputs");
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& w = graph.tensors[static_cast<std::size_t>(op.inputs[1])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  if (x.shape.size() != 3 || y.shape.size() != 3 || w.shape.size() != 4) {
    refuse(op_index, op, "expected input [H, W, C], weights OHWI and output [H, W, C], got " +
                             shape_string(x.shape) + ", " + shape_string(w.shape) + " and " +
                             shape_string(y.shape));
  }
  const Window& win = op.window;
  if (win.stride_h < 1 || win.stride_w < 1 || win.dilation_h < 1 || win.dilation_w < 1 ||
      win.pad_top < 0 || win.pad_left < 0 || win.pad_bottom < 0 || win.pad_right < 0 ||
      win.adjustment_h < 0 || win.adjustment_w < 0 ||
      (transposed && (win.dilation_h != 1 || win.dilation_w != 1))) {
    refuse(op_index, op, "invalid window (stride, dilation, padding or adjustment)");
  }
  WindowArgs a;
  a.h = x.shape[0];
  a.w = x.shape[1];
  a.cin = x.shape[2];
  a.cout = w.shape[0];
  a.kh = w.shape[1];
  a.kw = w.shape[2];
  a.window = win;
  a.oh = transposed ? transpose_conv2d_output_size(a.h, a.kh, win.stride_h, win.pad_top,
                                                 win.pad_bottom, win.adjustment_h)
                    : conv2d_output_size(a.h, a.kh, win.stride_h, win.dilation_h, win.pad_top,
                                       win.pad_bottom);
  a.ow = transposed ? transpose_conv2d_output_size(a.w, a.kw, win.stride_w, win.pad_left,
                                                 win.pad_right, win.adjustment_w)
                    : conv2d_output_size(a.w, a.kw, win.stride_w, win.dilation_w, win.pad_left,
                                       win.pad_right);
  if (y.shape != std::vector<int64_t>{a.oh, a.ow, a.cout}) {
    refuse(op_index, op, "output shape " + shape_string(y.shape) + " differs from the computed " +
                             shape_string({a.oh, a.ow, a.cout}));
  }
  a.x = activation(graph, op_index, op, op.inputs[0]);
  a.y = activation(graph, op_index, op, op.outputs[0]);
  a.weights = constant(graph, op_index, op, op.inputs[1], {a.cout, a.kh, a.kw, a.cin});
  a.bias = has_bias(op) ? constant(graph, op_index, op, op.inputs[2], {a.cout}) : nullptr;
  const int batch = this->batch();
  if (transposed) {
    steps_.emplace_back([a, batch] { transpose_conv2d(a, batch); });
  } else {
    steps_.emplace_back([a, batch] { conv2d(a, batch); });
  }
}

void ReferenceBackend::add_elementwise(const Graph& graph, int op_index, const Op& op) {
  if (op.inputs.size() != 1) refuse(op_index, op, "expected 1 input");
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  if (x.elements() != y.elements() || (op.kind != OpKind::reshape && x.shape != y.shape)) {
    refuse(op_index, op, "input " + shape_string(x.shape) + " and output " +
                             shape_string(y.shape) + " do not match");
  }
  ElementwiseArgs a;
  a.x = activation(graph, op_index, op, op.inputs[0]);
  a.y = activation(graph, op_index, op, op.outputs[0]);
  a.count = x.elements() * batch();
  switch (op.kind) {
    case OpKind::reshape:
      steps_.emplace_back([a] { reshape(a); });
      break;
    case OpKind::relu:
      steps_.emplace_back([a] { relu(a); });
      break;
    case OpKind::sigmoid:
      steps_.emplace_back([a] { sigmoid(a); });
      break;
    default:
      steps_.emplace_back([a] { tanh(a); });
      break;
  }
}

}  // namespace

std::unique_ptr<Backend> make_reference_backend(const Model& model, int batch) {
  if (batch < 1) {
    throw Error(ErrorCode::invalid_argument,
                "reference backend: batch size must be at least 1, got " + std::to_string(batch));
  }
  return std::make_unique<ReferenceBackend>(model, batch);
}

}  // namespace latentkit
