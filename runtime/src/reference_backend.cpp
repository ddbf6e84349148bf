// The reference backend: plain, portable C++ loops over NHWC tensors.
//
// It is the oracle the tests compare XNNPACK against and the fallback for targets built without
// XNNPACK, so it is written to be obviously correct rather than fast: one small function per op
// kind, each a direct transcription of the op's definition in schema/latentkit.fbs.
//
// Build does every check and every allocation (one buffer of batch x elements per activation
// tensor, a list of steps with all sizes resolved); invoke() copies the method's inputs in, runs
// the steps and copies its outputs out.
//
// Float ops accumulate in double: the oracle should be more accurate than the backends it
// checks, so that a difference measures their rounding error and not its own, and the result
// does not depend on the summation order a compiler or a future refactoring picks. The cost is
// irrelevant for a fallback that decodes a few small images. Integer ops (int8 activations)
// follow the arithmetic that schema/latentkit.fbs defines, which is the oracle for XNNPACK's.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/calibration.h"
#include "latentkit/error.h"
#include "latentkit/graph.h"
#include "latentkit/model.h"
#include "latentkit/memory_plan.h"
#include "backend_workspace.h"
#include "saturating.h"

namespace latentkit {
using detail::saturating_add;
using detail::saturating_product;
namespace {

// ---------------------------------------------------------------------------------------------
// Arithmetic. The loops below are written once; what a multiply-accumulate and the final store
// mean comes from one of these two policies.

// Float ops: float32 in and out, accumulated in double, bias in float.
struct FloatArithmetic {
  using Input = float;
  using Weight = float;
  using Output = float;
  using Accumulator = double;
  const float* bias = nullptr;  // per output channel, or null

  double start(int64_t channel) const { return bias ? bias[channel] : 0.0; }
  void add(double& acc, float x, float w) const { acc += double{x} * w; }
  float finish(double acc, int64_t) const { return static_cast<float>(acc); }
};

// A rounded float as int8, saturating. NaN (a NaN latent reaching a quantize op) has no int8
// value; it becomes -128 rather than the undefined behaviour of converting it.
int8_t saturate_to_int8(float rounded) {
  if (!(rounded >= -128.0f)) return -128;
  if (rounded > 127.0f) return 127;
  return static_cast<int8_t>(rounded);
}

// Integer ops (schema/latentkit.fbs): int8 in and out, int32 accumulation and bias,
// requantised with one float32 multiplier per output channel, rounded half to even.
struct IntegerArithmetic {
  using Input = int8_t;
  using Weight = int8_t;
  using Output = int8_t;
  using Accumulator = int32_t;
  const int32_t* bias = nullptr;     // per output channel, or null
  const float* multipliers = nullptr;  // s_x * s_w[c] / s_y per output channel
  int32_t input_zero = 0, output_zero = 0;

