// The seed-000 convolutional VAE (cvae.h) as a model family: trained with Adam on the negative
// ELBO of binarised images (one posterior sample per image), measured by the test ELBO, its two
// terms and the IWAE bound (evaluation.h), pictured by its loss curves, latent scatter,
// reconstructions, samples and latent grid, exported as its decoder (export_cvae.h).
#pragma once

#include <memory>

#include <torch/torch.h>

#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/family.h"

namespace latentkit::trainer {

// Its registry entry.
const FamilyDescription& cvae_family();

class CvaeFamily : public Family {
 public:
  explicit CvaeFamily(const FamilySettings& settings);

  const FamilyDescription& description() const override { return cvae_family(); }
  std::vector<NamedModule> modules() override;
  std::vector<NamedOptimizer> optimizers() override;
  void check_images(const ImageDataset& images, const std::string& dir) const override;
  torch::Tensor training_codes(const torch::Tensor& train_images) override;
  double compute_gradients(const torch::Tensor& batch) override;
  void apply_gradients() override;
  std::vector<double> evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request, int64_t begin,
                                      int64_t end) override;
  Evaluation evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) override;
  std::string summarize(const std::vector<double>& figures, Binarization binarization) const override;
  PageTable test_figures_table(const ReportInputs& inputs) const override;
  void write_pictures(const ReportInputs& inputs, ReportSummary& summary) override;  // cvae_pictures.cpp
  ExportReport export_methods(const RunInfo& info, const std::string& output_path,
                              const ExportOptions& options) override;

  Cvae& model() { return model_; }
  torch::optim::Adam& optimizer() { return optimizer_; }

 private:
  Cvae model_;
  torch::optim::Adam optimizer_;
};

// The loss the training step minimises: the mean over the batch of the negative ELBO, one
// posterior sample per image from libtorch's default generator.
torch::Tensor cvae_training_loss(Cvae& model, const torch::Tensor& batch);

}  // namespace latentkit::trainer
