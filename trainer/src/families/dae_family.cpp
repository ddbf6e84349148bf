// The denoising autoencoder of seed 003: the ae's model and loss, its inputs corrupted by --noise
// (corruption.h; a fresh draw every step from libtorch's generator, which the checkpoint keeps)
// and its targets the clean images. Its exported reconstruct is the denoiser.
#include "latentkit/trainer/families/autoencoder_family.h"
#include "latentkit/trainer/family_registry.h"
#include "autoencoder_columns.h"

namespace latentkit::trainer {

namespace {

// Half the pixels blacked out: enough that copying the input is no answer.
constexpr const char* kDefaultNoise = "mask:0.5";

std::unique_ptr<Family> create(const FamilySettings& settings) {
  refuse_other_options(settings, "dae", {"loss", "noise"});
  AutoencoderConfig config;
  config.description = &dae_family();
  config.shape.hidden = kMlpHidden;
  const auto loss = settings.options.find("loss");
  config.loss = parse_reconstruction_loss(loss == settings.options.end() ? "mse" : loss->second);
  const auto noise = settings.options.find("noise");
  config.noise = parse_noise(noise == settings.options.end() ? kDefaultNoise : noise->second);
  config.options["loss"] = config.loss == ReconstructionLoss::mse ? "mse" : "bce";
  config.options["noise"] = to_string(*config.noise);
  return std::make_unique<AutoencoderFamily>(config, settings);
}

}  // namespace

const FamilyDescription& dae_family() {
  static const FamilyDescription description{
      "dae",
      "denoising autoencoder: the ae trained to give the clean image from a --noise-corrupted one",
      autoencoder_columns::columns(true),
      autoencoder_columns::figures(true),
      create,
      "none",
      "--loss mse|bce, --noise mask:FRACTION|mask-patch:SIZE|gaussian:SIGMA|salt-pepper:FRACTION (mask:0.5)",
  };
  return description;
}

}  // namespace latentkit::trainer
