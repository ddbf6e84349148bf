// The DCGAN (dcgan.h) as a model family, `dcgan`:
//
//   training   the non-saturating GAN game with two Adam optimisers (lr 2e-4 unless --lr is
//              given, betas 0.5 and 0.999, Radford et al.'s), one discriminator step then one
//              generator step per batch. The training loop's step is split in two
//              (family.h); here compute_gradients takes the discriminator's whole step (its
//              loss on the batch and on a batch of samples, backward, Adam) and then the
//              generator's loss and gradients, and apply_gradients the generator's Adam step.
//              Because the discriminator steps inside compute_gradients, gradients all-reduced
//              between the two halves would miss it: the family refuses data-parallel training
//              (FamilyDescription::data_parallel).
//   train_loss the discriminator's loss plus the generator's, nats per image, on the batch.
//   test       on the test images and as many latents drawn from the request's seed: the
//              generator's loss, the discriminator's, the mean of D(x) over the test images and
//              of D(G(z)) over the samples (the generator in eval mode); with --judge FILE (a
//              latentkit-judge file) the Fréchet distance between kFrechetSamples samples
//              (a fixed seed) and the test images in the judge's feature space
//              (sample_quality.h), else NaN.
//   pictures   loss.png (both players per epoch, and D(x), D(G(z))), frechet.png (with --judge),
//              samples.png (8 x 8 samples of fixed latents), samples_by_epoch.png (a row of
//              samples of kProgressColumns fixed latents per epoch, recorded by end_epoch: the
//              first kProgressRows epochs, then, each time the rows are full, every other row
//              is dropped and every 2nd, 4th, ... epoch kept, so that a long run shows its whole
//              course).
//   export     the generator as a `decode` method of a Gaussian latent group "z", with its batch
//              norms folded into the layers before them (export_dcgan.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/dcgan.h"
#include "latentkit/trainer/family.h"
#include "latentkit/trainer/judge.h"

namespace latentkit::trainer {

const FamilyDescription& dcgan_family();

struct DcganConfig {
  DcganShape shape;
  std::string judge_path;  // "" when no --judge
  FamilyOptions options;   // as the checkpoint keeps them
};

class DcganFamily : public Family {
 public:
  // Adam's betas: beta1 0.5 instead of 0.9, as DCGAN found the default oscillates.
  static constexpr double kBeta1 = 0.5, kBeta2 = 0.999;
  static constexpr double kDefaultLearningRate = 2e-4;
  // DCGAN's latent was 100-dimensional; 64 draws MNIST as well (a 2-dimensional one, the CLI's
  // default for the VAEs, collapses to a few blobs in short runs: measured).
  static constexpr int64_t kDefaultLatentDims = 64;
  static constexpr int64_t kFrechetSamples = 2000;
  static constexpr int64_t kProgressRows = 20, kProgressColumns = 8;

  DcganFamily(const DcganConfig& config, const FamilySettings& settings);

  const FamilyDescription& description() const override { return dcgan_family(); }
  std::vector<NamedModule> modules() override;
  std::vector<NamedOptimizer> optimizers() override;
  FamilyOptions options() const override { return config_.options; }
  void check_images(const ImageDataset& images, const std::string& dir) const override;
  void set_training_labels(const TrainingLabels& labels) override;
  double compute_gradients(const torch::Tensor& batch) override;
  void apply_gradients() override;
  void end_epoch(int64_t epoch) override;
  std::vector<double> evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request, int64_t begin,
                                      int64_t end) override;
  Evaluation evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) override;
  std::string summarize(const std::vector<double>& figures, Binarization binarization) const override;
  PageTable test_figures_table(const ReportInputs& inputs) const override;
  void write_pictures(const ReportInputs& inputs, ReportSummary& summary) override;  // dcgan_pictures.cpp
  ExportReport export_methods(const RunInfo& info, const std::string& output_path,
                              const ExportOptions& options) override;  // export_dcgan.cpp

  DcganGenerator& generator() { return generator_; }
  DcganDiscriminator& discriminator() { return discriminator_; }
  const DcganConfig& config() const { return config_; }

  // The Fréchet distance of kFrechetSamples generator samples (latents from `seed`, the generator
  // in eval mode) to `images` in the judge's feature space. Throws std::runtime_error when the
  // family has no judge.
  double frechet_distance_to(const torch::Tensor& images, uint64_t seed);

  // The latents of samples_by_epoch.png's columns, [kProgressColumns, latent], the same in every run.
  torch::Tensor progress_latents() const;
  // The epochs of the recorded rows, in order, and their samples [rows, kProgressColumns, C, 28, 28].
  std::vector<int64_t> recorded_epochs() const;
  torch::Tensor recorded_samples() const;

 private:
  // The judge of --judge, loaded on first use (set_training_labels, before the first step, so
  // that a bad file stops a run before it trains; a checkpoint loaded for export never reads it).
  Judge& judge();

  DcganConfig config_;
  DcganGenerator generator_;
  DcganDiscriminator discriminator_;
  torch::optim::Adam generator_optimizer_, discriminator_optimizer_;
  Judge judge_{nullptr};
  // end_epoch's rows, in a module so that the checkpoint keeps them: samples [kProgressRows,
  // kProgressColumns, C, 28, 28], epochs [kProgressRows] (-1: free), stride [] (the epochs kept
  // are its multiples).
  std::shared_ptr<torch::nn::Module> progress_;
  torch::Tensor progress_samples_, progress_epochs_, progress_stride_;
};

}  // namespace latentkit::trainer
