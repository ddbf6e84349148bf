#include "latentkit/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "latentkit/error.h"
#include "ops/op_table.h"

namespace latentkit {

using ops::Int8Form;
using ops::op_def;

const char* to_string(QuantMode format) {
  switch (format) {
    case QuantMode::fp32: return "fp32";
    case QuantMode::fp16: return "fp16";
    case QuantMode::int8_weights: return "int8-weights";
    case QuantMode::int8: return "int8";
  }
  return "?";
}

QuantMode parse_quant_mode(const std::string& name) {
  for (QuantMode f : {QuantMode::fp32, QuantMode::fp16, QuantMode::int8_weights, QuantMode::int8}) {
    if (name == to_string(f)) return f;
  }
  throw Error(ErrorCode::invalid_argument,
              "unknown quantisation '" + name + "' (expected fp32, fp16, int8-weights or int8)");
}

namespace {

std::vector<float> float_values(const TensorDescription& t) {
  std::vector<float> values(t.data.size() / sizeof(float));
  std::memcpy(values.data(), t.data.data(), t.data.size());
  return values;
}

constexpr float kLargestHalf = 65504.0f;

// The smallest IEEE half at or above `scale` (at least 2^-24, the smallest positive half); the
// writer stores scales that are all exactly halves in two bytes each (schema: scale_half).
// Rounding up keeps max |w| / scale <= 127, so no weight is clipped; the step grows by at most
// 2^-10 of itself, or by 2^-24 for subnormal halves (channels whose weights are below 0.008),
// so every weight stays within half a step, at most max(2^-11 |w|max, 2^-25) further than before.
float half_scale(float scale) {
  if (!(scale > 0 && scale <= kLargestHalf)) return scale;
  uint16_t half = float_to_half(scale);
  if (half_to_float(half) < scale) ++half;  // the next half up: positive halves are ordered
  return half_to_float(half);
}

// A float32 constant stored as IEEE halves.
void store_as_half(TensorDescription& tensor) {
  const std::vector<float> values = float_values(tensor);
  tensor.data.resize(values.size() * 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!(std::fabs(values[i]) <= kLargestHalf)) {
      throw Error(ErrorCode::invalid_argument, "'" + tensor.name + "' holds " + std::to_string(values[i]) +
                                                   ", beyond half precision's range (65504)");
    }
    const uint16_t half = float_to_half(values[i]);
    std::memcpy(&tensor.data[2 * i], &half, 2);
  }
  tensor.dtype = DType::float16;
}

}  // namespace

void quantize_tensor(TensorDescription& tensor, QuantMode format) {
  if (format == QuantMode::fp32) return;
  if (format == QuantMode::int8) format = QuantMode::int8_weights;  // the same weights
  if (tensor.dtype != DType::float32 || tensor.data.empty()) {
    throw Error(ErrorCode::invalid_argument, "only float32 constants can be quantised; '" + tensor.name + "' is not one");
  }
  if (format == QuantMode::fp16) {
    store_as_half(tensor);
    return;
  }
  const std::vector<float> values = float_values(tensor);
  const std::size_t channels = static_cast<std::size_t>(tensor.shape[0]);
  const std::size_t per_channel = values.size() / channels;
  Quantization q;
  q.axis = 0;
  tensor.data.resize(values.size());
  for (std::size_t c = 0; c < channels; ++c) {
    const auto begin = values.begin() + static_cast<std::ptrdiff_t>(c * per_channel);
    float max_abs = 0;
    for (auto it = begin; it != begin + static_cast<std::ptrdiff_t>(per_channel); ++it) {
      max_abs = std::max(max_abs, std::fabs(*it));
    }
    // An all-zero channel still needs a positive scale; any one represents its zeros exactly.
    const float scale = max_abs > 0 ? half_scale(max_abs / 127.0f) : 1.0f;
    q.scales.push_back(scale);  // symmetric: no zero points stored (they default to 0)
    for (std::size_t i = 0; i < per_channel; ++i) {
      const float v = std::nearbyint(values[c * per_channel + i] / scale);
      tensor.data[c * per_channel + i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f)));
    }
  }
  tensor.dtype = DType::int8;
  tensor.quantization = std::move(q);
}

void quantize_weights(ModelDescription& description, QuantMode format) {
  if (format == QuantMode::fp32) return;
  for (TensorDescription& t : description.tensors) {
    if (t.data.empty()) continue;
    if (t.shape.size() >= 2) {
      quantize_tensor(t, format);
    } else {
      store_as_half(t);
    }
  }
}

Quantization activation_quantization(TensorRange range) {
  const float lo = std::min(range.min, 0.0f);
  float hi = std::max(range.max, 0.0f);
  if (hi - lo < 1e-8f) hi = lo + 1e-8f;  // a tensor that is always 0 still needs a scale
  Quantization q;
  q.scales = {(hi - lo) / 255.0f};
  q.zero_points = {static_cast<int64_t>(std::clamp(std::nearbyint(-128.0f - lo / q.scales[0]), -128.0f, 127.0f))};
  q.axis = -1;
  return q;
}

