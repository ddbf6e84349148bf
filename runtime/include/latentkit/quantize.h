// How an exporter stores a model's weights: float32, float16, or int8 with one scale per output
// channel. Part of the writer library (the runtime reads every format; see Model::load).
#pragma once

#include <string>

#include "latentkit/model_writer.h"

namespace latentkit {

enum class WeightFormat {
  fp32,
  fp16,          // weights as IEEE half floats
  int8_weights,  // weights as int8, one symmetric scale per output channel; activations float
};

const char* to_string(WeightFormat format);
// "fp32", "fp16" or "int8-weights"; raises Error(invalid_argument) naming the choices otherwise.
WeightFormat parse_weight_format(const std::string& name);

// Stores a float32 constant as `format`. int8 uses one symmetric scale per slice along axis 0,
// which is the output channel in every weight layout of the file (fully connected [out, in],
// convolutions OHWI): scale = max |w| / 127 over the slice, q = round(w / scale).
void quantize_tensor(TensorDescription& tensor, WeightFormat format);

// Applies `format` to every weight tensor (constants of rank 2 or more); biases stay float32:
// they are small, and their error would shift whole channels.
void quantize_weights(ModelDescription& description, WeightFormat format);

}  // namespace latentkit
