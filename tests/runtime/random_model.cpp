#include "runtime/random_model.h"

#include "latentkit/backend.h"
#include "latentkit/calibration.h"
#include "latentkit/latents.h"
#include "latentkit/quantize.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace latentkit::testing {

namespace {

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DecoderBuilder

DecoderBuilder::DecoderBuilder(int latent_dims) {
  LatentGroup group;
  group.kind = LatentKind::gaussian;
  group.name = "z";
  group.size = latent_dims;
  description_.latent.groups.push_back(group);
  description_.provenance.model_family = "test";
  current_ = description_.add_activation("latents", {latent_dims});
  description_.inputs = {current_};
}

const std::vector<int64_t>& DecoderBuilder::shape() const {
  return description_.tensors[static_cast<std::size_t>(current_)].shape;
}

std::string DecoderBuilder::next_name(const char* what) {
  return "op" + std::to_string(description_.ops.size()) + "_" + what;
}

int DecoderBuilder::next_activation(std::vector<int64_t> shape) {
  return description_.add_activation(next_name("out"), std::move(shape));
}

void DecoderBuilder::fully_connected(int out, const std::vector<float>& weights,
                                     const std::vector<float>& bias) {
  if (shape().size() != 1) throw std::logic_error("fully_connected needs a rank-1 input");
  const int64_t in = shape()[0];
  Op op;
  op.kind = OpKind::fully_connected;
  const int w = description_.add_constant(next_name("weights"), {out, in}, weights);
  const int b = bias.empty() ? -1 : description_.add_constant(next_name("bias"), {out}, bias);
  op.inputs = {current_, w, b};
  current_ = next_activation({out});
  op.outputs = {current_};
  description_.ops.push_back(op);
}

void DecoderBuilder::reshape(const std::vector<int64_t>& new_shape) {
  if (elements(new_shape) != elements(shape())) throw std::logic_error("reshape changes size");
  Op op;
  op.kind = OpKind::reshape;
  op.inputs = {current_};
  current_ = next_activation(new_shape);
  op.outputs = {current_};
  description_.ops.push_back(op);
}

void DecoderBuilder::conv2d(int out_channels, int kernel_h, int kernel_w, const Window& window,
                            const std::vector<float>& weights, const std::vector<float>& bias) {
  add_window_op(OpKind::conv2d, out_channels, kernel_h, kernel_w, window, weights, bias);
}

void DecoderBuilder::transpose_conv2d(int out_channels, int kernel_h, int kernel_w,
                                      const Window& window, const std::vector<float>& weights,
                                      const std::vector<float>& bias) {
  add_window_op(OpKind::transpose_conv2d, out_channels, kernel_h, kernel_w, window, weights,
                bias);
}

void DecoderBuilder::add_window_op(OpKind kind, int out_channels, int kernel_h, int kernel_w,
                                   const Window& window, const std::vector<float>& weights,
                                   const std::vector<float>& bias) {
  if (shape().size() != 3) throw std::logic_error("a convolution needs an [H, W, C] input");
  const int64_t h = shape()[0], w = shape()[1], c = shape()[2];
  const Window& s = window;
  const int64_t oh =
      kind == OpKind::conv2d
          ? conv2d_output_size(h, kernel_h, s.stride_h, s.dilation_h, s.pad_top, s.pad_bottom)
          : transpose_conv2d_output_size(h, kernel_h, s.stride_h, s.pad_top, s.pad_bottom,
                                         s.adjustment_h);
  const int64_t ow =
      kind == OpKind::conv2d
          ? conv2d_output_size(w, kernel_w, s.stride_w, s.dilation_w, s.pad_left, s.pad_right)
          : transpose_conv2d_output_size(w, kernel_w, s.stride_w, s.pad_left, s.pad_right,
                                         s.adjustment_w);
  if (oh < 1 || ow < 1) throw std::logic_error("window leaves an empty output");
  Op op;
  op.kind = kind;
  op.window = window;
  const int weights_index =
      description_.add_constant(next_name("weights"), {out_channels, kernel_h, kernel_w, c}, weights);
  const int bias_index =
      bias.empty() ? -1 : description_.add_constant(next_name("bias"), {out_channels}, bias);
  op.inputs = {current_, weights_index, bias_index};
  current_ = next_activation({oh, ow, out_channels});
  op.outputs = {current_};
  description_.ops.push_back(op);
}

void DecoderBuilder::activation(OpKind kind) {
  Op op;
  op.kind = kind;
  op.inputs = {current_};
  current_ = next_activation(shape());
  op.outputs = {current_};
  description_.ops.push_back(op);
}

int DecoderBuilder::max_pool2d(int kernel_h, int kernel_w, const Window& window, bool with_indices) {
  if (shape().size() != 3) throw std::logic_error("max_pool2d needs an [H, W, C] input");
  const Window& s = window;
  const int64_t oh = conv2d_output_size(shape()[0], kernel_h, s.stride_h, 1, s.pad_top, s.pad_bottom);
  const int64_t ow = conv2d_output_size(shape()[1], kernel_w, s.stride_w, 1, s.pad_left, s.pad_right);
  if (oh < 1 || ow < 1) throw std::logic_error("pooling window leaves an empty output");
  Op op;
  op.kind = OpKind::max_pool2d;
  op.window = window;
  op.kernel_h = kernel_h;
  op.kernel_w = kernel_w;
  op.inputs = {current_};
  const std::vector<int64_t> out{oh, ow, shape()[2]};
  current_ = next_activation(out);
  op.outputs = {current_};
  int indices = -1;
  if (with_indices) {
    indices = static_cast<int>(description_.tensors.size());
    description_.tensors.push_back({next_name("indices"), out, DType::int32, {}, {}});
    op.outputs.push_back(indices);
  }
  description_.ops.push_back(op);
  return indices;
}

void DecoderBuilder::max_unpool2d(int indices, int height, int width) {
  if (shape().size() != 3) throw std::logic_error("max_unpool2d needs an [H, W, C] input");
  Op op;
  op.kind = OpKind::max_unpool2d;
  op.height = height;
  op.width = width;
  op.inputs = {current_, indices};
  current_ = next_activation({height, width, shape()[2]});
  op.outputs = {current_};
  description_.ops.push_back(op);
}

void DecoderBuilder::upsample_nearest2d(int scale_h, int scale_w) {
  if (shape().size() != 3) throw std::logic_error("upsample_nearest2d needs an [H, W, C] input");
  Op op;
  op.kind = OpKind::upsample_nearest2d;
  op.scale_h = scale_h;
  op.scale_w = scale_w;
  op.inputs = {current_};
  current_ = next_activation({shape()[0] * scale_h, shape()[1] * scale_w, shape()[2]});
  op.outputs = {current_};
  description_.ops.push_back(op);
}

ModelDescription DecoderBuilder::finish(ValueRange range) {
  if (shape().size() != 3) throw std::logic_error("the image must be [H, W, C]");
  description_.outputs = {current_};
  description_.image.height = static_cast<int>(shape()[0]);
  description_.image.width = static_cast<int>(shape()[1]);
  description_.image.channels = static_cast<int>(shape()[2]);
  description_.image.range = range;
  return description_;
}

// ---------------------------------------------------------------------------------------------
// Random numbers

double uniform(std::mt19937_64& rng, double lo, double hi) {
  const double unit = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
  return lo + (hi - lo) * unit;
}

int uniform_int(std::mt19937_64& rng, int lo, int hi) {
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int>(rng() % span);  // the bias of % is irrelevant for tests
}

std::vector<float> random_weights(std::mt19937_64& rng, int64_t count, int64_t fan_in) {
  const double limit = std::sqrt(3.0 / static_cast<double>(fan_in < 1 ? 1 : fan_in));
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = static_cast<float>(uniform(rng, -limit, limit));
  return values;
}

// ---------------------------------------------------------------------------------------------
// Random models

namespace {

constexpr int64_t kMaxSide = 24;  // keeps the reference backend's loops fast

OpKind random_activation(std::mt19937_64& rng) {
  const OpKind kinds[] = {OpKind::relu, OpKind::sigmoid, OpKind::tanh};
  return kinds[uniform_int(rng, 0, 2)];
}

std::vector<float> maybe_bias(std::mt19937_64& rng, int64_t count) {
  if (uniform_int(rng, 0, 2) == 0) return {};  // a third have no bias
  std::vector<float> bias(static_cast<std::size_t>(count));
  for (float& b : bias) b = static_cast<float>(uniform(rng, -0.5, 0.5));
  return bias;
}

void add_random_fully_connected(DecoderBuilder& b, std::mt19937_64& rng, int out) {
  const int64_t in = b.shape()[0];
  b.fully_connected(out, random_weights(rng, out * in, in), maybe_bias(rng, out));
}

// True when every output position of a convolution along one axis has at least one kernel tap
// inside the input: otherwise parts of the output would not depend on the latents at all.
bool every_output_sees_input(int64_t in, int64_t out, int kernel, int stride, int dilation,
                             int pad_before) {
  for (int64_t o = 0; o < out; ++o) {
    bool seen = false;
    for (int k = 0; k < kernel && !seen; ++k) {
      const int64_t i = o * stride - pad_before + int64_t{k} * dilation;
      seen = i >= 0 && i < in;
    }
    if (!seen) return false;
  }
  return true;
}

// Draws window parameters until the output is between 1 and kMaxSide on both axes (and, for a
// convolution, every output sees the input); falls back to a 1x1 stride-1 window, always valid.
void add_random_window_op(DecoderBuilder& b, std::mt19937_64& rng, bool transposed) {
  const int64_t h = b.shape()[0], w = b.shape()[1], c = b.shape()[2];
  const int out_channels = uniform_int(rng, 1, 5);
  int kh = 1, kw = 1;
  Window win;
  for (int attempt = 0; attempt < 100; ++attempt) {
    Window s;
    const int try_kh = uniform_int(rng, 1, 4), try_kw = uniform_int(rng, 1, 4);
    s.stride_h = uniform_int(rng, 1, 3);
    s.stride_w = uniform_int(rng, 1, 3);
    if (!transposed) {
      s.dilation_h = uniform_int(rng, 1, 2);
      s.dilation_w = uniform_int(rng, 1, 2);
    } else {
      s.adjustment_h = uniform_int(rng, 0, s.stride_h - 1);
      s.adjustment_w = uniform_int(rng, 0, s.stride_w - 1);
    }
    const int max_pad_h = s.dilation_h * (try_kh - 1), max_pad_w = s.dilation_w * (try_kw - 1);
    s.pad_top = uniform_int(rng, 0, max_pad_h);
    s.pad_bottom = uniform_int(rng, 0, max_pad_h);
    s.pad_left = uniform_int(rng, 0, max_pad_w);
    s.pad_right = uniform_int(rng, 0, max_pad_w);
    const int64_t oh = transposed ? transpose_conv2d_output_size(h, try_kh, s.stride_h, s.pad_top,
                                                                 s.pad_bottom, s.adjustment_h)
                                  : conv2d_output_size(h, try_kh, s.stride_h, s.dilation_h,
                                                       s.pad_top, s.pad_bottom);
    const int64_t ow = transposed ? transpose_conv2d_output_size(w, try_kw, s.stride_w,
                                                                 s.pad_left, s.pad_right,
                                                                 s.adjustment_w)
                                  : conv2d_output_size(w, try_kw, s.stride_w, s.dilation_w,
                                                       s.pad_left, s.pad_right);
    const bool sees = transposed ||
                      (every_output_sees_input(h, oh, try_kh, s.stride_h, s.dilation_h, s.pad_top) &&
                       every_output_sees_input(w, ow, try_kw, s.stride_w, s.dilation_w, s.pad_left));
    if (oh >= 1 && ow >= 1 && oh <= kMaxSide && ow <= kMaxSide && sees) {
      kh = try_kh;
      kw = try_kw;
      win = s;
      break;
    }
  }
  const int64_t fan_in = transposed ? c * kh * kw / (win.stride_h * win.stride_w) : c * kh * kw;
  const std::vector<float> weights = random_weights(rng, out_channels * kh * kw * c, fan_in);
  const std::vector<float> bias = maybe_bias(rng, out_channels);
  if (transposed) {
    b.transpose_conv2d(out_channels, kh, kw, win, weights, bias);
  } else {
    b.conv2d(out_channels, kh, kw, win, weights, bias);
  }
}

// Max pooling without indices: kernel 1..3 per axis (not 1x1, which XNNPACK refuses), stride
// 1..kernel, padding up to half the kernel (as PyTorch allows), output at least 1.
void add_random_max_pool(DecoderBuilder& b, std::mt19937_64& rng) {
  const int64_t h = b.shape()[0], w = b.shape()[1];
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int kh = uniform_int(rng, 1, 3), kw = uniform_int(rng, 1, 3);
    if (kh == 1 && kw == 1) continue;
    Window s;
    s.stride_h = uniform_int(rng, 1, kh);
    s.stride_w = uniform_int(rng, 1, kw);
    s.pad_top = uniform_int(rng, 0, kh / 2);
    s.pad_bottom = uniform_int(rng, 0, kh / 2);
    s.pad_left = uniform_int(rng, 0, kw / 2);
    s.pad_right = uniform_int(rng, 0, kw / 2);
    if (conv2d_output_size(h, kh, s.stride_h, 1, s.pad_top, s.pad_bottom) >= 1 &&
        conv2d_output_size(w, kw, s.stride_w, 1, s.pad_left, s.pad_right) >= 1) {
      b.max_pool2d(kh, kw, s, false);
      return;
    }
  }
  // A 1-pixel-wide input and no padding that fits: pad the narrow axis by one on each side.
  Window s;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = 1;
  b.max_pool2d(2, 2, s, false);
}

// Nearest upsampling by 1..3 per axis, keeping the image within kMaxSide.
void add_random_upsample(DecoderBuilder& b, std::mt19937_64& rng) {
  const int64_t h = b.shape()[0], w = b.shape()[1];
  const int sh = uniform_int(rng, 1, 3), sw = uniform_int(rng, 1, 3);
  b.upsample_nearest2d(h * sh <= kMaxSide ? sh : 1, w * sw <= kMaxSide ? sw : 1);
}

// Max pooling with indices in the form XNNPACK computes exactly (stride = kernel, no padding,
// not 1x1), something in between, and the unpooling back to the pooled input's size (the
// plane its indices count in); sizes that the kernel does not divide exercise the rows and
// columns no window covers.
void add_random_pool_unpool(DecoderBuilder& b, std::mt19937_64& rng) {
  if (b.shape()[0] < 2 && b.shape()[1] < 2) b.upsample_nearest2d(2, 2);
  const int64_t h = b.shape()[0], w = b.shape()[1];
  int kh = 1, kw = 1;
  while (kh == 1 && kw == 1) {
    kh = uniform_int(rng, 1, static_cast<int>(std::min<int64_t>(h, 3)));
    kw = uniform_int(rng, 1, static_cast<int>(std::min<int64_t>(w, 3)));
  }
  Window s;
  s.stride_h = kh;
  s.stride_w = kw;
  const int indices = b.max_pool2d(kh, kw, s, true);
  if (uniform_int(rng, 0, 1) == 0) b.activation(OpKind::relu);
  b.max_unpool2d(indices, static_cast<int>(h), static_cast<int>(w));
}

// One random decoder; it may happen not to depend on its latents (see random_model).
ModelDescription random_candidate(std::mt19937_64& rng) {
  DecoderBuilder b(uniform_int(rng, 1, 6));
  bool used_relu = false, used_sigmoid = false, used_tanh = false;
  const auto maybe_activation = [&] {
    if (uniform_int(rng, 0, 3) == 0) return;  // a quarter of the layers are linear
    const OpKind kind = random_activation(rng);
    used_relu |= kind == OpKind::relu;
    used_sigmoid |= kind == OpKind::sigmoid;
    used_tanh |= kind == OpKind::tanh;
    b.activation(kind);
  };

  if (uniform_int(rng, 0, 1) == 0) {
    add_random_fully_connected(b, rng, uniform_int(rng, 2, 9));
    maybe_activation();
  }
  const int64_t h = uniform_int(rng, 1, 7), w = uniform_int(rng, 1, 7), c = uniform_int(rng, 1, 5);
  add_random_fully_connected(b, rng, static_cast<int>(h * w * c));
  maybe_activation();
  b.reshape({h, w, c});

  // 2 to 4 window ops, at least one of each kind, in random order.
  const int count = uniform_int(rng, 2, 4);
  const int conv_at = uniform_int(rng, 0, count - 1);
  int tconv_at = uniform_int(rng, 0, count - 2);
  if (tconv_at >= conv_at) ++tconv_at;
  const int detour_after = uniform_int(rng, -1, count - 1);  // -1: no detour
  const int pool_after = uniform_int(rng, 0, count - 1), upsample_after = uniform_int(rng, 0, count - 1);
  for (int i = 0; i < count; ++i) {
    const bool transposed = i == tconv_at || (i != conv_at && uniform_int(rng, 0, 1) == 0);
    add_random_window_op(b, rng, transposed);
    // Straight after a window op, so that in the int8 form they run on int8.
    if (i == upsample_after) add_random_upsample(b, rng);
    if (i == pool_after) add_random_max_pool(b, rng);
    maybe_activation();
    if (i == detour_after && i + 1 < count) {
      // Flatten, mix the pixels through a fully connected layer, and reshape back.
      const std::vector<int64_t> shape = b.shape();
      const int64_t pixels = shape[0] * shape[1] * shape[2];
      if (pixels <= 300) {
        const int64_t channels = uniform_int(rng, 1, 3);
        b.reshape({pixels});
        add_random_fully_connected(b, rng, static_cast<int>(shape[0] * shape[1] * channels));
        maybe_activation();
        b.reshape({shape[0], shape[1], channels});
      }
    }
  }

  // A float activation first: the int8 form keeps the pooling with indices float (XNNPACK's
  // argmax pooling is float32 only).
  const OpKind squash = uniform_int(rng, 0, 1) == 0 ? OpKind::sigmoid : OpKind::tanh;
  used_sigmoid |= squash == OpKind::sigmoid;
  used_tanh |= squash == OpKind::tanh;
  b.activation(squash);
  add_random_pool_unpool(b, rng);

  if (!used_relu) b.activation(OpKind::relu);
  if (!used_tanh) b.activation(OpKind::tanh);
  if (!used_sigmoid) b.activation(OpKind::sigmoid);
  return b.finish(used_sigmoid ? ValueRange::unit : ValueRange::symmetric);
}

// Whether two different latent vectors give images that differ by more than rounding.
bool depends_on_latents(const ModelDescription& description, std::mt19937_64& rng) {
  const std::vector<uint8_t> bytes = serialize_model(description);
  const Model model = Model::load_bytes(bytes.data(), bytes.size());
  const auto backend = make_reference_backend(model, model.method("decode"), 2);
  const std::size_t dims = static_cast<std::size_t>(model.latent().dims());
  const std::size_t pixels = static_cast<std::size_t>(model.image().pixels());
  std::vector<float> latents(2 * dims), images(2 * pixels);
  for (float& z : latents) z = static_cast<float>(uniform(rng, -2.0, 2.0));
  backend->run(latents.data(), images.data());
  for (std::size_t i = 0; i < pixels; ++i) {
    if (std::fabs(images[i] - images[pixels + i]) > 1e-3f) return true;
  }
  return false;
}

}  // namespace