  int32_t start(int64_t channel) const { return bias ? bias[channel] : 0; }
  void add(int32_t& acc, int8_t x, int8_t w) const { acc += (int32_t{x} - input_zero) * int32_t{w}; }
  int8_t finish(int32_t acc, int64_t channel) const {
    const float scaled = std::nearbyint(static_cast<float>(acc) * multipliers[channel]);
    return saturate_to_int8(scaled + static_cast<float>(output_zero));
  }
};

// ---------------------------------------------------------------------------------------------
// Kernels. Each computes `batch` examples; all pointers and sizes were resolved at build.

template <typename Arithmetic>
struct FullyConnectedArgs {
  const typename Arithmetic::Input* x = nullptr;     // batch x in
  const typename Arithmetic::Weight* weights = nullptr;  // out x in
  typename Arithmetic::Output* y = nullptr;          // batch x out
  int64_t in = 0, out = 0;
  Arithmetic math;
};

template <typename Arithmetic>
void fully_connected(const FullyConnectedArgs<Arithmetic>& a, int batch) {
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

// Dimensions of a convolution or transposed convolution, per example, NHWC / OHWI.
template <typename Arithmetic>
struct WindowArgs {
  const typename Arithmetic::Input* x = nullptr;         // batch x h x w x cin
  const typename Arithmetic::Weight* weights = nullptr;  // cout x kh x kw x cin
  typename Arithmetic::Output* y = nullptr;              // batch x oh x ow x cout
  int64_t h = 0, w = 0, cin = 0;
  int64_t oh = 0, ow = 0, cout = 0;
  int64_t kh = 0, kw = 0;
  Window window;
  Arithmetic math;
};

// Which input row (or column) feeds output position o through kernel tap k, or -1.
//
// Convolution: y[oy, ox, co] = bias[co] + sum over (ky, kx, ci) of x[iy, ix, ci] * w[co, ky, kx, ci]
// with iy = oy * stride_h - pad_top + ky * dilation_h (likewise ix), terms outside x being zero.
struct ConvolutionTaps {
  static int64_t source(int64_t o, int64_t k, int stride, int dilation, int pad, int64_t size) {
    const int64_t i = o * stride - pad + k * dilation;
    return i >= 0 && i < size ? i : -1;
  }
};

// Transposed convolution: the definition scatters input pixel (iy, ix) into output
// (iy * stride_h - pad_top + ky, ix * stride_w - pad_left + kx). As a gather, output row oy
// receives from tap ky exactly when oy + pad_top - ky is a non-negative multiple of stride_h,
// from input row (oy + pad_top - ky) / stride_h. Rows no input reaches (the adjustment) hold the
// bias.
struct TransposedConvolutionTaps {
  static int64_t source(int64_t o, int64_t k, int stride, int /*dilation*/, int pad, int64_t size) {
    const int64_t t = o + pad - k;
    if (t < 0 || t % stride != 0) return -1;
    return t / stride < size ? t / stride : -1;
  }
};

// One output value per (oy, ox, co): a sum over the taps that Taps says reach it.
template <typename Taps, typename Arithmetic>
void window_op(const WindowArgs<Arithmetic>& a, int batch) {
  const Window& win = a.window;
  for (int n = 0; n < batch; ++n) {
    const auto* x = a.x + n * a.h * a.w * a.cin;
    auto* y = a.y + n * a.oh * a.ow * a.cout;
    for (int64_t oy = 0; oy < a.oh; ++oy) {
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        for (int64_t co = 0; co < a.cout; ++co) {
          auto acc = a.math.start(co);
          for (int64_t ky = 0; ky < a.kh; ++ky) {
            const int64_t iy = Taps::source(oy, ky, win.stride_h, win.dilation_h, win.pad_top, a.h);
            if (iy < 0) continue;
            for (int64_t kx = 0; kx < a.kw; ++kx) {
              const int64_t ix = Taps::source(ox, kx, win.stride_w, win.dilation_w, win.pad_left, a.w);
              if (ix < 0) continue;
              const auto* xp = x + (iy * a.w + ix) * a.cin;
              const auto* wp = a.weights + ((co * a.kh + ky) * a.kw + kx) * a.cin;
              for (int64_t ci = 0; ci < a.cin; ++ci) a.math.add(acc, xp[ci], wp[ci]);
            }
          }
          y[(oy * a.ow + ox) * a.cout + co] = a.math.finish(acc, co);
        }
      }
    }
  }
}

// Reshape and the element-wise ops see their tensors as flat arrays of batch x elements.
template <typename In, typename Out>
struct ElementwiseArgs {
  const In* x = nullptr;
  Out* y = nullptr;
  int64_t count = 0;  // batch x elements
  float scale = 1;        // quantize / dequantize: the int8 side's scale and zero point
  int32_t zero_point = 0;  // also relu on int8: max(x, zero_point)
};

template <typename T>
void reshape(const ElementwiseArgs<T, T>& a) { std::memcpy(a.y, a.x, sizeof(T) * a.count); }

void relu(const ElementwiseArgs<float, float>& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = a.x[i] > 0.0f ? a.x[i] : 0.0f;
}

void relu(const ElementwiseArgs<int8_t, int8_t>& a) {
  const auto zero = static_cast<int8_t>(a.zero_point);
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = std::max(a.x[i], zero);
}

void sigmoid(const ElementwiseArgs<float, float>& a) {
  for (int64_t i = 0; i < a.count; ++i) {
    a.y[i] = static_cast<float>(1.0 / (1.0 + std::exp(-double{a.x[i]})));
  }
}

void tanh(const ElementwiseArgs<float, float>& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = static_cast<float>(std::tanh(double{a.x[i]}));
}

void quantize(const ElementwiseArgs<float, int8_t>& a) {
  for (int64_t i = 0; i < a.count; ++i) {
    const float q = std::nearbyint(a.x[i] / a.scale) + static_cast<float>(a.zero_point);
    a.y[i] = saturate_to_int8(q);
  }
}

void dequantize(const ElementwiseArgs<int8_t, float>& a) {
  for (int64_t i = 0; i < a.count; ++i) a.y[i] = a.scale * static_cast<float>(int32_t{a.x[i]} - a.zero_point);
}

// ---------------------------------------------------------------------------------------------
// Build. The graph comes from Model::load, which has checked everything the kernels rely on
// (see the guarantees in graph.h); building only resolves sizes and pointers.

// The bias is the optional third input; -1 means none.
bool has_bias(const Op& op) { return op.inputs[2] != -1; }

class ReferenceBackend final : public Backend {
 public:
  ReferenceBackend(const Model& model, const Method& method, int batch);

