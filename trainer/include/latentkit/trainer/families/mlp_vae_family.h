// Seed 004's VAEs (mlp_vae.h) as three families, one class:
//
//   mlp-vae       the continuous VAE: a Gaussian latent of --latent dimensions (2 by default)
//   discrete-vae  N categorical variables of K categories (--categorical NxK), Gumbel-softmax
//                 with the temperature annealed every step (--anneal RATE:MINIMUM, the seed's
//                 0.0003:0.5), relaxed or straight-through samples (--gumbel soft|hard)
//   joint-vae     both (--latent and --categorical), optionally with Dupont's (2018)
//                 capacity-controlled KL terms (--capacity CONT:DISC:GAMMA:STEPS)
//
// Loss per image: binary cross-entropy summed over the pixels + KL(q(z|x) || N(0, I)) + KL(q(c|x) ||
// uniform), in nats. With --labelled FRACTION[:WEIGHT] the discrete part is anchored by the labels of
// that fraction of the training images, as Kingma et al. (2014)'s M2: variable 0 is the digit and,
// on coloured data, variable 1 the colour (see labelled_loss). After every epoch each categorical variable is named (category_naming.h) from the
// training images; the names are kept in the checkpoint and exported as the latent groups' labels.
#pragma once

#include <memory>
#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/family.h"
#include "latentkit/trainer/mlp_vae.h"

namespace latentkit::trainer {

const FamilyDescription& mlp_vae_family();
const FamilyDescription& discrete_vae_family();
const FamilyDescription& joint_vae_family();

struct MlpVaeConfig {
  const FamilyDescription* description = nullptr;
  MlpVaeShape shape;
  double anneal_rate = 0.0003, minimum_temperature = 0.5;
  bool hard = false;
  // Dupont's capacities: |KL - C(step)| * gamma, C growing linearly to its maximum over `steps`.
  bool capacity = false;
  double continuous_capacity = 5, discrete_capacity = 5, gamma = 30, capacity_steps = 25000;
  double labelled_fraction = 0, label_weight = 50;
  FamilyOptions options;  // as the checkpoint keeps them
};

// Which digit or colour each category of each categorical variable draws (category_naming.h), as
// tensors, so that the checkpoint keeps them with the weights.
class CategoryNamesImpl : public torch::nn::Module {
 public:
  CategoryNamesImpl(int64_t variables, int64_t categories);
  torch::Tensor colour_kind;  // [N] 1 when the variable is a colour group, else 0 (digit)
  torch::Tensor label_of;     // [N, K] the label index of each category, -1 when no image picks it
  torch::Tensor agreeing;     // [N, K] how many of the category's images have that label
  torch::Tensor purity;       // [N] the share of images whose label is their category's
  torch::Tensor named;        // [] 1 once named
};
TORCH_MODULE(CategoryNames);

class MlpVaeFamily : public Family {
 public:
  MlpVaeFamily(const MlpVaeConfig& config, const FamilySettings& settings);

  const FamilyDescription& description() const override { return *config_.description; }
  std::vector<NamedModule> modules() override;
  std::vector<NamedOptimizer> optimizers() override;
  FamilyOptions options() const override { return config_.options; }
  void check_images(const ImageDataset& images, const std::string& dir) const override;
  double compute_gradients(const torch::Tensor& batch) override;
  void set_training_labels(const TrainingLabels& labels) override;
  void label_latents(const torch::Tensor& train_images) override;
  torch::Tensor training_codes(const torch::Tensor& train_images) override;
  torch::Tensor training_categories(const torch::Tensor& train_images) override;
  int64_t category_count() const override { return config_.shape.variables > 0 ? config_.shape.categories : 0; }
  void apply_gradients() override;
  std::vector<double> evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request, int64_t begin,
                                      int64_t end) override;
  Evaluation evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) override;
  std::string summarize(const std::vector<double>& figures, Binarization binarization) const override;
  PageTable test_figures_table(const ReportInputs& inputs) const override;
  void write_pictures(const ReportInputs& inputs, ReportSummary& summary) override;  // mlp_vae_pictures.cpp
  ExportReport export_methods(const RunInfo& info, const std::string& output_path,
                              const ExportOptions& options) override;  // export_mlp_vae.cpp

  MlpVae& model() { return model_; }
  const MlpVaeConfig& config() const { return config_; }
  CategoryNames& category_names() { return names_; }
  // The Gumbel-softmax temperature of the next step.
  double temperature() const;

 private:
  MlpVaeConfig config_;
  MlpVae model_;
  CategoryNames names_;
  torch::optim::Adam optimizer_;
  // M2's labelled term on kLabelledBatch images drawn from the labelled ones (labelled_, their
  // places in the training set): their ELBO with the anchored variables set to the labels, so that
  // the decoder learns what each category draws, plus label_weight x the cross-entropy of q(c | x)
  // against them, so that the encoder learns to read them. Added to every step's loss.
  torch::Tensor labelled_loss();
  static constexpr int64_t kLabelledBatch = 32;

  TrainingLabels labels_;
  torch::Tensor labelled_;
  // The run's step count, in a module so that the checkpoint keeps the annealing's place.
  torch::Tensor step_;
  std::shared_ptr<torch::nn::Module> schedule_;
};

}  // namespace latentkit::trainer