ModelDescription random_model(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int attempt = 0; attempt < 100; ++attempt) {
    ModelDescription candidate = random_candidate(rng);
    if (depends_on_latents(candidate, rng)) return candidate;
  }
  throw std::logic_error("random_model: no decoder that depends on its latents after 100 tries");
}

ModelDescription random_int8_model(uint64_t seed) {
  ModelDescription description = random_model(seed);
  const std::vector<uint8_t> bytes = serialize_model(description);
  const Model model = Model::load_bytes(bytes.data(), bytes.size());
  quantize_model(description, observe_ranges(model, sample_latents(model.latent(), 200, seed)));
  return description;
}

ModelDescription seed000_decoder(uint64_t seed, int latent_dims) {
  std::mt19937_64 rng(seed);
  DecoderBuilder b(latent_dims);
  const auto bias = [&](int n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = static_cast<float>(uniform(rng, -0.1, 0.1));
    return v;
  };
  b.fully_connected(1568, random_weights(rng, 1568 * latent_dims, latent_dims), bias(1568));
  b.activation(OpKind::relu);
  b.reshape({7, 7, 32});
  Window up;  // stride 2, padding 1, adjustment 1: 7 -> 14 -> 28
  up.stride_h = up.stride_w = 2;
  up.pad_top = up.pad_left = up.pad_bottom = up.pad_right = 1;
  up.adjustment_h = up.adjustment_w = 1;
  // A transposed convolution of stride 2 sums about (3/2)^2 taps per input channel.
  b.transpose_conv2d(64, 3, 3, up, random_weights(rng, 64 * 3 * 3 * 32, 32 * 9 / 4), bias(64));
  b.activation(OpKind::relu);
  b.transpose_conv2d(32, 3, 3, up, random_weights(rng, 32 * 3 * 3 * 64, 64 * 9 / 4), bias(32));
  b.activation(OpKind::relu);
  Window same;  // stride 1, padding 1: 28 -> 28
  same.pad_top = same.pad_left = same.pad_bottom = same.pad_right = 1;
  b.transpose_conv2d(1, 3, 3, same, random_weights(rng, 1 * 3 * 3 * 32, 32 * 9), bias(1));
  b.activation(OpKind::sigmoid);
  return b.finish(ValueRange::unit);
}

