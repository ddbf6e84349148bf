// The deterministic autoencoders of seeds 001-003 (autoencoder.h) as model families, one file each
// for what makes them differ and this one class for what they share:
//
//   pca  (pca_family.cpp)  the linear autoencoder fitted in closed form: Family::fit takes the
//                          mean and the top --latent eigenvectors of the training images'
//                          covariance; the epochs then only measure it
//   ae   (ae_family.cpp)   784-512-256-code and mirror, sigmoid output, --loss mse|bce, Adam
//   dae  (dae_family.cpp)  ae trained on --noise-corrupted inputs against the clean images
//   sae  (sae_family.cpp)  ae with a ReLU code and a --sparsity l1|l2:WEIGHT penalty on it
//   conv-ae (conv_ae_family.cpp)  convolutional (conv_autoencoder.h), --upsample
//                          transposed|nearest|max-unpool
//
// Test figures per epoch, per image: the squared error and the Bernoulli cross-entropy of the
// reconstruction, each summed over the 784 pixels (the CE of PCA's unbounded output clamped to
// [1e-6, 1 - 1e-6]), the code's sparsity (the fraction of code entries with |h| < 1e-2) and, for
// dae, the PSNR of its reconstructions of the test images corrupted once with a fixed seed.
// Exported as encode (image -> code, role latent), decode (code -> image) and reconstruct; a
// model that cannot decode a free code (conv-ae --upsample max-unpool) without decode.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/autoencoder.h"
#include "latentkit/trainer/corruption.h"
#include "latentkit/trainer/family.h"

namespace latentkit::trainer {

// Their registry entries.
const FamilyDescription& pca_family();
const FamilyDescription& ae_family();
const FamilyDescription& dae_family();
const FamilyDescription& sae_family();
const FamilyDescription& conv_ae_family();

enum class ReconstructionLoss { mse, bce };
// "mse" or "bce"; throws std::invalid_argument naming --loss.
ReconstructionLoss parse_reconstruction_loss(const std::string& text);

// omega(h) of the sparse autoencoder, per image: weight * sum |h_j| (l1) or weight * sum h_j^2 (l2).
struct Sparsity {
  enum Kind { none, l1, l2 } kind = none;
  double weight = 0;
};
// "l1:WEIGHT" or "l2:WEIGHT" (WEIGHT >= 0, finite); throws std::invalid_argument naming --sparsity.
Sparsity parse_sparsity(const std::string& text);
torch::Tensor sparsity_penalty(const torch::Tensor& code, const Sparsity& sparsity);  // [B]

// What one of the four is, once its options are parsed.
struct AutoencoderConfig {
  const FamilyDescription* description = nullptr;
  MlpShape shape;  // a dense model's, unless `build` makes another
  std::function<std::shared_ptr<AutoencoderNet>(int64_t code)> build;
  bool closed_form = false;  // pca: fitted, no optimiser
  ReconstructionLoss loss = ReconstructionLoss::mse;
  std::optional<Noise> noise;  // dae
  Sparsity sparsity;           // sae
  FamilyOptions options;       // as the checkpoint keeps them, defaults filled in
};

// The reconstruction's error per image, summed over pixels: `output` is the decoder's
// (decode_output: logits when the model has a sigmoid output), `x` the target.
torch::Tensor squared_error(AutoencoderNet& model, const torch::Tensor& output, const torch::Tensor& x);
torch::Tensor cross_entropy(AutoencoderNet& model, const torch::Tensor& output, const torch::Tensor& x);

class AutoencoderFamily : public Family {
 public:
  AutoencoderFamily(AutoencoderConfig config, const FamilySettings& settings);

  const FamilyDescription& description() const override { return *config_.description; }
  std::vector<NamedModule> modules() override;
  std::vector<NamedOptimizer> optimizers() override;
  FamilyOptions options() const override { return config_.options; }
  void fit(const torch::Tensor& train_images) override;
  torch::Tensor training_codes(const torch::Tensor& train_images) override;
  void check_images(const ImageDataset& images, const std::string& dir) const override;
  double compute_gradients(const torch::Tensor& batch) override;
  void apply_gradients() override;
  std::vector<double> evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request, int64_t begin,
                                      int64_t end) override;
  Evaluation evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) override;
  std::string summarize(const std::vector<double>& figures, Binarization binarization) const override;
  PageTable test_figures_table(const ReportInputs& inputs) const override;
  void write_pictures(const ReportInputs& inputs, ReportSummary& summary) override;  // autoencoder_pictures.cpp
  ExportReport export_methods(const RunInfo& info, const std::string& output_path,
                              const ExportOptions& options) override;

  const std::shared_ptr<AutoencoderNet>& net() { return net_; }
  const AutoencoderConfig& config() const { return config_; }
  // The loss a training step minimises on `batch` (the mean over its images), with the
  // corruption drawn from libtorch's default generator.
  torch::Tensor training_loss(const torch::Tensor& batch);

 private:
  AutoencoderConfig config_;
  std::shared_ptr<AutoencoderNet> net_;
  std::unique_ptr<torch::optim::Adam> optimizer_;  // none for a closed-form fit
};

// PCA's fit (pca_family.cpp): the encoder's weight becomes the top `code` eigenvectors of the
// covariance of `images` (divided by N) as rows, its bias -W mean; the decoder's weight W^T, its
// bias the mean. Computed in float64.
void fit_pca(MlpAutoencoderImpl& model, const torch::Tensor& images);

}  // namespace latentkit::trainer
