// A model family: everything the generic parts of the trainer need from a kind of model, so that
// a new family is its own file plus a line in the registry (family_registry.h), not a fork of the
// training loop, the checkpoint, `latentkit eval`, the report or `latentkit export`.
//
// A Family object is one model: its modules and their optimisers. The training loop
// (training_loop.h) drives it:
//
//   every step    compute_gradients(batch)   forward, loss, backward: gradients in the parameters
//                 [data-parallel training all-reduces the gradients here: gradient_buckets.h]
//                 apply_gradients()          the optimisers' step
//   every epoch   end_epoch(epoch)           what the family records of its progress
//                 evaluate(test images)      one figure per description().test_metrics column
//                 (data-parallel: each rank's evaluation_sums over its part of the test images,
//                 all-reduced, then evaluation_from_sums)
//   at the end    write_pictures(...)        description().figures, into the run folder
//
// A family fitted in closed form (PCA) does it in fit(), which the loop calls once, before the first
// step of a new run, with the images of its first epoch; its steps then change nothing.
//
// The checkpoint saves modules(), optimizers() and options() under their names and, on loading,
// builds the family its "family" entry names with those options. `latentkit export` calls export_methods().
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/family_description.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/report.h"
#include "latentkit/trainer/run_info.h"

namespace latentkit::trainer {

struct NamedModule {
  std::string name;  // its entry in the checkpoint
  std::shared_ptr<torch::nn::Module> module;
};

struct NamedOptimizer {
  std::string name;  // its entry in the checkpoint
  torch::optim::Optimizer* optimizer;
};

// What one evaluation of the test images is asked for. Its noise comes from `seed`. A figure that
// costs many samples per image (a VAE's importance-weighted bound) takes `k` of them on the first
// `k_images` images (0: all); k = 0 leaves it out.
struct EvaluationRequest {
  uint64_t seed = 1;
  int64_t k = 0;
  int64_t k_images = 0;
};

// The training set's labels, for a family that learns from some of them (a semi-supervised anchor)
// or names its latents by them.
struct TrainingLabels {
  torch::Tensor digits;   // [N] int64: the dataset's class labels
  torch::Tensor colours;  // [N] int64: coloured_mnist.h's colour of each image; undefined when none
  torch::Tensor images;   // [N, C, H, W] the training images before binarisation
  Binarization binarization = Binarization::none;  // the run's, for drawing from `images`
};

struct Evaluation {
  std::vector<double> figures;  // one per description().test_metrics column, in order
  std::string line;             // the figures in one line, for the progress bar
  std::string report;           // what `latentkit eval` prints: lines ending in '\n'
};

class Family {
 public:
  virtual ~Family() = default;

  virtual const FamilyDescription& description() const = 0;

  // What is trained and saved. A family fitted in closed form has no optimiser.
  virtual std::vector<NamedModule> modules() = 0;
  virtual std::vector<NamedOptimizer> optimizers() = 0;
  // Its own choices (FamilySettings::options) with every default filled in: what the checkpoint
  // keeps and the run page shows.
  virtual FamilyOptions options() const { return {}; }

  // The closed-form fit on `train_images` ([N, 1, H, W], as the first epoch sees them). Families
  // trained by gradient steps do nothing.
  virtual void fit(const torch::Tensor& train_images) { (void)train_images; }

  // The posterior means of the Gaussian latent group (a plain autoencoder: its codes) of
  // `train_images` ([N, C, H, W], as the training loop feeds them): [N, D] float32. What
  // `latentkit export --prior gmm:K` fits its mixture to (export.h). A family without an encoder,
  // or without a continuous latent, refuses with std::invalid_argument.
  virtual torch::Tensor training_codes(const torch::Tensor& train_images) {
    (void)train_images;
    throw std::invalid_argument(std::string("the ") + description().name +
                                " family has no encoder whose codes a mixture prior could be fitted to");
  }

  // The categories per categorical variable; 0: the family has no categorical latent.
  virtual int64_t category_count() const { return 0; }
  // The category each categorical variable's posterior picks for each image ([N, variables]
  // indices, argmax), for a category prior fitted at export (`latentkit export`; a file's
  // category_weights). Called only when category_count() > 0.
  virtual torch::Tensor training_categories(const torch::Tensor& train_images) {
    (void)train_images;
    throw std::logic_error(std::string("the ") + description().name + " family has no categorical latent");
  }

  // Throws std::runtime_error naming `dir` unless the family can take these images.
  virtual void check_images(const ImageDataset& images, const std::string& dir) const = 0;

  // The first half of a training step: clears the gradients, computes the loss of `batch` and its
  // gradients. Returns the loss per image (what the progress bar and train_loss show); when it is
  // not finite no gradient is computed, and the caller must not apply_gradients().
  virtual double compute_gradients(const torch::Tensor& batch) = 0;
  // The training set's labels, once before the first step (and before each resumed session).
  virtual void set_training_labels(const TrainingLabels& labels) { (void)labels; }
  // After every epoch, before the checkpoint: what the family learns of its latents from the
  // labelled training images (which digit or colour each category of a categorical latent draws,
  // kept in its modules for export). Every rank does it, on the same images.
  virtual void label_latents(const torch::Tensor& train_images) { (void)train_images; }
  // After every epoch (numbered from 1), after label_latents, before the evaluation and the
  // checkpoint: what the family keeps in its modules of how training went, for the report (the
  // dcgan's samples of fixed latents, one row per epoch). Every rank does it.
  virtual void end_epoch(int64_t epoch) { (void)epoch; }
  // The second half: the optimisers' step with the gradients in the parameters.
  virtual void apply_gradients() = 0;

  // Test figures of `images` (as the data pipeline prepared them), without training anything.
  Evaluation evaluate(const torch::Tensor& images, const EvaluationRequest& request) {
    return evaluation_from_sums(evaluation_sums(images, request, 0, images.size(0)), request);
  }
  // Evaluation in parts, for data-parallel training: sums over images [begin, end) of `images`
  // (the whole test set) from which the figures follow, added up over the parts (all-reduced)
  // and turned into figures by evaluation_from_sums. A family draws any noise of its evaluation
  // as it would for the whole set, so the parts' sums add up to the whole set's (up to float
  // rounding) however the set is split among ranks.
  virtual std::vector<double> evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request,
                                              int64_t begin, int64_t end) = 0;
  virtual Evaluation evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) = 0;
  // `figures` (one epoch's) in the phrase a finished run ends with ("test ELBO ... nats (...)").
  virtual std::string summarize(const std::vector<double>& figures, Binarization binarization) const = 0;

  // The run page's table of the last epoch's test figures, and the pictures, written into
  // inputs.run_dir (plots drawn in inputs.work_dir first). What cannot be drawn is left out with a
  // warning in `summary`.
  virtual PageTable test_figures_table(const ReportInputs& inputs) const = 0;
  virtual void write_pictures(const ReportInputs& inputs, ReportSummary& summary) = 0;

  // Writes the family's methods to a model file at `output_path` (see export.h).
  virtual ExportReport export_methods(const RunInfo& info, const std::string& output_path,
                                      const ExportOptions& options) = 0;
};

}  // namespace latentkit::trainer