  void invoke(const float* const* inputs, float* const* outputs) override {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      std::memcpy(inputs_[i].data, inputs[i], sizeof(float) * inputs_[i].count);
    }
    for (const auto& step : steps_) step();
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      std::memcpy(outputs[i], outputs_[i].data, sizeof(float) * outputs_[i].count);
    }
  }

  BackendKind kind() const override { return BackendKind::reference; }

  // The activation buffer of a tensor (batch x elements of its dtype), for calibration.
  const void* buffer(int tensor_index) const { return buffers_[static_cast<std::size_t>(tensor_index)].data(); }

 private:
  template <typename T = float>
  T* activation(int tensor_index) {
    return reinterpret_cast<T*>(buffers_[static_cast<std::size_t>(tensor_index)].data());
  }
  const Tensor& tensor(int index) const { return graph_.tensors[static_cast<std::size_t>(index)]; }

  template <typename Arithmetic>
  void add_weighted_op(const Op& op, Arithmetic math);
  IntegerArithmetic integer_arithmetic(const Op& op);
  void add_elementwise(const Op& op);

  std::shared_ptr<const void> keep_alive_;  // the kernels point into the model's constant data
  const Graph& graph_;                       // valid while keep_alive_ is held
  // Per activation tensor: batch x elements of its dtype, in floats so that any dtype is aligned.
  std::vector<std::vector<float>> buffers_;
  std::vector<std::vector<float>> multipliers_;  // per integer op: its requantisation multipliers
  std::vector<std::function<void()>> steps_;
  struct Binding {
    float* data;        // the tensor's activation buffer
    std::size_t count;  // batch x elements
  };
  std::vector<Binding> inputs_, outputs_;
};

ReferenceBackend::ReferenceBackend(const Model& model, const Method& method, int batch)
    : Backend(method, batch), keep_alive_(model.keep_alive()), graph_(method.graph) {
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
    const std::size_t bytes = static_cast<std::size_t>(elements * batch) * size_of(tensor.dtype);
    buffers_[t].assign((bytes + sizeof(float) - 1) / sizeof(float), 0.0f);
  }
  for (int i : graph_.inputs) inputs_.push_back({activation(i), static_cast<std::size_t>(tensor(i).elements() * batch)});
  for (int i : graph_.outputs) outputs_.push_back({activation(i), static_cast<std::size_t>(tensor(i).elements() * batch)});

  for (const Op& op : graph_.ops) {
    switch (op.kind) {
      case OpKind::fully_connected:
      case OpKind::conv2d:
      case OpKind::transpose_conv2d:
        if (tensor(op.inputs[0]).dtype == DType::int8) {
          add_weighted_op(op, integer_arithmetic(op));
        } else {
          FloatArithmetic math;
          math.bias = has_bias(op) ? tensor(op.inputs[2]).f32() : nullptr;
          add_weighted_op(op, math);
        }
        break;
      case OpKind::reshape:
      case OpKind::relu:
      case OpKind::sigmoid:
      case OpKind::tanh:
      case OpKind::quantize:
      case OpKind::dequantize:
        add_elementwise(op);
        break;
    }
  }
}

