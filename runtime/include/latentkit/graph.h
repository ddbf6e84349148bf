// The in-memory form of a model file, as the backends see it.
//
// A Graph is a list of tensors and a list of ops in topological order; ops refer to tensors by
// index. It is produced by Model::load (after every check has passed) and is read-only from
// then on. Constant tensors point into the model's bytes; nothing here owns memory.
//
// Layout conventions (the same as the file format, see schema/latentkit.fbs):
// - activation shapes are per example; the batch dimension is implicit and leading;
// - images are HWC; convolution weights are OHWI; fully connected weights are [out, in].
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace latentkit {

enum class DType { float32, float16, int8, int32 };

const char* to_string(DType dtype);
std::size_t size_of(DType dtype);

struct Quantization {
  std::vector<float> scales;        // one (per-tensor) or one per channel along `axis`
  std::vector<int64_t> zero_points;
  int axis = -1;
};

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::float32;  // as stored in the file
  const void* data = nullptr;    // the stored bytes; null for activations
  std::size_t bytes = 0;         // size of `data`
  Quantization quantization;
  // The constant as float32: the file's own bytes for float32 tensors; for float16 and int8 ones
  // a copy widened (dequantised) once at load, owned by the Model.
  const float* values = nullptr;

  bool is_constant() const { return data != nullptr; }
  int64_t elements() const;
  const float* f32() const { return values; }
};

enum class OpKind {
  fully_connected,
  reshape,
  conv2d,
  transpose_conv2d,
  relu,
  sigmoid,
  tanh,
  quantize,    // float32 -> int8 activations
  dequantize,  // int8 -> float32 activations
  max_pool2d,          // optional second output: int32 indices in the input plane
  max_unpool2d,        // values and a max_pool2d's int32 indices -> a zeroed plane
  upsample_nearest2d,  // whole scale factors per axis
};

// Every op kind the runtime knows, in the order of the file format's OpOptions union. Tests and
// tools take the list of ops from here (runtime/src/ops/op_table.cpp holds it).
const std::vector<OpKind>& all_op_kinds();

const char* to_string(OpKind kind);

// Fully connected, convolution and transposed convolution: the ops with weights (and an optional
// bias) as their second and third inputs.
bool is_weighted(OpKind kind);

// Window parameters shared by convolution and transposed convolution. For a convolution the
// adjustment is always 0; for a transposed convolution the dilation is always 1.
struct Window {
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int adjustment_h = 0, adjustment_w = 0;
};

// Output size along one axis, as schema/latentkit.fbs defines it; 0 when the window leaves
// nothing. The loader, both backends and the tests all size outputs with these two.
int64_t conv2d_output_size(int64_t in, int64_t kernel, int stride, int dilation, int pad_before,
                           int pad_after);
int64_t transpose_conv2d_output_size(int64_t in, int64_t kernel, int stride, int pad_before,
                                     int pad_after, int adjustment);

struct Op {
  OpKind kind = OpKind::relu;
  std::vector<int> inputs;   // tensor indices; -1 marks an absent optional input (bias)
  std::vector<int> outputs;  // one, or for max_pool2d two (values, indices) when it has indices
  Window window;             // conv2d, transpose_conv2d, max_pool2d (strides and paddings)
  // max_pool2d: the window's size (the convolutions take theirs from their weights).
  int kernel_h = 1, kernel_w = 1;
  // upsample_nearest2d: the scale factors.
  int scale_h = 1, scale_w = 1;
  // max_unpool2d: the output's height and width (the plane its indices count in).
  int height = 0, width = 0;
};

