// How an exporter stores a model: float32; float16 or int8 weights with float activations; or
// int8 weights and activations (integer arithmetic, schema/latentkit.fbs). Part of the writer
// library (the runtime reads every form; see Model::load).
#pragma once

#include <string>
#include <vector>

#include "latentkit/calibration.h"
#include "latentkit/model_writer.h"

namespace latentkit {

enum class QuantMode {
  fp32,
  fp16,          // weights as IEEE half floats
  int8_weights,  // weights as int8, one symmetric scale per output channel; activations float
  int8,          // int8 weights per output channel, int8 activations per tensor, int32 bias
};

const char* to_string(QuantMode format);
// "fp32", "fp16", "int8-weights" or "int8"; raises Error(invalid_argument) otherwise.
QuantMode parse_quant_mode(const std::string& name);

// Stores a float32 constant as `format`. int8 uses one symmetric scale per slice along axis 0,
// which is the output channel in every weight layout of the file (fully connected [out, in],
// convolutions OHWI): scale = max |w| / 127 over the slice, rounded up to an IEEE half when it
// is a normal one (the file then stores it in two bytes), q = round(w / scale). fp16 raises
// Error(invalid_argument) for a value beyond half precision's range.
void quantize_tensor(TensorDescription& tensor, QuantMode format);

// Applies `format` to every weight tensor (constants of rank 2 or more); biases become halves
// (fp16 and int8-weights): their rounding, 2^-11 of each value, is far below the weights'.
void quantize_weights(ModelDescription& description, QuantMode format);

// The int8 form of a float model (QuantMode::int8). `ranges` holds each tensor's observed range
// (latentkit/calibration.h, over calibration latents). The latent stays float: a weighted op
// reading a graph input computes in float with int8 weights and a half bias (int8-weights), so
// the user's latents, grids and interpolations keep their resolution; for the seed-000 decoder
// this is the dense layer, 2 multiply-adds per output, where int8 activations would save no time
// while an int32 bias per output would cost 4 bytes against its 2 bytes of weights. From the next
// weighted op to the first float-only op (sigmoid, tanh) every activation is int8 with a
// per-tensor scale and zero point covering its range and 0; quantize / dequantize ops are
// inserted at the borders. A weighted op followed by a relu takes the relu's range, so that the
// relu clips nothing the int8 grid could hold. Weights become int8 per output channel, biases
// int32 with the implied scale s_x * s_w[c].
struct Int8Options {
  // The output layer (a weighted op whose result only a sigmoid or tanh reads, or the graph's
  // output) in float with int8 weights and a half bias, like the first: its int8 output would
  // put the logits on a 256-step grid over their whole range, the largest error of the int8
  // decoder (measured on the default-schedule seed-000 CVAE: 36.6 dB PSNR against fp32 all-int8,
  // 40.5 dB with this; the exporter sets it). Off, every weighted op after the first is integer.
  bool float_output_layer = false;
  // Further layers kept float with int8 weights, named by their weight tensor.
  std::vector<std::string> float_layers;
};
void quantize_model(ModelDescription& description, const std::vector<TensorRange>& ranges,
                    const Int8Options& options = {});

// The int8 scale and zero point that cover [min(lo, 0), max(hi, 0)].
Quantization activation_quantization(TensorRange range);

}  // namespace latentkit
