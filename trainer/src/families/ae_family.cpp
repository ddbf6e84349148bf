// The plain autoencoder of seeds 002 and 003: 784-512-256-code (linear code) and its mirror with a
// sigmoid output, trained with Adam on the squared error (--loss mse, the default) or the
// Bernoulli cross-entropy of the grey levels (--loss bce), both summed over pixels.
#include "latentkit/trainer/families/autoencoder_family.h"
#include "latentkit/trainer/family_registry.h"
#include "autoencoder_columns.h"

namespace latentkit::trainer {

namespace {

std::unique_ptr<Family> create(const FamilySettings& settings) {
  refuse_other_options(settings, "ae", {"loss"});
  AutoencoderConfig config;
  config.description = &ae_family();
  config.shape.hidden = kMlpHidden;
  const auto loss = settings.options.find("loss");
  config.loss = parse_reconstruction_loss(loss == settings.options.end() ? "mse" : loss->second);
  config.options["loss"] = config.loss == ReconstructionLoss::mse ? "mse" : "bce";
  return std::make_unique<AutoencoderFamily>(config, settings);
}

}  // namespace

const FamilyDescription& ae_family() {
  static const FamilyDescription description{
      "ae",
      "autoencoder 784-512-256-code-256-512-784 (dense, ReLU, sigmoid output; --latent is the code size)",
      autoencoder_columns::columns(false),
      autoencoder_columns::figures(false),
      create,
      "none",
      "--loss mse|bce",
  };
  return description;
}

}  // namespace latentkit::trainer
