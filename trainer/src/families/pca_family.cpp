// PCA, "the simplest (linear) autoencoder" of seed 001, fitted in closed form.
//
// Training is the fit: the loop calls fit() once, before the first step, with the first epoch's
// training images; it computes their mean and covariance (float64, divided by N) and keeps the
// eigenvectors of the --latent largest eigenvalues. The steps that follow compute the loss but
// change nothing, so each epoch's train_loss in metrics.csv is the fitted model's squared error
// per training image (the sum of the discarded eigenvalues, with grey images) and its test figures
// are the same every epoch; one epoch is all a PCA run needs. --loss is refused: the fit minimises
// the squared error whatever it is told.
#include "latentkit/trainer/families/autoencoder_family.h"
#include "latentkit/trainer/family_registry.h"
#include "autoencoder_columns.h"

namespace latentkit::trainer {

namespace {

std::unique_ptr<Family> create(const FamilySettings& settings) {
  refuse_other_options(settings, "pca", {});
  AutoencoderConfig config;
  config.description = &pca_family();
  config.shape.hidden = {};
  config.shape.sigmoid_output = false;
  config.closed_form = true;
  return std::make_unique<AutoencoderFamily>(config, settings);
}

}  // namespace

const FamilyDescription& pca_family() {
  static const FamilyDescription description{
      "pca",
      "principal component analysis, the linear autoencoder, fitted in closed form on the training set "
      "(--latent components; one epoch is enough)",
      autoencoder_columns::columns(false),
      autoencoder_columns::figures(false),
      create,
      "none",
      "",
  };
  return description;
}

void fit_pca(MlpAutoencoderImpl& model, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const int64_t code = model.shape().code;
  const torch::Tensor x = images.reshape({images.size(0), -1}).to(torch::kFloat64);
  if (code > x.size(1)) {
    throw std::invalid_argument("pca: --latent " + std::to_string(code) + " is more components than the " +
                                std::to_string(x.size(1)) + " pixels of an image");
  }
  const torch::Tensor mean = x.mean(0);
  const torch::Tensor centred = x - mean;
  const torch::Tensor covariance = centred.t().matmul(centred) / static_cast<double>(x.size(0));
  const auto [values, vectors] = torch::linalg::eigh(covariance, "L");  // ascending eigenvalues
  const torch::Tensor top = vectors.slice(1, vectors.size(1) - code).flip({1});  // [pixels, code], largest first
  auto& encoder = model.encoder.front();
  auto& decoder = model.decoder.front();
  encoder->weight.copy_(top.t());
  encoder->bias.copy_(-top.t().matmul(mean));
  decoder->weight.copy_(top);
  decoder->bias.copy_(mean);
}

}  // namespace latentkit::trainer
