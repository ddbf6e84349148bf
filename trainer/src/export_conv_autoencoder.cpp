// The convolutional autoencoder's model-file graph (export_autoencoder.h): libtorch's NCHW layers
// in the runtime's HWC layout, converted once here (layout.h).
#include <stdexcept>
#include <type_traits>

#include "latentkit/quantize.h"
#include "latentkit/trainer/export_autoencoder.h"
#include "latentkit/trainer/export_checks.h"
#include "latentkit/trainer/layout.h"

namespace latentkit::trainer {

namespace {

// A convolution or transposed convolution of `x` ([size, size, in]) and, when `relu`, a ReLU;
// returns the output and sets `size` to its side.
template <typename Layer>
int add_window_layer(ModelDescription& d, std::vector<Op>& ops, const Layer& layer, const std::string& name, int x,
                     int64_t& size, bool relu, const std::string& output_name) {
  const Window window = window_of(layer);
  const int64_t k = (*layer->options.kernel_size())[0];
  const int64_t in = layer->options.in_channels(), out = layer->options.out_channels();
  OpKind kind;
  std::vector<float> weight;
  if constexpr (std::is_same_v<Layer, torch::nn::ConvTranspose2d>) {
    kind = OpKind::transpose_conv2d;
    size = window.stride_h * (size - 1) + k - window.pad_top - window.pad_bottom + window.adjustment_h;
    weight = transpose_conv_weight_to_ohwi(layer->weight);
  } else {
    kind = OpKind::conv2d;
    size = conv2d_output_size(size, k, window.stride_h, window.dilation_h, window.pad_top, window.pad_bottom);
    weight = conv_weight_to_ohwi(layer->weight);
  }
  const int w = d.add_constant(name + ".weight", {out, k, k, in}, weight);
  const int b = d.add_constant(name + ".bias", {out}, to_vector(layer->bias));
  const int y = d.add_activation(relu ? name : output_name, {size, size, out});
  ops.push_back(make_op(kind, {x, w, b}, y, window));
  if (!relu) return y;
  const int r = d.add_activation(output_name, {size, size, out});
  ops.push_back(make_op(OpKind::relu, {y}, r));
  return r;
}

// Each pixel of `x` ([size, size, channels]) repeated 2x2; doubles `size`.
int add_upsample_nearest(ModelDescription& d, std::vector<Op>& ops, int x, int64_t& size, int64_t channels,
                         const std::string& name) {
  size *= 2;
  const int y = d.add_activation(name, {size, size, channels});
  Op op = make_op(OpKind::upsample_nearest2d, {x}, y);
  op.scale_h = op.scale_w = 2;
  ops.push_back(op);
  return y;
}

// Max pooling kConvPool x kConvPool, stride kConvPool, no padding (libtorch's max_pool2d of
// conv_autoencoder.cpp) of `x` ([size, size, channels]) with its int32 indices, returned in
// `indices`; halves `size`.
int add_max_pool(ModelDescription& d, std::vector<Op>& ops, int x, int64_t& size, int64_t channels,
                 const std::string& name, int& indices) {
  size /= kConvPool;
  const int y = d.add_activation(name, {size, size, channels});
  indices = static_cast<int>(d.tensors.size());
  d.tensors.push_back({name + "_indices", {size, size, channels}, DType::int32, {}, {}});
  Op op = make_op(OpKind::max_pool2d, {x}, y);
  op.outputs.push_back(indices);
  op.kernel_h = op.kernel_w = static_cast<int>(kConvPool);
  op.window.stride_h = op.window.stride_w = static_cast<int>(kConvPool);
  ops.push_back(op);
  return y;
}

// `x` ([size, size, channels]) unpooled to the plane `indices` count in; multiplies `size` by
// kConvPool.
int add_max_unpool(ModelDescription& d, std::vector<Op>& ops, int x, int indices, int64_t& size, int64_t channels,
                   const std::string& name) {
  size *= kConvPool;
  const int y = d.add_activation(name, {size, size, channels});
  Op op = make_op(OpKind::max_unpool2d, {x, indices}, y);
  op.height = op.width = static_cast<int>(size);
  ops.push_back(op);
  return y;
}

}  // namespace

ModelDescription describe_conv_autoencoder(ConvAutoencoderImpl& model, const char* family, const RunInfo& info) {
  ModelDescription d;
  const int64_t image = 28, seed = kConvSeedSize, channels = kConvSeedChannels, code_size = model.code_size();
  std::vector<Op> encode_ops, decode_ops;

  const int x = d.add_activation("x", {image, image, 1});
  int64_t size = image;
  const bool unpool = model.upsample() == Upsample::max_unpool;
  int indices1 = -1, indices2 = -1;  // max-unpool: the poolings' switches, read by the unpoolings
  int h = add_window_layer(d, encode_ops, model.enc_conv1, "enc_conv1", x, size, true, "enc_conv1_relu");
  if (unpool) h = add_max_pool(d, encode_ops, h, size, kConvHiddenChannels, "enc_pool1", indices1);
  h = add_window_layer(d, encode_ops, model.enc_conv2, "enc_conv2", h, size, true, "enc_conv2_relu");
  if (unpool) h = add_max_pool(d, encode_ops, h, size, channels, "enc_pool2", indices2);
  if (size != seed) throw std::logic_error("the conv-ae encoder's convolutions give " + std::to_string(size));
  const int64_t features = seed * seed * channels;
  const int flat = d.add_activation("enc_features", {features});
  encode_ops.push_back(make_op(OpKind::reshape, {h}, flat));
  // libtorch flattens [64, 7, 7]; the runtime flattens [7, 7, 64]: the dense columns follow.
  const int enc_w = d.add_constant("enc_dense.weight", {code_size, features},
                                   to_vector(chw_columns_to_hwc(model.enc_dense->weight, channels, seed, seed)));
  const int enc_b = d.add_constant("enc_dense.bias", {code_size}, to_vector(model.enc_dense->bias));
  const int code = d.add_activation("code", {code_size});
  encode_ops.push_back(make_op(OpKind::fully_connected, {flat, enc_w, enc_b}, code));

  // libtorch views the dense output as [64, 7, 7]; the runtime reads it as [7, 7, 64].
  const int dec_w = d.add_constant("dec_dense.weight", {features, code_size},
                                   to_vector(chw_rows_to_hwc(model.dec_dense->weight, channels, seed, seed)));
  const int dec_b = d.add_constant("dec_dense.bias", {features},
                                   to_vector(chw_rows_to_hwc(model.dec_dense->bias, channels, seed, seed)));
  const int dense = d.add_activation("dec_dense", {features});
  const int dense_relu = d.add_activation("dec_dense_relu", {features});
  const int seed_map = d.add_activation("seed", {seed, seed, channels});
  decode_ops.push_back(make_op(OpKind::fully_connected, {code, dec_w, dec_b}, dense));
  decode_ops.push_back(make_op(OpKind::relu, {dense}, dense_relu));
  decode_ops.push_back(make_op(OpKind::reshape, {dense_relu}, seed_map));
  size = seed;
  int logits = -1;
  if (model.upsample() == Upsample::transposed) {
    h = add_window_layer(d, decode_ops, model.up1_transposed, "up1", seed_map, size, true, "up1_relu");
    logits = add_window_layer(d, decode_ops, model.up2_transposed, "up2", h, size, false, "logits");
  } else if (unpool) {
    // libtorch's max_unpool2d with the pooling's indices: the runtime's max_unpool2d, whose
    // indices count in the same planes (iy * W + ix of each channel).
    h = add_max_unpool(d, decode_ops, seed_map, indices2, size, channels, "up1_unpool");
    h = add_window_layer(d, decode_ops, model.up1_conv, "up1", h, size, true, "up1_relu");
    h = add_max_unpool(d, decode_ops, h, indices1, size, kConvHiddenChannels, "up2_unpool");
    logits = add_window_layer(d, decode_ops, model.up2_conv, "up2", h, size, false, "logits");
  } else {
    // libtorch's interpolate(scale 2, nearest) is the runtime's upsample_nearest2d 2x2.
    h = add_upsample_nearest(d, decode_ops, seed_map, size, channels, "up1_repeat");
    h = add_window_layer(d, decode_ops, model.up1_conv, "up1", h, size, true, "up1_relu");
    h = add_upsample_nearest(d, decode_ops, h, size, kConvHiddenChannels, "up2_repeat");
    logits = add_window_layer(d, decode_ops, model.up2_conv, "up2", h, size, false, "logits");
  }
  if (size != image) throw std::logic_error("the conv-ae decoder gives " + std::to_string(size) + " pixels a side");
  const int out = d.add_activation("image", {image, image, 1});
  decode_ops.push_back(make_op(OpKind::sigmoid, {logits}, out));

  // encode needs no switches: its poolings give the values alone.
  std::vector<Op> code_ops = encode_ops;
  for (Op& op : code_ops) {
    if (op.kind == OpKind::max_pool2d) op.outputs.resize(1);
  }
  MethodDescription decode{methods::decode, decode_ops, {code}, {out}, {Role::latent}, {Role::image}};
  MethodDescription encode{methods::encode, code_ops, {x}, {code}, {Role::image}, {Role::latent}};
  MethodDescription reconstruct{methods::reconstruct, encode_ops, {x}, {out}, {Role::image}, {Role::image}};
  reconstruct.ops.insert(reconstruct.ops.end(), decode_ops.begin(), decode_ops.end());
  // A free code has no switches to unpool with: max-unpool has no decode.
  if (unpool) {
    d.methods = {std::move(encode), std::move(reconstruct)};
  } else {
    d.methods = {std::move(decode), std::move(encode), std::move(reconstruct)};
  }
  d.latent.groups.push_back({LatentKind::gaussian, "code", static_cast<int>(code_size), 1, {}, {}, {}});
  d.image = {static_cast<int>(image), static_cast<int>(image), 1, ValueRange::unit};
  fill_provenance(d.provenance, family, info);
  d.provenance.quantization = to_string(QuantMode::fp32);
  return d;
}

}  // namespace latentkit::trainer
