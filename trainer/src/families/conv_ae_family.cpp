// The convolutional autoencoder of seed 003 (conv_autoencoder.h): the ae's losses and figures with
// convolutions, its decoder upsampling by --upsample (transposed, the default, nearest or
// max-unpool). Its pictures are reconstructions of test images only, so max-unpool (no decode of a
// free code) draws them all; its model file has no decode.
#include "latentkit/trainer/conv_autoencoder.h"
#include "latentkit/trainer/families/autoencoder_family.h"
#include "latentkit/trainer/family_registry.h"
#include "autoencoder_columns.h"

namespace latentkit::trainer {

namespace {

std::unique_ptr<Family> create(const FamilySettings& settings) {
  refuse_other_options(settings, "conv-ae", {"loss", "upsample"});
  AutoencoderConfig config;
  config.description = &conv_ae_family();
  const auto loss = settings.options.find("loss");
  config.loss = parse_reconstruction_loss(loss == settings.options.end() ? "mse" : loss->second);
  const auto upsample_option = settings.options.find("upsample");
  const Upsample upsample =
      parse_upsample(upsample_option == settings.options.end() ? "transposed" : upsample_option->second);
  config.build = [upsample](int64_t code) { return std::make_shared<ConvAutoencoderImpl>(code, upsample); };
  config.options["loss"] = config.loss == ReconstructionLoss::mse ? "mse" : "bce";
  config.options["upsample"] = to_string(upsample);
  return std::make_unique<AutoencoderFamily>(config, settings);
}

// The nearest and max-unpool decoders die at the schedule's 4e-3 (and at 1e-3): their output
// collapses to a constant within the first epoch (test MSE 80.40 after one epoch of 10,000
// MNIST images at 1e-3, 56.18 at 3e-4; the transposed decoder learns at 4e-3).
double default_learning_rate(const FamilyOptions& options, double schedule_rate) {
  const auto upsample = options.find("upsample");
  if (upsample == options.end() || parse_upsample(upsample->second) == Upsample::transposed) return schedule_rate;
  return 3e-4;
}

}  // namespace

const FamilyDescription& conv_ae_family() {
  static const FamilyDescription description{
      "conv-ae",
      "convolutional autoencoder: Conv 32, 64 (stride 2; max-unpool: stride 1, each max-pooled 2x2) -> code -> dense -> 2 upsamplings (--upsample)",
      autoencoder_columns::columns(false),
      autoencoder_columns::figures(false),
      create,
      "none",
      "--loss mse|bce, --upsample transposed|nearest|max-unpool (transposed; max-unpool's file has no decode; "
      "nearest and max-unpool start from --lr 3e-4)",
      default_learning_rate,
  };
  return description;
}

}  // namespace latentkit::trainer
