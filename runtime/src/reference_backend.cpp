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
// Build. The graph comes from Model::load, which has checked everything the kernels rely on
// (see the guarantees in graph.h); building only resolves sizes and pointers.

// The bias is the optional third input; -1 means none.
bool has_bias(const Op& op) { return op.inputs[2] != -1; }

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
  float* activation(int tensor_index) { return buffers_[static_cast<std::size_t>(tensor_index)].data(); }
  const float* constant(int tensor_index) const { return tensor(tensor_index).f32(); }
  const Tensor& tensor(int index) const { return graph_.tensors[static_cast<std::size_t>(index)]; }

  void add_fully_connected(const Op& op);
  void add_window_op(const Op& op);
  void add_elementwise(const Op& op);

  std::shared_ptr<const void> keep_alive_;  // the kernels point into the model's constant data
  const Graph& graph_;                       // valid while keep_alive_ is held
  std::vector<std::vector<float>> buffers_;  // per tensor: batch x elements; empty for constants
  std::vector<std::function<void()>> steps_;
  float* input_ = nullptr;
  const float* output_ = nullptr;
  int64_t input_count_ = 0, output_count_ = 0;
};

ReferenceBackend::ReferenceBackend(const Model& model, int batch)
    : Backend(batch), keep_alive_(model.keep_alive()), graph_(model.decoder()) {
  // One buffer per activation tensor. The loader bounds every tensor's elements; the batch is
  // the caller's, so guard the product.
  buffers_.resize(graph_.tensors.size());
  for (std::size_t t = 0; t < graph_.tensors.size(); ++t) {
    const Tensor& tensor = graph_.tensors[t];
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
  input_ = activation(graph_.inputs[0]);
  output_ = activation(graph_.outputs[0]);
  input_count_ = tensor(graph_.inputs[0]).elements() * batch;
  output_count_ = tensor(graph_.outputs[0]).elements() * batch;

  for (const Op& op : graph_.ops) {
    switch (op.kind) {
      case OpKind::fully_connected:
        add_fully_connected(op);
        break;
      case OpKind::conv2d:
      case OpKind::transpose_conv2d:
        add_window_op(op);
        break;
      case OpKind::reshape:
      case OpKind::relu:
      case OpKind::sigmoid:
      case OpKind::tanh:
        add_elementwise(op);
        break;
    }
  }
}

void ReferenceBackend::add_fully_connected(const Op& op) {
  FullyConnectedArgs a;
  a.in = tensor(op.inputs[0]).shape[0];
  a.out = tensor(op.outputs[0]).shape[0];
  a.x = activation(op.inputs[0]);
  a.y = activation(op.outputs[0]);
  a.weights = constant(op.inputs[1]);
  a.bias = has_bias(op) ? constant(op.inputs[2]) : nullptr;
  const int batch = this->batch();
  steps_.emplace_back([a, batch] { fully_connected(a, batch); });
}

void ReferenceBackend::add_window_op(const Op& op) {
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& w = tensor(op.inputs[1]);
  const Tensor& y = tensor(op.outputs[0]);
  WindowArgs a;
  a.h = x.shape[0];
  a.w = x.shape[1];
  a.cin = x.shape[2];
  a.cout = w.shape[0];
  a.kh = w.shape[1];
  a.kw = w.shape[2];
  a.oh = y.shape[0];
  a.ow = y.shape[1];
  a.window = op.window;
  a.x = activation(op.inputs[0]);
  a.y = activation(op.outputs[0]);
  a.weights = constant(op.inputs[1]);
  a.bias = has_bias(op) ? constant(op.inputs[2]) : nullptr;
  const int batch = this->batch();
  if (op.kind == OpKind::transpose_conv2d) {
    steps_.emplace_back([a, batch] { transpose_conv2d(a, batch); });
  } else {
    steps_.emplace_back([a, batch] { conv2d(a, batch); });
  }
}

void ReferenceBackend::add_elementwise(const Op& op) {
  ElementwiseArgs a;
  a.x = activation(op.inputs[0]);
  a.y = activation(op.outputs[0]);
  a.count = tensor(op.inputs[0]).elements() * batch();
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
