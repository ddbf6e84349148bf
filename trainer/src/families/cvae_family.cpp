#include "latentkit/trainer/families/cvae_family.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "latentkit/trainer/evaluation.h"
#include "latentkit/trainer/export_cvae.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/in_batches.h"
#include "cvae_columns.h"

namespace latentkit::trainer {

namespace {

using namespace cvae_columns;

std::unique_ptr<Family> create(const FamilySettings& settings) {
  refuse_other_options(settings, "cvae", {});
  return std::make_unique<CvaeFamily>(settings);
}

const auto printed = format_text;

}  // namespace

const FamilyDescription& cvae_family() {
  static const FamilyDescription description{
      "cvae",
      "the seed-000 convolutional VAE (Bernoulli decoder, Gaussian latent of --latent dimensions)",
      {{"test_elbo", 4}, {"test_reconstruction", 4}, {"test_kl", 4}, {"test_iwae", 4}, {"iwae_k", 0}},
      {{"loss.png", "loss curves", 0},
       {"latent_scatter.png", "test-set latent means by label", 0},
       {"reconstructions.png", "test inputs (left of each pair) and reconstructions", 2 * 16 * 28},
       {"samples.png", "prior samples (decoder means)", 2 * 8 * 28},
       {"grid_libtorch.png", "latent grid: z1 along x, z2 along y (top = high)", 3 * 5 * 28}},
      create,
  };
  return description;
}

CvaeFamily::CvaeFamily(const FamilySettings& settings)
    : model_(settings.latent_dims),
      optimizer_(model_->parameters(), torch::optim::AdamOptions(settings.learning_rate)) {}

std::vector<NamedModule> CvaeFamily::modules() { return {{"model", model_.ptr()}}; }

std::vector<NamedOptimizer> CvaeFamily::optimizers() { return {{"optimizer", &optimizer_}}; }

void CvaeFamily::check_images(const ImageDataset& images, const std::string& dir) const {
  require_cvae_images(images, dir);
}

torch::Tensor cvae_training_loss(Cvae& model, const torch::Tensor& batch) {
  auto q = model->encode(batch);
  auto terms = vae_terms(model->decode_logits(reparameterize(q)), batch, q);
  return (terms.reconstruction + terms.kl).mean();
}

double CvaeFamily::compute_gradients(const torch::Tensor& batch) {
  optimizer_.zero_grad();
  auto loss = cvae_training_loss(model_, batch);
  const double value = loss.item<double>();
  if (!std::isfinite(value)) return value;
  loss.backward();
  return value;
}

void CvaeFamily::apply_gradients() { optimizer_.step(); }

torch::Tensor CvaeFamily::training_codes(const torch::Tensor& train_images) {
  torch::NoGradGuard no_grad;
  model_->eval();
  return in_batches(train_images, [&](const torch::Tensor& x) { return model_->encode(x).mean; });
}

namespace {

// What CvaeFamily::evaluation_sums returns, in order.
enum Sum { kReconstructionSum, kKlSum, kImages, kIwaeSum, kIwaeImages, kMeanSquaredSum, kMeanPixels, kMeanImages, kSums };

}  // namespace

std::vector<double> CvaeFamily::evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request,
                                                int64_t begin, int64_t end) {
  std::vector<double> sums(kSums, 0.0);
  const ElboSums elbo = elbo_sums(model_, images, request.seed, begin, end);
  sums[kReconstructionSum] = elbo.reconstruction;
  sums[kKlSum] = elbo.kl;
  sums[kImages] = static_cast<double>(elbo.images);
  if (request.k > 0) {
    // The bound on the first k_images images of the set (0: all): this part's share of them.
    const int64_t n = request.k_images > 0 ? std::min(request.k_images, images.size(0)) : images.size(0);
    const int64_t from = std::min(begin, n), to = std::min(end, n);
    if (to > from) {
      sums[kIwaeSum] = iwae_per_image(model_, images.slice(0, 0, n), request.k, request.seed, from, to).sum().item<double>();
      sums[kIwaeImages] = static_cast<double>(to - from);
    }
  }
  // What `latentkit eval` reports for the exported reconstruct method: the first images, no noise.
  const int64_t first = std::min(kReconstructionImages, images.size(0));
  const int64_t from = std::min(begin, first), to = std::min(end, first);
  if (to > from) {
    const torch::Tensor x = images.slice(0, from, to);
    sums[kMeanSquaredSum] = posterior_mean_squared_error_sum(model_, x);
    sums[kMeanPixels] = static_cast<double>(x.numel());
    sums[kMeanImages] = static_cast<double>(to - from);
  }
  return sums;
}

