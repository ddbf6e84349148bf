// Decoder models for tests: written op by op (DecoderBuilder), drawn at random from a seed
// (random_model), or in the shape of the seed-000 convolutional VAE (seed000_decoder).
//
// Every model is valid by construction: shapes follow the op definitions in
// schema/latentkit.fbs, the latent spec is one Gaussian group of the input's size and the image
// spec is the output's shape. Randomness comes from std::mt19937_64, whose sequence the C++
// standard fixes, mapped to numbers by our own code (the standard distributions are not
// specified bit for bit), so a seed gives the same model on every platform.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "latentkit/graph.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"

namespace latentkit::testing {

// Appends ops to a decoder graph, tracking the current activation (initially the latents).
// Weights are given in the file's layouts: fully connected [out, in], convolutions OHWI. An
// empty bias means "no bias" (input -1).
class DecoderBuilder {
 public:
  explicit DecoderBuilder(int latent_dims);

  const std::vector<int64_t>& shape() const;  // per-example shape of the current activation

  void fully_connected(int out, const std::vector<float>& weights,
                       const std::vector<float>& bias = {});
  void reshape(const std::vector<int64_t>& shape);
  // Output channels, kernel size and window; the output shape follows from the input's.
  void conv2d(int out_channels, int kernel_h, int kernel_w, const Window& window,
              const std::vector<float>& weights, const std::vector<float>& bias = {});
  void transpose_conv2d(int out_channels, int kernel_h, int kernel_w, const Window& window,
                        const std::vector<float>& weights, const std::vector<float>& bias = {});
  void activation(OpKind kind);  // relu, sigmoid or tanh
  // Max pooling over a kernel_h x kernel_w window (stride and padding from `window`); with
  // indices, returns the tensor index of its int32 indices (for max_unpool2d), else -1.
  int max_pool2d(int kernel_h, int kernel_w, const Window& window, bool with_indices);
  // Scatters the current activation by `indices` into a zeroed [height, width, C] plane.
  void max_unpool2d(int indices, int height, int width);
  void upsample_nearest2d(int scale_h, int scale_w);

  // The current activation (which must be [H, W, C]) becomes the image.
  ModelDescription finish(ValueRange range = ValueRange::unit);

 private:
  void add_window_op(OpKind kind, int out_channels, int kernel_h, int kernel_w,
                     const Window& window, const std::vector<float>& weights,
                     const std::vector<float>& bias);
  int next_activation(std::vector<int64_t> shape);
  std::string next_name(const char* what);

  ModelDescription description_;
  int current_;  // tensor index of the current activation
};

// Uniform numbers for tests, from the standard-specified engine.
double uniform(std::mt19937_64& rng, double lo, double hi);
int uniform_int(std::mt19937_64& rng, int lo, int hi);  // inclusive
// `count` weights uniform in +-sqrt(3 / fan_in): variance 1 / fan_in, so outputs stay O(1).
std::vector<float> random_weights(std::mt19937_64& rng, int64_t count, int64_t fan_in);

// A random valid decoder: latents -> 1 or 2 fully connected layers -> reshape to a small image
// -> 2 to 4 convolutions and transposed convolutions (at least one of each; kernels 1..4,
// strides 1..3, dilation 1..2, asymmetric padding, adjustment below the stride, with and
// without bias) -> maybe a flatten / fully connected / reshape detour, with relu, sigmoid and
// tanh each used at least once; then max pooling (kernels 1..3, strides up to the kernel, padding
// up to half the kernel) after one window op and nearest upsampling (scales 1..3 per axis) after
// one, and at the end a max pooling with indices (stride = kernel, no padding: the form XNNPACK
// computes exactly, on a sigmoid's or tanh's float output so that the int8 form keeps it float)
// and the max unpooling back to its input's size. Sizes are small and odd on purpose (latents 1..6, 1..5
// channels, images up to about 24 x 24). Candidates whose image does not depend on the latents
// (all ReLUs dead, saturated sigmoids), judged by running the reference backend, are drawn
// again, so that comparing backends on the result is never vacuous.
ModelDescription random_model(uint64_t seed);

// random_model(seed) with int8 activations (quantize_model, calibrated on 200 latents sampled
// from the seed): its weighted ops become integer ops between quantize and dequantize ops, relu
// and reshape between them run on int8, sigmoid and tanh stay float. The float and the int8
// model of a seed use every op kind between them (all_op_kinds(); the backend tests check it).
ModelDescription random_int8_model(uint64_t seed);

// The decoder of the seed-000 convolutional VAE with random weights: latents -> FC 1568 -> relu
// -> reshape 7x7x32 -> tconv 64 s2 p1 adj1 -> relu -> tconv 32 s2 p1 adj1 -> relu -> tconv 1 s1
// p1 -> sigmoid, a 28x28x1 image. Kernels are 3x3.
ModelDescription seed000_decoder(uint64_t seed, int latent_dims = 2);

// The same decoder over the latent groups `groups` (Gaussian and categorical, with or without
// labels): what a discrete or joint VAE's file declares, for tests of choosing categories.
ModelDescription seed000_decoder(uint64_t seed, const std::vector<LatentGroup>& groups);

// One line per op ("2: conv2d [5,7,3] -> [3,4,2] k3x2 s2x1 d1x2 p1,0,0,1 bias"), for test logs.
std::string describe(const ModelDescription& description);

}  // namespace latentkit::testing
