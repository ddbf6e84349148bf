// The sparse autoencoder of seed 003: loss = L(x, g(f(x))) + omega(h), omega an L1 or L2 penalty
// on the code (--sparsity l1:WEIGHT or l2:WEIGHT, per image, summed over the code's entries).
// The code goes through a ReLU: with a linear code an L1 penalty only shrinks entries towards 0,
// with a ReLU it makes them exactly 0, which is what "sparse" means and what the code_sparsity
// figure counts.
#include "latentkit/trainer/families/autoencoder_family.h"
#include "latentkit/trainer/family_registry.h"
#include "autoencoder_columns.h"

namespace latentkit::trainer {

namespace {

// Against a squared error of about 10-50 per image, a penalty that matters without starving the
// code (sum |h| of a few tens).
constexpr const char* kDefaultSparsity = "l1:0.01";

std::unique_ptr<Family> create(const FamilySettings& settings) {
  refuse_other_options(settings, "sae", {"loss", "sparsity"});
  AutoencoderConfig config;
  config.description = &sae_family();
  config.shape.hidden = kMlpHidden;
  config.shape.relu_code = true;
  const auto loss = settings.options.find("loss");
  config.loss = parse_reconstruction_loss(loss == settings.options.end() ? "mse" : loss->second);
  const auto sparsity = settings.options.find("sparsity");
  const std::string text = sparsity == settings.options.end() ? kDefaultSparsity : sparsity->second;
  config.sparsity = parse_sparsity(text);
  config.options["loss"] = config.loss == ReconstructionLoss::mse ? "mse" : "bce";
  config.options["sparsity"] = text;
  return std::make_unique<AutoencoderFamily>(config, settings);
}

}  // namespace

const FamilyDescription& sae_family() {
  static const FamilyDescription description{
      "sae",
      "sparse autoencoder: the ae with a ReLU code and an L1 or L2 penalty on it",
      autoencoder_columns::columns(false),
      autoencoder_columns::figures(false),
      create,
      "none",
      "--loss mse|bce, --sparsity l1:WEIGHT|l2:WEIGHT (l1:0.01)",
  };
  return description;
}

}  // namespace latentkit::trainer