IntegerArithmetic ReferenceBackend::integer_arithmetic(const Op& op) {
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& w = tensor(op.inputs[1]);
  const Tensor& y = tensor(op.outputs[0]);
  IntegerArithmetic math;
  math.bias = has_bias(op) ? static_cast<const int32_t*>(tensor(op.inputs[2]).data) : nullptr;
  math.input_zero = static_cast<int32_t>(x.quantization.zero_points[0]);
  math.output_zero = static_cast<int32_t>(y.quantization.zero_points[0]);
  std::vector<float>& multipliers = multipliers_.emplace_back();
  for (int64_t c = 0; c < w.shape[0]; ++c) {
    const float weight_scale = w.quantization.scales[w.quantization.axis == 0 ? c : 0];
    multipliers.push_back(x.quantization.scales[0] * weight_scale / y.quantization.scales[0]);
  }
  math.multipliers = multipliers.data();
  return math;
}

template <typename Arithmetic>
void ReferenceBackend::add_weighted_op(const Op& op, Arithmetic math) {
  using Input = typename Arithmetic::Input;
  using Weight = typename Arithmetic::Weight;
  using Output = typename Arithmetic::Output;
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& w = tensor(op.inputs[1]);
  const Tensor& y = tensor(op.outputs[0]);
  // Float ops read the weights as float32 (widened at load if stored smaller); integer ops the
  // stored int8 values.
  const auto* weights = std::is_same_v<Weight, float> ? static_cast<const void*>(w.f32()) : w.data;
  const int batch = this->batch();
  if (op.kind == OpKind::fully_connected) {
    FullyConnectedArgs<Arithmetic> a;
    a.in = x.shape[0];
    a.out = y.shape[0];
    a.x = activation<Input>(op.inputs[0]);
    a.y = activation<Output>(op.outputs[0]);
    a.weights = static_cast<const Weight*>(weights);
    a.math = math;
    steps_.emplace_back([a, batch] { fully_connected(a, batch); });
    return;
  }
  WindowArgs<Arithmetic> a;
  a.h = x.shape[0];
  a.w = x.shape[1];
  a.cin = x.shape[2];
  a.cout = w.shape[0];
  a.kh = w.shape[1];
  a.kw = w.shape[2];
  a.oh = y.shape[0];
  a.ow = y.shape[1];
  a.window = op.window;
  a.x = activation<Input>(op.inputs[0]);
  a.y = activation<Output>(op.outputs[0]);
  a.weights = static_cast<const Weight*>(weights);
  a.math = math;
  if (op.kind == OpKind::transpose_conv2d) {
    steps_.emplace_back([a, batch] { window_op<TransposedConvolutionTaps>(a, batch); });
  } else {
    steps_.emplace_back([a, batch] { window_op<ConvolutionTaps>(a, batch); });
  }
}

void ReferenceBackend::add_elementwise(const Op& op) {
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& y = tensor(op.outputs[0]);
  const int64_t count = x.elements() * batch();
  const Tensor& quantised = x.dtype == DType::int8 ? x : y;  // the int8 side, if any
  auto args = [&](auto* in, auto* out) {
    ElementwiseArgs<std::remove_pointer_t<decltype(in)>, std::remove_pointer_t<decltype(out)>> a;
    a.x = in;
    a.y = out;
    a.count = count;
    if (quantised.dtype == DType::int8) {
      a.scale = quantised.quantization.scales[0];
      a.zero_point = static_cast<int32_t>(quantised.quantization.zero_points[0]);
    }
    return a;
  };
  const bool integer = x.dtype == DType::int8;
  switch (op.kind) {
    case OpKind::reshape:
      if (integer) {
        steps_.emplace_back([a = args(activation<int8_t>(op.inputs[0]), activation<int8_t>(op.outputs[0]))] { reshape(a); });
      } else {
        steps_.emplace_back([a = args(activation(op.inputs[0]), activation(op.outputs[0]))] { reshape(a); });
      }
      break;
    case OpKind::relu:
      if (integer) {
        steps_.emplace_back([a = args(activation<int8_t>(op.inputs[0]), activation<int8_t>(op.outputs[0]))] { relu(a); });
      } else {
        steps_.emplace_back([a = args(activation(op.inputs[0]), activation(op.outputs[0]))] { relu(a); });
      }
      break;
    case OpKind::sigmoid:
      steps_.emplace_back([a = args(activation(op.inputs[0]), activation(op.outputs[0]))] { sigmoid(a); });
      break;
    case OpKind::tanh:
      steps_.emplace_back([a = args(activation(op.inputs[0]), activation(op.outputs[0]))] { tanh(a); });
      break;
    case OpKind::quantize:
      steps_.emplace_back([a = args(activation(op.inputs[0]), activation<int8_t>(op.outputs[0]))] { quantize(a); });
      break;
    case OpKind::dequantize:
      steps_.emplace_back([a = args(activation<int8_t>(op.inputs[0]), activation(op.outputs[0]))] { dequantize(a); });
      break;
    case OpKind::fully_connected:
    case OpKind::conv2d:
    case OpKind::transpose_conv2d:
      break;  // add_weighted_op
  }
}

}  // namespace