Evaluation CvaeFamily::evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) {
  if (sums.size() != kSums) throw std::logic_error("a CVAE evaluation has " + std::to_string(kSums) + " sums");
  const double n = std::max(sums[kImages], 1.0);
  EvalResult r;
  r.reconstruction = sums[kReconstructionSum] / n;
  r.kl = sums[kKlSum] / n;
  r.elbo = -(r.reconstruction + r.kl);
  if (request.k > 0 && sums[kIwaeImages] > 0) {
    r.iwae = sums[kIwaeSum] / sums[kIwaeImages];
    r.iwae_k = request.k;
    r.iwae_images = static_cast<int64_t>(sums[kIwaeImages]);
  }
  Evaluation evaluation;
  evaluation.figures = {r.elbo, r.reconstruction, r.kl, r.iwae, static_cast<double>(r.iwae_k)};
  evaluation.line = printed("test ELBO %.2f nats", r.elbo);
  evaluation.report = printed("ELBO %.2f nats (reconstruction %.2f, KL %.2f)\n", r.elbo, r.reconstruction, r.kl);
  // What `latentkit-sample reconstruct` (the exported reconstruct method) must reproduce.
  evaluation.report += printed("reconstruction from the posterior mean: mean squared error %.6f per pixel (first %lld images, binarised as above)\n",
                               sums[kMeanSquaredSum] / std::max(sums[kMeanPixels], 1.0),
                               static_cast<long long>(sums[kMeanImages]));
  if (r.iwae_k > 0) {
    evaluation.line += printed(", IWAE(k=%lld, %lld images) %.2f", static_cast<long long>(r.iwae_k),
                               static_cast<long long>(r.iwae_images), r.iwae);
    evaluation.report += printed("IWAE log p(x) >= %.2f nats (k=%lld importance samples per image, seed %llu)\n",
                                 r.iwae, static_cast<long long>(r.iwae_k),
                                 static_cast<unsigned long long>(request.seed));
  }
  return evaluation;
}

std::string CvaeFamily::summarize(const std::vector<double>& figures, Binarization binarization) const {
  if (figures.size() != kCount) throw std::logic_error("a CVAE run has " + std::to_string(kCount) + " test figures");
  return printed("test ELBO %.2f nats (reconstruction %.2f, KL %.2f, %s binarisation)", figures[kElbo],
                 figures[kReconstruction], figures[kKl], to_string(binarization));
}

PageTable CvaeFamily::test_figures_table(const ReportInputs& in) const {
  const EpochReport& last = in.epochs.back();
  const std::vector<double>& f = last.test;
  PageTable table;
  table.heading = "Test figures after epoch " + std::to_string(last.epoch) + " (nats per image, " +
                  to_string(in.options.binarization) + " binarisation)";
  table.rows = {{"ELBO", format_number(f[kElbo])},
                {"reconstruction", format_number(f[kReconstruction])},
                {"KL", format_number(f[kKl])}};
  const auto k = static_cast<int64_t>(f[kIwaeK]);
  if (k > 0) {
    table.rows.push_back(
        {"IWAE bound on log p(x)", format_number(f[kIwae]) + " (k=" + std::to_string(k) + ", first " +
                                       std::to_string(iwae_images(in.options.eval_images, in.test_images.size(0))) +
                                       " images)"});
  }
  return table;
}

ExportReport CvaeFamily::export_methods(const RunInfo& info, const std::string& output_path,
                                        const ExportOptions& options) {
  return export_cvae(model_, info, output_path, options);
}

}  // namespace latentkit::trainer
