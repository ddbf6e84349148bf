// Export of the MLP VAE families (families/mlp_vae_family.h) into a latentkit model file:
//
//   decode       latent -> image      dense 256 (ReLU) 512 (ReLU) C*H*W -> reshape [H, W, C] -> sigmoid
//   encode       image -> mean, log-variance      (mlp-vae only)
//   reconstruct  image -> image, decoding the posterior mean   (mlp-vae only)
//
// The latent spec: a Gaussian group "z" of the continuous part, then one categorical group per
// variable, named and labelled by what its categories draw (category_naming.h: "digit" with labels
// "0".."9", "colour" with "red", ...), so that a device is asked for a red 7 by name. A model with
// categorical variables exports decode only: the posterior's categorical mean is a softmax, and the
// file format has no softmax (nor concatenation) op yet.
#include <cmath>
#include <stdexcept>

#include "latentkit/latents.h"
#include "latentkit/quantize.h"
#include "latentkit/trainer/category_naming.h"
#include "latentkit/trainer/coloured_mnist.h"
#include "latentkit/trainer/export_autoencoder.h"
#include "latentkit/trainer/export_checks.h"
#include "latentkit/trainer/families/mlp_vae_family.h"
#include "latentkit/trainer/layout.h"

namespace latentkit::trainer {

namespace {

// Rows [begin, end) of `layer` as a layer of their own.
torch::nn::Linear rows_of(const torch::nn::Linear& layer, int64_t begin, int64_t end) {
  torch::nn::Linear part(layer->options.in_features(), end - begin);
  part->weight.set_data(layer->weight.slice(0, begin, end).clone());
  part->bias.set_data(layer->bias.slice(0, begin, end).clone());
  return part;
}

// The categorical groups of the latent spec, from the run's category names.
std::vector<LatentGroup> categorical_groups(MlpVaeFamily& family) {
  const MlpVaeShape& shape = family.config().shape;
  CategoryNamesImpl& names = *family.category_names();
  const bool named = names.named.item<int64_t>() != 0;
  std::vector<std::string> kinds;
  for (int64_t v = 0; v < shape.variables; ++v) kinds.push_back(names.colour_kind[v].item<int64_t>() != 0 ? "colour" : "digit");
  const std::vector<std::string> group_name = group_names(kinds);
  const std::vector<std::string> digits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  const std::vector<std::string> colours = colour_names();
  std::vector<LatentGroup> groups;
  for (int64_t v = 0; v < shape.variables; ++v) {
    LatentGroup group{LatentKind::categorical, named ? group_name[v] : "c" + std::to_string(v),
                      static_cast<int>(shape.categories), 1, {}, {}, {}};
    if (named) {
      std::vector<int> label_of;
      std::vector<int64_t> agreeing;
      for (int64_t k = 0; k < shape.categories; ++k) {
        label_of.push_back(static_cast<int>(names.label_of[v][k].item<int64_t>()));
        agreeing.push_back(names.agreeing[v][k].item<int64_t>());
      }
      group.labels = unique_labels(label_of, agreeing, kinds[v] == "colour" ? colours : digits);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace

ExportReport MlpVaeFamily::export_methods(const RunInfo& info, const std::string& output_path,
                                          const ExportOptions& options) {
  const QuantMode format = options.format;
  if (format == QuantMode::int8) {
    throw std::invalid_argument(std::string("--quant int8 (integer activations) is not available for the ") +
                                description().name + " family yet (its activation calibration is the CVAE's alone); use "
                                "int8-weights or fp16; nothing was written");
  }
  model_->eval();
  torch::NoGradGuard no_grad;
  const MlpVaeShape& s = config_.shape;
  const bool encodes = s.discrete() == 0;

  ModelDescription d;
  const int z = d.add_activation(encodes ? "mean" : "z", {s.latent()});
  std::vector<Op> encode_ops, decode_ops;
  int image_in = -1, log_variance = -1;
  if (encodes) {
    image_in = d.add_activation("x", {s.height, s.width, s.channels});
    const int flat = d.add_activation("x_flat", {s.pixels()});
    encode_ops.push_back(make_op(OpKind::reshape, {image_in}, flat));
    const int hidden = add_dense_stack(d, encode_ops, {model_->encoder0, model_->encoder1}, "encoder", flat, true, "hidden");
    const torch::nn::Linear mean_head = rows_of(model_->continuous_head, 0, s.continuous);
    const torch::nn::Linear log_variance_head = rows_of(model_->continuous_head, s.continuous, 2 * s.continuous);
    const int w_mean = d.add_constant("mean_head.weight", {s.continuous, 256}, to_vector(mean_head->weight));
    const int b_mean = d.add_constant("mean_head.bias", {s.continuous}, to_vector(mean_head->bias));
    encode_ops.push_back(make_op(OpKind::fully_connected, {hidden, w_mean, b_mean}, z));
    log_variance = d.add_activation("log_variance", {s.continuous});
    const int w_lv = d.add_constant("log_variance_head.weight", {s.continuous, 256}, to_vector(log_variance_head->weight));
    const int b_lv = d.add_constant("log_variance_head.bias", {s.continuous}, to_vector(log_variance_head->bias));
    encode_ops.push_back(make_op(OpKind::fully_connected, {hidden, w_lv, b_lv}, log_variance));
  }
  const int logits_flat =
      add_dense_stack(d, decode_ops, {model_->decoder0, model_->decoder1, model_->decoder2}, "decoder", z, false, "logits");
  const int logits_image = d.add_activation("logits_image", {s.height, s.width, s.channels});
  decode_ops.push_back(make_op(OpKind::reshape, {logits_flat}, logits_image));
  const int image_out = d.add_activation("image", {s.height, s.width, s.channels});
  decode_ops.push_back(make_op(OpKind::sigmoid, {logits_image}, image_out));

  d.methods.push_back({methods::decode, decode_ops, {z}, {image_out}, {Role::latent}, {Role::image}});
  if (encodes) {
    d.methods.push_back({methods::encode, encode_ops, {image_in}, {z, log_variance}, {Role::image},
                         {Role::latent_mean, Role::latent_log_variance}});
    MethodDescription reconstruct{methods::reconstruct, encode_ops, {image_in}, {image_out}, {Role::image}, {Role::image}};
    // The log-variance head is not needed to reconstruct from the mean.
    reconstruct.ops.pop_back();
    reconstruct.ops.insert(reconstruct.ops.end(), decode_ops.begin(), decode_ops.end());
    d.methods.push_back(std::move(reconstruct));
  }
  if (s.continuous > 0) d.latent.groups.push_back({LatentKind::gaussian, "z", static_cast<int>(s.continuous), 1, {}, {}, {}});
  for (LatentGroup& group : categorical_groups(*this)) d.latent.groups.push_back(std::move(group));
  attach_prior(d.latent, options);
  d.image = {static_cast<int>(s.height), static_cast<int>(s.width), static_cast<int>(s.channels), ValueRange::unit};
  fill_provenance(d.provenance, description().name, info);
  d.provenance.quantization = to_string(QuantMode::fp32);
  for (const char* name : {"test_loss", "test_reconstruction", "test_kl_continuous", "test_kl_discrete"}) {
    d.provenance.metrics.push_back({std::string(name) + "_nats_per_image", info.test_figure(name)});
  }
  for (int64_t v = 0; v < s.variables; ++v) {
    d.provenance.metrics.push_back({"category_purity_" + d.latent.groups[static_cast<std::size_t>(v + (s.continuous > 0))].name,
                                    category_names()->purity[v].item<double>()});
  }

  std::vector<uint8_t> bytes = serialize_model(d);
  const Model file = Model::load_bytes(bytes.data(), bytes.size());
  ExportReport report;
  report.format = format;
  report.fp32_file_bytes = bytes.size();

  // The check latents: prior samples (every categorical group drawn too) and, per categorical
  // group, each of its categories set on three more.
  const LatentSpec& spec = file.latent();
  std::vector<float> latents = sample_latents(spec, 100, 0);
  for (std::size_t g = 0; g < spec.groups.size(); ++g) {
    if (spec.groups[g].kind != LatentKind::categorical) continue;
    for (int k = 0; k < spec.groups[g].size; ++k) {
      std::vector<float> set = sample_latents(spec, 3, 1 + g * 1000 + static_cast<uint64_t>(k));
      set_category(spec, static_cast<int>(g), 0, k, set.data(), 3);
      latents.insert(latents.end(), set.begin(), set.end());
    }
  }
  const int count = static_cast<int>(latents.size() / static_cast<std::size_t>(spec.dims()));
  const torch::Tensor zs = torch::from_blob(latents.data(), {count, spec.dims()}, torch::kFloat32);
  const torch::Tensor images = model_->decode(zs);  // [B, C, H, W]
  const std::vector<float> images_hwc = to_vector(images.permute({0, 2, 3, 1}).contiguous());
  report.methods_checked.push_back(check_method(file, {methods::decode, count, {latents}, {images_hwc}}));
  if (encodes) {
    const MlpVaePosterior q = model_->encode(images);
    const torch::Tensor reconstructions = model_->decode(q.mean).permute({0, 2, 3, 1}).contiguous();
    report.methods_checked.push_back(
        check_method(file, {methods::encode, count, {images_hwc}, {to_vector(q.mean), to_vector(q.log_variance)}}));
    report.methods_checked.push_back(check_method(file, {methods::reconstruct, count, {images_hwc}, {to_vector(reconstructions)}}));
  }
  report.latents_checked = count;
  return finish_export(d, std::move(bytes), file, report, output_path);
}

}  // namespace latentkit::trainer
