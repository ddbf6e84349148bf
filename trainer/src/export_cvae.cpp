#include "latentkit/trainer/export_cvae.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "latentkit/decoder.h"
#include "latentkit/method_runner.h"
#include "latentkit/trainer/cvae_methods.h"
#include "latentkit/trainer/export_checks.h"
#include "latentkit/trainer/export_layers.h"
#include "latentkit/latents.h"
#include "latentkit/calibration.h"
#include "latentkit/trainer/layout.h"
#include "latentkit/trainer/mnist.h"

namespace latentkit::trainer {

ModelDescription describe_cvae_decoder(Cvae& model, const RunInfo& info) {
  ModelDescription d;
  const int64_t latent = model->latent_dims();
  const int64_t s = kDecoderSeedSize, c = kDecoderSeedChannels;

  const int z = d.add_activation("z", {latent});
  int64_t size = 0;
  const int x = add_upsampling_decoder(d, z, model->dec_dense, "dec_dense", s, c,
                                       {model->dec_tconv1, model->dec_tconv2, model->dec_tconv3}, "dec_tconv", size);
  const int image = d.add_activation("image", {kImageSize, kImageSize, 1});
  if (size != kImageSize) throw std::logic_error("the CVAE decoder's layers make " + std::to_string(size) + " pixels a side");
  d.ops.push_back(make_op(OpKind::sigmoid, {x}, image));
  d.inputs = {z};
  d.outputs = {image};

  d.latent.groups.push_back({LatentKind::gaussian, "z", static_cast<int>(latent), 1, {}, {}, {}});
  d.image = {static_cast<int>(kImageSize), static_cast<int>(kImageSize), 1, ValueRange::unit};
  Provenance& p = d.provenance;
  fill_provenance(p, "cvae", info);
  p.metrics = {{"test_elbo_nats", info.test_figure("test_elbo")},
               {"test_reconstruction_nats", info.test_figure("test_reconstruction")},
               {"test_kl_nats", info.test_figure("test_kl")}};
  return d;
}

namespace {

// Calibration latents for int8 activations: prior samples, where the decoder is sampled, and
// the posterior means of training images, where it was trained.
std::vector<float> calibration_latents(Cvae& checkpoint_model, const Model& model, const ExportOptions& options) {
  constexpr int kPriorSamples = 1000;
  constexpr int64_t kEncodedImages = 1000;
  std::vector<float> latents = sample_latents(model.latent(), kPriorSamples, 1);
  const std::string dir = resolve_dataset(options.calibration_data_dir);
  const ImageDataset images = load_mnist_dir(dir, Split::train, kEncodedImages);
  require_cvae_images(images, dir);
  torch::NoGradGuard no_grad;
  auto x = torch::from_blob(const_cast<uint8_t*>(images.pixels.data()), {images.count, 1, images.height, images.width},
                            torch::kUInt8)
               .to(torch::kFloat32)
               .div_(255.0f);
  const torch::Tensor means = checkpoint_model->encode(x).mean.contiguous();
  latents.insert(latents.end(), means.data_ptr<float>(), means.data_ptr<float>() + means.numel());
  return latents;
}

}  // namespace

AccuracyReport measure_accuracy(const Model& reference, const Model& quantised) {
  const LatentSpec& spec = reference.latent();
  std::vector<float> latents = sample_latents(spec, 1000, 0);
  if (spec.groups[0].kind == LatentKind::gaussian && spec.groups[0].size >= 2) {
    const std::vector<float> grid = grid_latents(spec, 5, 5, default_grid_range(), default_grid_range());
    latents.insert(latents.end(), grid.begin(), grid.end());
  }
  const int count = static_cast<int>(latents.size() / spec.dims());
  // The backend a device would use for each file.
  const std::vector<float> a = Decoder(reference, choose_backend(reference, BackendKind::xnnpack)).decode(latents, count);
  const std::vector<float> b = Decoder(quantised, choose_backend(quantised, BackendKind::xnnpack)).decode(latents, count);
  return compare_outputs(reference, quantised, a, b, count);
}

std::vector<LayerAccuracy> int8_layer_report(const ModelDescription& float_decoder, const ModelDescription& quantised,
                                             const std::vector<TensorRange>& ranges, const Int8Options& chosen,
                                             const Model& float_model) {
  // The quantised decoder keeps the float one's tensors in order (quantize_model appends its
  // own), so a weight tensor's index names the same layer in both.
  std::vector<LayerAccuracy> layers;
  for (const Op& op : float_decoder.ops) {
    if (op.kind != OpKind::fully_connected && op.kind != OpKind::conv2d && op.kind != OpKind::transpose_conv2d) continue;
    LayerAccuracy layer;
    layer.layer = float_decoder.tensors[static_cast<std::size_t>(op.inputs[1])].name;
    layer.reads_latent = std::find(float_decoder.inputs.begin(), float_decoder.inputs.end(), op.inputs[0]) !=
                         float_decoder.inputs.end();
    for (const Op& q : quantised.ops) {
      if (q.inputs.size() > 1 && q.inputs[1] == op.inputs[1]) {
        layer.integer = quantised.tensors[static_cast<std::size_t>(q.inputs[0])].dtype == DType::int8;
      }
    }
    if (!layer.reads_latent) {
      Int8Options switched = chosen;
      if (layer.integer) {
        switched.float_layers.push_back(layer.layer);
      } else {
        switched.float_output_layer = false;  // the only float layer but the first
      }
      ModelDescription d = float_decoder;
      quantize_model(d, ranges, switched);
      const std::vector<uint8_t> bytes = serialize_model(d);
      layer.switched_psnr_db = measure_accuracy(float_model, Model::load_bytes(bytes.data(), bytes.size())).psnr_db;
    }
    layers.push_back(layer);
  }
  return layers;
}

namespace {

// The decoder description with the encoder appended and the three methods (cvae_methods.h).
ModelDescription with_methods(ModelDescription decoder, Cvae& model, QuantMode format) {
  const CvaeEncoder encoder = append_cvae_encoder(decoder, model, format);
  make_cvae_methods(decoder, encoder);
  return decoder;
}

// The libtorch outputs each method of the file must reproduce, for the check latents and for
// the check images (the libtorch decoder's images of those latents: digits, without a dataset).
struct Expected {
  std::vector<float> images;                  // decode(latents)
  std::vector<float> means, log_variances;    // encode(images)
  std::vector<float> reconstructions;         // decode(means)
};

Expected libtorch_outputs(Cvae& model, const std::vector<float>& latents) {
  Expected e;
  e.images = decode_images(model, latents);
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(e.images.size()) / (kImageSize * kImageSize);
  const torch::Tensor x = torch::from_blob(e.images.data(), {n, 1, kImageSize, kImageSize}, torch::kFloat32);
  const CvaeImpl::Posterior q = model->encode(x);
  e.means = to_vector(q.mean);
  e.log_variances = to_vector(q.logvar);
  e.reconstructions = decode_images(model, e.means);
  return e;
}

}  // namespace

ExportReport export_cvae(Cvae& checkpoint_model, const RunInfo& info, const std::string& output_path,
                         const ExportOptions& options) {
  const QuantMode format = options.format;
  checkpoint_model->eval();
  ModelDescription decoder = describe_cvae_decoder(checkpoint_model, info);
  attach_prior(decoder.latent, options);
  decoder.provenance.quantization = to_string(QuantMode::fp32);
  ModelDescription description = with_methods(decoder, checkpoint_model, QuantMode::fp32);
  std::vector<uint8_t> bytes = serialize_model(description);

  // The check latents: the 5 x 5 grid a user renders first, and prior samples.
  const Model model = Model::load_bytes(bytes.data(), bytes.size());
  std::vector<float> latents = grid_latents(model.latent(), 5, 5, default_grid_range(), default_grid_range());
  const std::vector<float> samples = sample_latents(model.latent(), 100, 0);
  latents.insert(latents.end(), samples.begin(), samples.end());
  const int count = static_cast<int>(latents.size() / model.latent().dims());
  const Expected expected = libtorch_outputs(checkpoint_model, latents);

  ExportReport report;
  report.format = format;
  report.latents_checked = count;
  report.fp32_file_bytes = bytes.size();
  const ExpectedMethod checks[] = {
      {methods::decode, count, {latents}, {expected.images}},
      {methods::encode, count, {expected.images}, {expected.means, expected.log_variances}},
      {methods::reconstruct, count, {expected.images}, {expected.reconstructions}},
  };
  for (const ExpectedMethod& check : checks) report.methods_checked.push_back(check_method(model, check));
  report.max_abs_diff_reference = report.methods_checked[0].reference;
  report.max_abs_diff_xnnpack = report.methods_checked[0].xnnpack;

  if (format != QuantMode::fp32) {
    // The decoder is quantised (and its activations calibrated) on its own, then the encoder's
    // weights are added in the same format and the methods made again.
    const std::vector<uint8_t> decoder_bytes = serialize_model(decoder);
    const Model float_decoder = Model::load_bytes(decoder_bytes.data(), decoder_bytes.size());
    if (format == QuantMode::int8) {
      Int8Options int8;
      int8.float_output_layer = true;  // measured: +4 dB PSNR at no cost in speed (quantize.h)
      const std::vector<TensorRange> ranges =
          observe_ranges(float_decoder, calibration_latents(checkpoint_model, float_decoder, options));
      const ModelDescription float_description = decoder;
      quantize_model(decoder, ranges, int8);
      report.int8_layers = int8_layer_report(float_description, decoder, ranges, int8, float_decoder);
    } else {
      quantize_weights(decoder, format);
    }
    description = with_methods(decoder, checkpoint_model, format);
    bytes = record_accuracy(description, model, report);
  }
  report.file_bytes = bytes.size();
  write_file_atomically(output_path, bytes);
  return report;
}

}  // namespace latentkit::trainer
