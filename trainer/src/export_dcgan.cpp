// Export of the dcgan family (families/dcgan_family.h): its generator as the `decode` method of a
// Gaussian latent group "z", so that a device samples it as it samples a VAE's decoder (grid,
// sample, interpolate):
//
//   z -> dense 128*7*7 -> ReLU -> reshape [7, 7, 128] -> transposed conv 64, 4x4 /2 -> ReLU
//     -> transposed conv C, 4x4 /2 -> sigmoid -> image [28, 28, C]
//
// The batch norms are folded into the layers before them (dcgan.h fold_batch_norm), with the
// running statistics of eval mode; the check then compares the runtime with the unfolded
// generator in eval mode, so that a wrong fold fails the export as a wrong layout would. The file
// carries the run's test figures: both losses, D(x), D(G(z)) and, when measured, the Fréchet
// distance. --quant int8 (integer activations) is refused: its calibration reads training
// images through an encoder, which a GAN has not.
#include <cmath>
#include <stdexcept>

#include "latentkit/atomic_file.h"
#include "latentkit/latents.h"
#include "latentkit/quantize.h"
#include "latentkit/trainer/export_checks.h"
#include "latentkit/trainer/export_layers.h"
#include "latentkit/trainer/families/dcgan_family.h"
#include "latentkit/trainer/layout.h"
#include "families/dcgan_columns.h"

namespace latentkit::trainer {

ExportReport DcganFamily::export_methods(const RunInfo& info, const std::string& output_path,
                                         const ExportOptions& options) {
  const QuantMode format = options.format;
  if (format == QuantMode::int8) {
    throw std::invalid_argument("--quant int8 (integer activations) is not available for the dcgan family (its "
                                "activation calibration is the CVAE's alone); use int8-weights or fp16; nothing was written");
  }
  const bool was_training = generator_->is_training();
  generator_->eval();
  torch::NoGradGuard no_grad;
  const DcganShape& s = config_.shape;
  const int64_t side = DcganShape::kSide, seed_side = DcganShape::kSeedSide, seed_channels = DcganShape::kSeedChannels;
  const FoldedGenerator folded = fold_batch_norm(*generator_);

  ModelDescription d;
  const int z = d.add_activation("z", {s.latent});
  int64_t size = 0;
  const int x = add_upsampling_decoder(d, z, folded.dense, "dense", seed_side, seed_channels, {folded.up1, folded.up2},
                                       "up", size);
  if (size != side) throw std::logic_error("the dcgan generator's layers make " + std::to_string(size) + " pixels a side");
  const int image = d.add_activation("image", {side, side, s.channels});
  d.ops.push_back(make_op(OpKind::sigmoid, {x}, image));
  d.inputs = {z};
  d.outputs = {image};

  // By field, so that fields the group gains later keep their defaults.
  LatentGroup z_group;
  z_group.kind = LatentKind::gaussian;
  z_group.name = "z";
  z_group.size = static_cast<int>(s.latent);
  d.latent.groups.push_back(z_group);
  attach_prior(d.latent, options);
  d.image = {static_cast<int>(side), static_cast<int>(side), static_cast<int>(s.channels), ValueRange::unit};
  fill_provenance(d.provenance, description().name, info);
  d.provenance.quantization = to_string(QuantMode::fp32);
  for (const MetricColumn& column : dcgan_columns::columns()) {
    const double value = info.test_figure(column.name);
    if (std::isfinite(value)) d.provenance.metrics.push_back({column.name, value});
  }

  std::vector<uint8_t> bytes = serialize_model(d);
  const Model file = Model::load_bytes(bytes.data(), bytes.size());
  ExportReport report;
  report.format = format;
  report.fp32_file_bytes = bytes.size();

  // The check latents: prior samples and, for a latent of two or more dimensions, the 5 x 5 grid a
  // user renders first. The expected images are the unfolded generator's (eval mode).
  std::vector<float> latents = sample_latents(file.latent(), 100, 0);
  if (s.latent >= 2) {
    const std::vector<float> grid = grid_latents(file.latent(), 5, 5, default_grid_range(), default_grid_range());
    latents.insert(latents.end(), grid.begin(), grid.end());
  }
  const int count = static_cast<int>(latents.size() / static_cast<std::size_t>(s.latent));
  const torch::Tensor zs = torch::from_blob(latents.data(), {count, s.latent}, torch::kFloat32);
  const std::vector<float> expected = to_vector(generator_->forward(zs).permute({0, 2, 3, 1}).contiguous());
  generator_->train(was_training);
  report.methods_checked.push_back(check_method(file, {methods::decode, count, {latents}, {expected}}));
  report.latents_checked = count;
  return finish_export(d, std::move(bytes), file, report, output_path);
}

}  // namespace latentkit::trainer
