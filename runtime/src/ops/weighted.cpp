#include "ops/weighted.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "ops/rules.h"

namespace latentkit::ops {
namespace {

using detail::malformed;

// The integer form of a weighted op (schema/latentkit.fbs): int8 in and out, int8 symmetric
// weights per output channel (or per tensor), an int32 bias whose scale is s_x * s_w[c].
void check_integer_op(const Tensor& x, const Tensor& w, Tensor* bias, const Tensor& y, const std::string& what) {
  expect_dtypes(x, DType::int8, y, DType::int8, what);
  if (w.dtype != DType::int8 || (w.quantization.axis != 0 && w.quantization.axis != -1)) {
    malformed(what + ": with int8 activations the weights '" + w.name +
              "' must be int8, quantised per output channel (axis 0) or per tensor");
  }
  for (int64_t z : w.quantization.zero_points) {
    if (z != 0) malformed(what + ": int8 weights '" + w.name + "' must be symmetric (zero point 0)");
  }
  if (bias == nullptr) return;
  if (bias->dtype != DType::int32) {
    malformed(what + ": with int8 activations the bias '" + bias->name + "' must be int32");
  }
  const int64_t channels = w.shape[0];
  Quantization implied;
  implied.axis = 0;
  implied.zero_points.assign(static_cast<std::size_t>(channels), 0);
  const Quantization& stored = bias->quantization;  // from the file, or an earlier op's
  for (int64_t c = 0; c < channels; ++c) {
    const float expected = x.quantization.scales[0] * w.quantization.scales[w.quantization.axis == 0 ? c : 0];
    if (!stored.scales.empty()) {
      const float bs = stored.scales[stored.axis == 0 ? c : 0];
      if (std::fabs(bs - expected) > 1e-6f * expected) {
        malformed(what + ": bias '" + bias->name + "' channel " + std::to_string(c) + " has scale " +
                  std::to_string(bs) + " but input scale x weight scale is " + std::to_string(expected));
      }
    }
    implied.scales.push_back(expected);
  }
  bias->quantization = std::move(implied);
}

}  // namespace

void check_weighted(std::vector<Tensor>& tensors, Op& op, const std::string& what) {
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  const Tensor& w = tensors[static_cast<std::size_t>(op.inputs[1])];
  expect_constant(w, true, what, "weights");
  if (w.dtype == DType::int32) {
    malformed(what + ": weights '" + w.name + "' are int32; weights are float32, float16 or int8");
  }
  if (op.inputs.size() == 2) op.inputs.push_back(-1);
  const int64_t out_channels = w.shape[0];
  Tensor* bias = op.inputs[2] != -1 ? &tensors[static_cast<std::size_t>(op.inputs[2])] : nullptr;
  if (bias != nullptr) {
    expect_constant(*bias, true, what, "bias");
    expect_shape(*bias, {out_channels}, what, "bias");
  }
  if (x.dtype == DType::int8) {
    check_integer_op(x, w, bias, y, what);
  } else {
    expect_dtypes(x, DType::float32, y, DType::float32, what);
    if (bias != nullptr && bias->dtype == DType::int32) {
      malformed(what + ": an int32 bias belongs to an op with int8 input and output");
    }
  }
}

// What the integer arithmetic of schema/latentkit.fbs needs to be defined: a finite, positive
// requantisation multiplier per channel, and an int32 accumulator that cannot overflow for
// any input (|x - z_x| <= 255, so |acc| <= |bias[c]| + 255 * sum |w[c, :]|).
void check_integer_constants(const Graph& graph, const Op& op, const std::string& what) {
  const auto tensor = [&](int i) -> const Tensor& { return graph.tensors[static_cast<std::size_t>(i)]; };
  const Tensor& x = tensor(op.inputs[0]);
  if (x.dtype != DType::int8) return;
  const Tensor& w = tensor(op.inputs[1]);
  const Tensor& y = tensor(op.outputs[0]);
  const Tensor* bias = op.inputs[2] != -1 ? &tensor(op.inputs[2]) : nullptr;
  const int64_t channels = w.shape[0];
  const int64_t per_channel = w.elements() / channels;
  const auto* weights = static_cast<const int8_t*>(w.data);
  for (int64_t c = 0; c < channels; ++c) {
    const float weight_scale = w.quantization.scales[w.quantization.axis == 0 ? c : 0];
    const float multiplier = x.quantization.scales[0] * weight_scale / y.quantization.scales[0];
    if (!(multiplier > 0) || !std::isfinite(multiplier)) {
      malformed(what + ": channel " + std::to_string(c) + " has requantisation multiplier " +
                std::to_string(multiplier) + " (input scale x weight scale / output scale); it must be finite and positive");
    }
    int64_t bound = 0;
    for (int64_t k = 0; k < per_channel; ++k) bound += std::abs(int64_t{weights[c * per_channel + k]});
    bound *= 255;
    if (bias != nullptr && bias->dtype == DType::int32) {
      int32_t b;
      std::memcpy(&b, static_cast<const uint8_t*>(bias->data) + 4 * c, 4);
      bound += std::abs(int64_t{b});
    }
    if (bound > std::numeric_limits<int32_t>::max()) {
      malformed(what + ": channel " + std::to_string(c) + " can accumulate up to " + std::to_string(bound) +
                " (|bias| + 255 x sum |weights|), past the int32 accumulator");
    }
  }
}

IntegerArithmetic integer_arithmetic(ReferenceProgram& program, const Op& op) {
  const Tensor& x = program.tensor(op.inputs[0]);
  const Tensor& w = program.tensor(op.inputs[1]);
  const Tensor& y = program.tensor(op.outputs[0]);
  IntegerArithmetic math;
  math.bias = has_bias(op) ? static_cast<const int32_t*>(program.tensor(op.inputs[2]).data) : nullptr;
  math.input_zero = static_cast<int32_t>(x.quantization.zero_points[0]);
  math.output_zero = static_cast<int32_t>(y.quantization.zero_points[0]);
  std::vector<float>& multipliers = program.kept.emplace_back();
  for (int64_t c = 0; c < w.shape[0]; ++c) {
    const float weight_scale = w.quantization.scales[w.quantization.axis == 0 ? c : 0];
    multipliers.push_back(x.quantization.scales[0] * weight_scale / y.quantization.scales[0]);
  }
  math.multipliers = multipliers.data();
  return math;
}

FloatArithmetic float_arithmetic(ReferenceProgram& program, const Op& op) {
  FloatArithmetic math;
  math.bias = has_bias(op) ? program.tensor(op.inputs[2]).f32() : nullptr;
  return math;
}

}  // namespace latentkit::ops