ModelDescription seed000_decoder(uint64_t seed, const std::vector<LatentGroup>& groups) {
  LatentSpec spec;
  spec.groups = groups;
  ModelDescription d = seed000_decoder(seed, spec.dims());
  d.latent = spec;
  return d;
}

std::string describe(const ModelDescription& d) {
  std::string s;
  for (std::size_t i = 0; i < d.ops.size(); ++i) {
    const Op& op = d.ops[i];
    const auto& in = d.tensors[static_cast<std::size_t>(op.inputs[0])].shape;
    const auto& out = d.tensors[static_cast<std::size_t>(op.outputs[0])].shape;
    s += std::to_string(i) + ": " + to_string(op.kind) + " " + shape_string(in) + " -> " +
         shape_string(out);
    if (op.kind == OpKind::max_pool2d || op.kind == OpKind::upsample_nearest2d || op.kind == OpKind::max_unpool2d) {
      s += " " + describe_options(op);
    }
    if (op.kind == OpKind::conv2d || op.kind == OpKind::transpose_conv2d) {
      const auto& k = d.tensors[static_cast<std::size_t>(op.inputs[1])].shape;
      const Window& w = op.window;
      s += " k" + std::to_string(k[1]) + "x" + std::to_string(k[2]) + " s" +
           std::to_string(w.stride_h) + "x" + std::to_string(w.stride_w) + " d" +
           std::to_string(w.dilation_h) + "x" + std::to_string(w.dilation_w) + " p" +
           std::to_string(w.pad_top) + "," + std::to_string(w.pad_left) + "," +
           std::to_string(w.pad_bottom) + "," + std::to_string(w.pad_right) + " adj" +
           std::to_string(w.adjustment_h) + "x" + std::to_string(w.adjustment_w);
    }
    if (op.inputs.size() == 3 && op.inputs[2] != -1) s += " bias";
    s += "\n";
  }
  return s;
}

}  // namespace latentkit::testing