namespace {

// int32 bias of scale s_x * s_w[c], which the file leaves implied; the rounding error is below
// half a step of the accumulator.
void quantize_bias(TensorDescription& bias, float input_scale, const Quantization& weights) {
  const std::vector<float> values = float_values(bias);
  bias.data.resize(values.size() * 4);
  for (std::size_t c = 0; c < values.size(); ++c) {
    const float scale = input_scale * weights.scales[weights.axis == 0 ? c : 0];
    const double v = std::nearbyint(double{values[c]} / scale);
    const auto i = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
    std::memcpy(&bias.data[4 * c], &i, 4);
  }
  bias.dtype = DType::int32;
  bias.quantization = {};
}

}  // namespace

void quantize_model(ModelDescription& d, const std::vector<TensorRange>& ranges, const Int8Options& options) {
  if (ranges.size() != d.tensors.size()) {
    throw Error(ErrorCode::invalid_argument, "calibration ranges cover " + std::to_string(ranges.size()) +
                                                 " tensors, the model has " + std::to_string(d.tensors.size()));
  }
  // Who reads each tensor: a weighted op's output that only a relu reads takes the relu's range.
  std::vector<int> readers(d.tensors.size(), 0), relu_reader(d.tensors.size(), -1);
  // Tensors that only float-only ops (sigmoid, tanh) read: int8 there would be dequantised at once.
  std::vector<bool> read_as_float(d.tensors.size(), true);
  for (const Op& op : d.ops) {
    for (int input : op.inputs) {
      if (input < 0) continue;
      ++readers[input];
      if (op.kind == OpKind::relu) relu_reader[input] = op.outputs[0];
      if (op_def(op.kind).int8 != Int8Form::float_only) read_as_float[input] = false;
    }
  }
  const int graph_output = d.outputs[0];
  // int8 twins of float tensors (made by quantize ops) and float twins of int8 ones.
  std::vector<int> int8_twin(d.tensors.size(), -1), float_twin(d.tensors.size(), -1);
  std::vector<Op> ops;
  auto as_int8 = [&](int t) {
    if (d.tensors[t].dtype == DType::int8) return t;
    if (int8_twin[t] < 0) {
      TensorDescription q{d.tensors[t].name + "_q", d.tensors[t].shape, DType::int8, {}, activation_quantization(ranges[t])};
      d.tensors.push_back(std::move(q));
      int8_twin[t] = static_cast<int>(d.tensors.size()) - 1;
      ops.push_back({OpKind::quantize, {t}, {int8_twin[t]}, {}});
    }
    return int8_twin[t];
  };
  auto as_float = [&](int t) {
    if (d.tensors[t].dtype != DType::int8) return t;
    if (float_twin[t] < 0) {
      d.tensors.push_back({d.tensors[t].name + "_f", d.tensors[t].shape, DType::float32, {}, {}});
      float_twin[t] = static_cast<int>(d.tensors.size()) - 1;
      ops.push_back({OpKind::dequantize, {t}, {float_twin[t]}, {}});
    }
    return float_twin[t];
  };
  const auto is_graph_input = [&](int t) { return std::find(d.inputs.begin(), d.inputs.end(), t) != d.inputs.end(); };
  for (Op op : std::vector<Op>(d.ops)) {
    const int y = op.outputs[0];
    // What the op becomes is its op file's to say (ops/op_table.h, Int8Form).
    const Int8Form form = op_def(op.kind).int8;
    switch (form) {
      case Int8Form::float_only:
        op.inputs[0] = as_float(op.inputs[0]);
        ops.push_back(op);
        continue;
      case Int8Form::weighted:
        if (is_graph_input(op.inputs[0]) ||
            (options.float_output_layer && ((read_as_float[y] && readers[y] > 0) || y == graph_output)) ||
            std::find(options.float_layers.begin(), options.float_layers.end(), d.tensors[op.inputs[1]].name) !=
                options.float_layers.end()) {
          // The latent stays float: this op gets int8 weights and a half bias, as in int8-weights.
          // So does the output layer when asked (Int8Options).
          op.inputs[0] = as_float(op.inputs[0]);
          quantize_tensor(d.tensors[op.inputs[1]], QuantMode::int8_weights);
          if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
            store_as_half(d.tensors[op.inputs[2]]);
          }
          ops.push_back(op);
          continue;
        }
        break;
      case Int8Form::keeps_encoding:
      case Int8Form::conversion:
        if (d.tensors[op.inputs[0]].dtype == DType::float32) {
          ops.push_back(op);  // relu, reshape of a float tensor stay float; int8 starts at a weighted op
          continue;
        }
        break;
    }
    op.inputs[0] = as_int8(op.inputs[0]);
    const TensorDescription& x = d.tensors[op.inputs[0]];
    if (form == Int8Form::weighted) {
      const int fused = readers[y] == 1 ? relu_reader[y] : -1;
      d.tensors[y].quantization = activation_quantization(ranges[fused >= 0 ? fused : y]);
      TensorDescription& weights = d.tensors[op.inputs[1]];
      quantize_tensor(weights, QuantMode::int8_weights);
      if (op.inputs.size() > 2 && op.inputs[2] >= 0) {
        quantize_bias(d.tensors[op.inputs[2]], x.quantization.scales[0], weights.quantization);
      }
    } else {  // relu, reshape: the input's scale and zero point
      d.tensors[y].quantization = x.quantization;
    }
    d.tensors[y].dtype = DType::int8;
    ops.push_back(op);
  }
  if (d.tensors[graph_output].dtype == DType::int8) d.outputs[0] = as_float(graph_output);
  d.ops = std::move(ops);
}

}  // namespace latentkit
