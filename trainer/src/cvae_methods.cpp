#include "latentkit/trainer/cvae_methods.h"

#include <stdexcept>
#include <string>

#include "latentkit/trainer/layout.h"

namespace latentkit::trainer {

CvaeEncoder append_cvae_encoder(ModelDescription& d, Cvae& model, QuantMode format) {
  // Built apart, so that quantising its weights leaves the decoder's as they are.
  ModelDescription e;
  CvaeEncoder out;
  out.image = e.add_activation("x", {kImageSize, kImageSize, 1});
  int x = out.image;
  int64_t size = kImageSize, channels = 1;
  const torch::nn::Conv2d layers[] = {model->enc_conv1, model->enc_conv2};
  for (int i = 0; i < 2; ++i) {
    const torch::nn::Conv2d& layer = layers[i];
    const std::string name = "enc_conv" + std::to_string(i + 1);
    const Window window = window_of(layer);
    const int64_t k = (*layer->options.kernel_size())[0];
    const int64_t out_channels = layer->options.out_channels();
    size = conv2d_output_size(size, k, window.stride_h, window.dilation_h, window.pad_top, window.pad_bottom);
    const int w = e.add_constant(name + ".weight", {out_channels, k, k, channels}, conv_weight_to_ohwi(layer->weight));
    const int b = e.add_constant(name + ".bias", {out_channels}, to_vector(layer->bias));
    const int y = e.add_activation(name, {size, size, out_channels});
    const int r = e.add_activation(name + "_relu", {size, size, out_channels});
    out.to_mean.push_back(make_op(OpKind::conv2d, {x, w, b}, y, window));
    out.to_mean.push_back(make_op(OpKind::relu, {y}, r));
    x = r;
    channels = out_channels;
  }
  const int64_t features = size * size * channels;
  if (features != model->enc_dense->options.in_features()) {
    throw std::logic_error("the CVAE encoder's dense layer takes " +
                           std::to_string(model->enc_dense->options.in_features()) + " features, its convolutions give " +
                           std::to_string(features));
  }
  const int flat = e.add_activation("enc_features", {features});
  out.to_mean.push_back(make_op(OpKind::reshape, {x}, flat));
  // libtorch flattens [64, 6, 6]; the runtime flattens [6, 6, 64]: the dense columns follow.
  const int64_t latent = model->latent_dims();
  const torch::Tensor weight = chw_columns_to_hwc(model->enc_dense->weight, channels, size, size);
  const torch::Tensor bias = model->enc_dense->bias.detach();
  auto head = [&](const std::string& name, int64_t first) {
    const int w = e.add_constant("enc_dense." + name + ".weight", {latent, features},
                                 to_vector(weight.narrow(0, first, latent)));
    const int b = e.add_constant("enc_dense." + name + ".bias", {latent}, to_vector(bias.narrow(0, first, latent)));
    const int y = e.add_activation(name, {latent});
    return make_op(OpKind::fully_connected, {flat, w, b}, y);
  };
  out.to_mean.push_back(head("mean", 0));
  out.log_variance_head = head("log_variance", latent);
  out.mean = out.to_mean.back().outputs[0];
  out.log_variance = out.log_variance_head.outputs[0];
  quantize_weights(e, format == QuantMode::int8 ? QuantMode::int8_weights : format);

  // Into `d`: every index moves by the tensors `d` already has.
  const int offset = static_cast<int>(d.tensors.size());
  for (TensorDescription& t : e.tensors) d.tensors.push_back(std::move(t));
  auto shift = [offset](Op& op) {
    for (int& i : op.inputs) {
      if (i >= 0) i += offset;
    }
    for (int& i : op.outputs) i += offset;
  };
  for (Op& op : out.to_mean) shift(op);
  shift(out.log_variance_head);
  out.image += offset;
  out.mean += offset;
  out.log_variance += offset;
  return out;
}

void make_cvae_methods(ModelDescription& d, const CvaeEncoder& encoder) {
  if (d.inputs.size() != 1 || d.outputs.size() != 1) {
    throw std::logic_error("make_cvae_methods needs a decoder description (one input, one output)");
  }
  const int latent = d.inputs[0], image = d.outputs[0];
  MethodDescription decode{methods::decode, d.ops, {latent}, {image}, {Role::latent}, {Role::image}};

  MethodDescription encode{methods::encode, encoder.to_mean, {encoder.image}, {encoder.mean, encoder.log_variance},
                           {Role::image}, {Role::latent_mean, Role::latent_log_variance}};
  encode.ops.push_back(encoder.log_variance_head);

  MethodDescription reconstruct{methods::reconstruct, encoder.to_mean, {encoder.image}, {image}, {Role::image}, {Role::image}};
  for (Op op : d.ops) {
    for (int& i : op.inputs) {
      if (i == latent) i = encoder.mean;
    }
    reconstruct.ops.push_back(std::move(op));
  }
  d.methods = {std::move(decode), std::move(encode), std::move(reconstruct)};
  d.ops.clear();
  d.inputs.clear();
  d.outputs.clear();
}

}  // namespace latentkit::trainer