// What Model::load guarantees of every Graph it hands out, so that backends need not check
// again (the loader is the one place that validates):
// - one input (the latents, shape [L]) and one output (the image, [H, W, C]), both activations;
// - ops in topological order, each with one output (max_pool2d: one or two), activations written
//   by no other op; tensor indices in range;
// - fully_connected, conv2d and transpose_conv2d have exactly 3 inputs: the activation, the
//   constant weights and the constant bias, or -1 for no bias; max_unpool2d has 2 activations
//   (values, int32 indices); other ops have 1 input;
// - shapes consistent op to op: fully connected [in] -> [out] with weights [out, in];
//   convolutions [H, W, Cin] -> [OH, OW, Cout] with OHWI weights and the output size of
//   conv2d_output_size / transpose_conv2d_output_size (at least 1); element-wise ops keep the
//   shape, reshape keeps the element count; bias [out];
// - strides and dilations >= 1, paddings >= 0, adjustment < stride (transposed only);
// - constants have bytes == elements x size_of(dtype); float32 constants are aligned for float,
//   and every constant's float32 values are in `values` (float16, int8 and int32 ones widened
//   at load);
// - activations are float32, or int8 quantised per tensor; the graph's input and output are
//   float32; quantize / dequantize go between the two; sigmoid and tanh are float32 only; relu,
//   reshape, max_pool2d and upsample_nearest2d keep their input's encoding; int32 activations
//   are max_pool2d's indices, which only max_unpool2d reads (float32 values, float32 output);
// - max_pool2d windows hold at least one input position each; max_unpool2d's output is
//   [height, width, C]; its indices are checked against that plane when it runs, not at load;
// - a weighted op is either float (float32 activations; weights of any dtype, used through
//   `values`) or integer (int8 activations, int8 symmetric weights per output channel or per
//   tensor, int32 bias of scale s_x * s_w[c]), with the arithmetic of schema/latentkit.fbs.
struct Graph {
  std::vector<Tensor> tensors;
  std::vector<Op> ops;
  std::vector<int> inputs;
  std::vector<int> outputs;
};

// The work of one op for one example: multiply-adds of a weighted op (every kernel tap of every
// output, as the reference backend computes them), one per element otherwise. Saturates at
// INT64_MAX; the loader bounds the graph's total (ModelLimits::max_multiply_adds).
int64_t multiply_adds(const Graph& graph, const Op& op);

// An op's options for people: "stride 2x2, pad 1,1,1,1, dilation 1x1" for a convolution;
// empty for ops without options.
std::string describe_options(const Op& op);

enum class LatentKind { gaussian, categorical };

// A prior over a Gaussian group's dimensions fitted after training (the file's GAUSSIAN_MIXTURE
// kind): K components with diagonal covariance. means and variances are K x size, row-major.
// Loaded: K >= 1, weights finite and positive summing to 1 within 1e-4, means finite, variances
// finite and positive.
struct GaussianMixture {
  std::vector<float> weights;
  std::vector<float> means;
  std::vector<float> variances;

  int components() const { return static_cast<int>(weights.size()); }
};

// What Model::load guarantees of a latent spec: every group has size >= 1; a Gaussian group has
// count 1 and no labels; a categorical group's labels are absent or one per category; the
// groups' dimensions add up to the decoder input's size, which the limits bound. A Gaussian
// group with a mixture is sampled from it instead of N(0, I); everything else (grids, offsets,
// the decoder's input) treats it as any Gaussian group. A categorical group with category
// weights draws its categories from them.
struct LatentGroup {
  LatentKind kind = LatentKind::gaussian;
  std::string name;
  int size = 0;   // gaussian: dimensions; categorical: categories per group
  int count = 1;  // categorical: number of groups (each one-hot over `size`); gaussian: 1
  std::vector<std::string> labels;
  GaussianMixture mixture;  // gaussian only; no components: the standard normal prior
  // categorical only: count x size probabilities, each variable's row summing to 1 (a prior
  // fitted after training: the share of training images whose posterior picks each category);
  // empty: uniform, the prior of training.
  std::vector<float> category_weights;

  int64_t dims() const { return int64_t{size} * count; }
};

struct LatentSpec {
  std::vector<LatentGroup> groups;

  // The decoder input's size. Computed in 64 bits; a spec the loader has not checked that adds
  // up past INT_MAX gives INT_MAX rather than wrapping.
  int dims() const;
};

enum class ValueRange { unit, symmetric };

struct ImageSpec {
  int height = 0, width = 0, channels = 0;
  ValueRange range = ValueRange::unit;

  int64_t pixels() const { return int64_t{height} * width * channels; }
};

struct Metric {
  std::string name;
  double value = 0;
};

struct Provenance {
  std::string model_family;
  std::string dataset;
  int epochs = 0;
  std::string trainer_version;
  std::string created_utc;
  std::vector<Metric> metrics;
  std::vector<std::string> labels;
  std::string quantization;

  // The metric called `name`, or nullptr.
  const Metric* metric(const std::string& name) const;
};

// IEEE-754 half precision to single, exactly (subnormals, infinities and NaN included).
float half_to_float(uint16_t half);
// Single to half precision, rounding to nearest even; overflow gives infinity.
uint16_t float_to_half(float value);

}  // namespace latentkit
