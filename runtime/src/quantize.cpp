#include "latentkit/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "latentkit/error.h"

namespace latentkit {

const char* to_string(WeightFormat format) {
  switch (format) {
    case WeightFormat::fp32: return "fp32";
    case WeightFormat::fp16: return "fp16";
    case WeightFormat::int8_weights: return "int8-weights";
  }
  return "?";
}

WeightFormat parse_weight_format(const std::string& name) {
  for (WeightFormat f : {WeightFormat::fp32, WeightFormat::fp16, WeightFormat::int8_weights}) {
    if (name == to_string(f)) return f;
  }
  throw Error(ErrorCode::invalid_argument,
              "unknown weight format '" + name + "' (expected fp32, fp16 or int8-weights)");
}

namespace {

std::vector<float> float_values(const TensorDescription& t) {
  std::vector<float> values(t.data.size() / sizeof(float));
  std::memcpy(values.data(), t.data.data(), t.data.size());
  return values;
}

}  // namespace

void quantize_tensor(TensorDescription& tensor, WeightFormat format) {
  if (format == WeightFormat::fp32) return;
  if (tensor.dtype != DType::float32 || tensor.data.empty()) {
    throw Error(ErrorCode::invalid_argument, "only float32 constants can be quantised; '" + tensor.name + "' is not one");
  }
  const std::vector<float> values = float_values(tensor);
  if (format == WeightFormat::fp16) {
    tensor.data.resize(values.size() * 2);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const uint16_t half = float_to_half(values[i]);
      std::memcpy(&tensor.data[2 * i], &half, 2);
    }
    tensor.dtype = DType::float16;
    return;
  }
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
    const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    q.scales.push_back(scale);  // symmetric: no zero points stored (they default to 0)
    for (std::size_t i = 0; i < per_channel; ++i) {
      const float v = std::nearbyint(values[c * per_channel + i] / scale);
      tensor.data[c * per_channel + i] = static_cast<uint8_t>(static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f)));
    }
  }
  tensor.dtype = DType::int8;
  tensor.quantization = std::move(q);
}

void quantize_weights(ModelDescription& description, WeightFormat format) {
  for (TensorDescription& t : description.tensors) {
    if (!t.data.empty() && t.shape.size() >= 2) quantize_tensor(t, format);
  }
}

}  // namespace latentkit