std::vector<TensorRange> observe_ranges(const Model& model, const std::vector<float>& latents) {
  const Method& method = model.method(methods::decode);
  const Graph& graph = method.graph;
  const int dims = model.latent().dims();
  const int count = static_cast<int>(latents.size() / static_cast<std::size_t>(dims));
  if (count < 1 || latents.size() != static_cast<std::size_t>(count) * dims) {
    throw Error(ErrorCode::invalid_argument, "calibration needs whole latent vectors of " + std::to_string(dims) +
                                                 " values, got " + std::to_string(latents.size()) + " values");
  }
  std::vector<TensorRange> ranges(graph.tensors.size());
  std::vector<bool> seen(graph.tensors.size(), false);
  auto widen = [&](std::size_t t, const float* values, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      if (!seen[t]) {
        ranges[t] = {values[i], values[i]};
        seen[t] = true;
      }
      ranges[t].min = std::min(ranges[t].min, values[i]);
      ranges[t].max = std::max(ranges[t].max, values[i]);
    }
  };
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    if (tensor.dtype != DType::float32 && !tensor.is_constant()) {
      throw Error(ErrorCode::invalid_argument, "calibration needs a float model; tensor '" + tensor.name + "' is " +
                                                   to_string(tensor.dtype));
    }
    if (tensor.is_constant()) widen(t, tensor.f32(), tensor.elements());
  }
  // In chunks, so that memory stays bounded however many latents there are.
  constexpr int kChunk = 250;
  std::vector<float> images;
  for (int start = 0; start < count; start += kChunk) {
    const int batch = std::min(kChunk, count - start);
    ReferenceBackend backend(model, method, batch);
    images.resize(static_cast<std::size_t>(batch) * model.image().pixels());
    backend.run(latents.data() + static_cast<std::size_t>(start) * dims, images.data());
    for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
      const Tensor& tensor = graph.tensors[t];
      if (!tensor.is_constant()) {
        widen(t, static_cast<const float*>(backend.buffer(static_cast<int>(t))), tensor.elements() * batch);
      }
    }
  }
  return ranges;
}

namespace detail {

int64_t reference_workspace_bytes(const Graph& graph, int /*batch*/) {
  // One multiplier per output channel of each integer op, and one step (a std::function) per op.
  int64_t bytes = 0;
  for (const Op& op : graph.ops) {
    bytes = saturating_add(bytes, 64);
    const bool weighted = is_weighted(op.kind);
    if (weighted && graph.tensors[static_cast<std::size_t>(op.inputs[0])].dtype == DType::int8) {
      bytes = saturating_add(bytes, saturating_product({graph.tensors[static_cast<std::size_t>(op.inputs[1])].shape[0], 4}));
    }
  }
  return bytes;
}

}  // namespace detail

std::unique_ptr<Backend> make_reference_backend(const Model& model, const Method& method, int batch) {
  if (batch < 1) {
    throw Error(ErrorCode::invalid_argument,
                "reference backend: batch size must be at least 1, got " + std::to_string(batch));
  }
  check_memory(model, plan_memory(model, method, BackendKind::reference, batch),
               "the reference backend for " + method.name + " at batch " + std::to_string(batch));
  return std::make_unique<ReferenceBackend>(model, method, batch);
}

}  // namespace latentkit
