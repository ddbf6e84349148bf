#include "latentkit/trainer/export_layers.h"

#include "latentkit/trainer/layout.h"

namespace latentkit::trainer {

int add_dense_stack(ModelDescription& d, std::vector<Op>& ops, const std::vector<torch::nn::Linear>& layers,
                    const std::string& prefix, int x, bool relu_last, const std::string& last_name) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const torch::nn::Linear& layer = layers[i];
    const int64_t out = layer->options.out_features(), in = layer->options.in_features();
    const std::string name = prefix + std::to_string(i);
    const int w = d.add_constant(name + ".weight", {out, in}, to_vector(layer->weight));
    const int b = d.add_constant(name + ".bias", {out}, to_vector(layer->bias));
    const bool last = i + 1 == layers.size();
    const int y = d.add_activation(last && !relu_last ? last_name : name, {out});
    ops.push_back(make_op(OpKind::fully_connected, {x, w, b}, y));
    x = y;
    if (!last || relu_last) {
      const int r = d.add_activation(last ? last_name : name + "_relu", {out});
      ops.push_back(make_op(OpKind::relu, {y}, r));
      x = r;
    }
  }
  return x;
}

int add_upsampling_decoder(ModelDescription& d, int z, const torch::nn::Linear& dense, const std::string& dense_name,
                           int64_t seed_side, int64_t seed_channels,
                           const std::vector<torch::nn::ConvTranspose2d>& layers, const std::string& prefix,
                           int64_t& side) {
  const int64_t seed_size = seed_side * seed_side * seed_channels;
  const int w_dense = d.add_constant(dense_name + ".weight", {seed_size, dense->options.in_features()},
                                     to_vector(chw_rows_to_hwc(dense->weight, seed_channels, seed_side, seed_side)));
  const int b_dense = d.add_constant(dense_name + ".bias", {seed_size},
                                     to_vector(chw_rows_to_hwc(dense->bias, seed_channels, seed_side, seed_side)));
  const int dense_out = d.add_activation("dense", {seed_size});
  const int dense_relu = d.add_activation("dense_relu", {seed_size});
  const int seed = d.add_activation("seed", {seed_side, seed_side, seed_channels});
  d.ops.push_back(make_op(OpKind::fully_connected, {z, w_dense, b_dense}, dense_out));
  d.ops.push_back(make_op(OpKind::relu, {dense_out}, dense_relu));
  d.ops.push_back(make_op(OpKind::reshape, {dense_relu}, seed));

  int x = seed;
  side = seed_side;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const torch::nn::ConvTranspose2d& layer = layers[i];
    const std::string name = prefix + std::to_string(i + 1);
    const bool last = i + 1 == layers.size();
    const Window window = window_of(layer);
    const int64_t out_channels = layer->options.out_channels();
    const int64_t k = (*layer->options.kernel_size())[0];
    side = window.stride_h * (side - 1) + k - window.pad_top - window.pad_bottom + window.adjustment_h;
    const int w = d.add_constant(name + ".weight", {out_channels, k, k, layer->options.in_channels()},
                                 transpose_conv_weight_to_ohwi(layer->weight));
    const int b = d.add_constant(name + ".bias", {out_channels}, to_vector(layer->bias));
    const int y = d.add_activation(last ? "logits" : name, {side, side, out_channels});
    d.ops.push_back(make_op(OpKind::transpose_conv2d, {x, w, b}, y, window));
    x = y;
    if (!last) {
      const int r = d.add_activation(name + "_relu", {side, side, out_channels});
      d.ops.push_back(make_op(OpKind::relu, {y}, r));
      x = r;
    }
  }
  return x;
}

}  // namespace latentkit::trainer
