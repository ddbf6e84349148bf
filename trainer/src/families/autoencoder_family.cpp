#include "latentkit/trainer/families/autoencoder_family.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/export_autoencoder.h"
#include "latentkit/trainer/in_batches.h"
#include "autoencoder_columns.h"

namespace latentkit::trainer {

using namespace autoencoder_columns;

namespace {

const auto printed = format_text;

// What PCA's unbounded output is clamped to for a cross-entropy.
constexpr double kProbabilityFloor = 1e-6;

constexpr int64_t kEvaluationBatch = 500;

}  // namespace

ReconstructionLoss parse_reconstruction_loss(const std::string& text) {
  if (text == "mse") return ReconstructionLoss::mse;
  if (text == "bce") return ReconstructionLoss::bce;
  throw std::invalid_argument("--loss '" + text + "': expected mse (squared error) or bce (Bernoulli cross-entropy)");
}

Sparsity parse_sparsity(const std::string& text) {
  const std::size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon == std::string::npos ? text.size() : colon);
  Sparsity s;
  if (kind == "l1") {
    s.kind = Sparsity::l1;
  } else if (kind == "l2") {
    s.kind = Sparsity::l2;
  } else {
    throw std::invalid_argument("--sparsity '" + text + "': expected l1:WEIGHT or l2:WEIGHT");
  }
  try {
    std::size_t used = 0;
    const std::string weight = colon == std::string::npos ? "" : text.substr(colon + 1);
    s.weight = std::stod(weight, &used);
    if (used == weight.size() && std::isfinite(s.weight) && s.weight >= 0) return s;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--sparsity '" + text + "': the weight must be a finite number >= 0 (l1:WEIGHT or l2:WEIGHT)");
}

torch::Tensor sparsity_penalty(const torch::Tensor& code, const Sparsity& sparsity) {
  switch (sparsity.kind) {
    case Sparsity::none: return torch::zeros({code.size(0)}, code.options());
    case Sparsity::l1: return sparsity.weight * code.abs().sum(1);
    case Sparsity::l2: return sparsity.weight * code.square().sum(1);
  }
  return {};
}

torch::Tensor squared_error(AutoencoderNet& model, const torch::Tensor& output, const torch::Tensor& x) {
  const torch::Tensor image = model.sigmoid_output() ? torch::sigmoid(output) : output;
  return (image - x).square().flatten(1).sum(1);
}

torch::Tensor cross_entropy(AutoencoderNet& model, const torch::Tensor& output, const torch::Tensor& x) {
  if (model.sigmoid_output()) {
    return torch::binary_cross_entropy_with_logits(output, x, {}, {}, at::Reduction::None).flatten(1).sum(1);
  }
  const torch::Tensor p = output.clamp(kProbabilityFloor, 1 - kProbabilityFloor);
  return torch::binary_cross_entropy(p, x, {}, at::Reduction::None).flatten(1).sum(1);
}

AutoencoderFamily::AutoencoderFamily(AutoencoderConfig config, const FamilySettings& settings)
    : config_(std::move(config)) {
  if (config_.build) {
    net_ = config_.build(settings.latent_dims);
  } else {
    config_.shape.code = settings.latent_dims;
    net_ = std::make_shared<MlpAutoencoderImpl>(config_.shape);
  }
  if (config_.closed_form) {
    // Nothing is learnt by gradients: an unfitted PCA reconstructs every image as 0.
    torch::NoGradGuard no_grad;
    for (const torch::Tensor& p : net_->parameters()) {
      p.zero_();
      p.set_requires_grad(false);
    }
  } else {
    optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(), torch::optim::AdamOptions(settings.learning_rate));
  }
}

std::vector<NamedModule> AutoencoderFamily::modules() { return {{"model", net_}}; }

std::vector<NamedOptimizer> AutoencoderFamily::optimizers() {
  if (!optimizer_) return {};
  return {{"optimizer", optimizer_.get()}};
}

void AutoencoderFamily::fit(const torch::Tensor& train_images) {
  if (config_.closed_form) fit_pca(dynamic_cast<MlpAutoencoderImpl&>(*net_), train_images);
}

torch::Tensor AutoencoderFamily::training_codes(const torch::Tensor& train_images) {
  // The clean images' codes: a denoising autoencoder's input noise is part of its training only.
  torch::NoGradGuard no_grad;
  net_->eval();
  return in_batches(train_images, [&](const torch::Tensor& x) { return net_->encode(x); });
}

void AutoencoderFamily::check_images(const ImageDataset& images, const std::string& dir) const {
  require_cvae_images(images, dir);  // 28 x 28, as the MLP's first layer takes
}

torch::Tensor AutoencoderFamily::training_loss(const torch::Tensor& batch) {
  const torch::Tensor input = config_.noise ? corrupt(batch, *config_.noise) : batch;
  const AutoencoderNet::Pass pass = net_->pass(input);
  torch::Tensor loss = config_.loss == ReconstructionLoss::mse ? squared_error(*net_, pass.output, batch)
                                                               : cross_entropy(*net_, pass.output, batch);
  if (config_.sparsity.kind != Sparsity::none) loss = loss + sparsity_penalty(pass.code, config_.sparsity);
  return loss.mean();
}

double AutoencoderFamily::compute_gradients(const torch::Tensor& batch) {
  if (!optimizer_) {
    // A fitted model: the step only measures the loss (train_loss in metrics.csv is the fit's
    // training-set error).
    torch::NoGradGuard no_grad;
    return training_loss(batch).item<double>();
  }
  optimizer_->zero_grad();
  const torch::Tensor loss = training_loss(batch);
  const double value = loss.item<double>();
  if (!std::isfinite(value)) return value;
  loss.backward();
  return value;
}

void AutoencoderFamily::apply_gradients() {
  if (optimizer_) optimizer_->step();
}

namespace {

// What AutoencoderFamily::evaluation_sums returns, in order.
enum Sum { kMseSum, kBceSum, kZeroCodes, kDenoiseSquared, kNoisySquared, kImages, kPixels, kSums };

}  // namespace

std::vector<double> AutoencoderFamily::evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request,
                                                       int64_t begin, int64_t end) {
  (void)request;  // nothing random but dae's corruption, which has its own fixed seed
  torch::NoGradGuard no_grad;
  const bool was_training = net_->is_training();
  net_->eval();
  end = std::min(end, images.size(0));
  begin = std::min(begin, end);
  std::vector<double> sums(kSums, 0.0);
  torch::Tensor corrupted;
  if (config_.noise) {
    // Drawn for the whole set at once, so that the figure depends neither on the batch size nor
    // on the part of the set this call measures.
    corrupted = corrupt(images, *config_.noise, at::make_generator<at::CPUGeneratorImpl>(kTestCorruptionSeed));
  }
  for (int64_t s = begin; s < end; s += kEvaluationBatch) {
    const int64_t e = std::min(end, s + kEvaluationBatch);
    const torch::Tensor x = images.slice(0, s, e);
    const AutoencoderNet::Pass pass = net_->pass(x);
    sums[kMseSum] += squared_error(*net_, pass.output, x).sum().item<double>();
    sums[kBceSum] += cross_entropy(*net_, pass.output, x).sum().item<double>();
    sums[kZeroCodes] += (pass.code.abs() < kZeroCode).sum().item<double>();
    if (config_.noise) {
      const torch::Tensor y = corrupted.slice(0, s, e);
      sums[kDenoiseSquared] += squared_error(*net_, net_->pass(y).output, x).sum().item<double>();
      sums[kNoisySquared] += (y - x).square().sum().item<double>();
    }
    sums[kPixels] += static_cast<double>(x.numel());
  }
  sums[kImages] = static_cast<double>(end - begin);
  net_->train(was_training);
  return sums;
}

Evaluation AutoencoderFamily::evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) {
  (void)request;
  if (sums.size() != kSums) throw std::logic_error("an autoencoder evaluation has " + std::to_string(kSums) + " sums");
  const double count = std::max(sums[kImages], 1.0);
  const double pixels = sums[kPixels];
  Evaluation evaluation;
  evaluation.figures = {sums[kMseSum] / count, sums[kBceSum] / count,
                        sums[kZeroCodes] / (count * static_cast<double>(net_->code_size()))};
  evaluation.line = printed("test MSE %.2f, BCE %.2f, code sparsity %.3f", evaluation.figures[kMse],
                            evaluation.figures[kBce], evaluation.figures[kSparsity]);
  evaluation.report = printed("squared error %.4f, Bernoulli cross-entropy %.4f nats per image (summed over pixels); "
                              "code sparsity %.4f (fraction of code entries with |h| < 0.01)\n",
                              evaluation.figures[kMse], evaluation.figures[kBce], evaluation.figures[kSparsity]);
  if (config_.noise) {
    // PSNR with peak 1 (images in [0, 1]) of the mean squared error per pixel over the set.
    auto psnr = [&](double squared) { return 10 * std::log10(pixels / std::max(squared, 1e-30)); };
    evaluation.figures.push_back(psnr(sums[kDenoiseSquared]));
    evaluation.line += printed(", denoising PSNR %.2f dB", evaluation.figures[kDenoisePsnr]);
    evaluation.report += printed("denoising (%s, fixed seed): PSNR %.3f dB of the reconstructions of the corrupted test "
                                 "images against the clean ones (the corrupted images themselves: %.3f dB)\n",
                                 to_string(*config_.noise).c_str(), evaluation.figures[kDenoisePsnr],
                                 psnr(sums[kNoisySquared]));
  }
  return evaluation;
}

std::string AutoencoderFamily::summarize(const std::vector<double>& figures, Binarization binarization) const {
  if (figures.size() != description().test_metrics.size()) {
    throw std::logic_error(std::string("a ") + description().name + " run has " +
                           std::to_string(description().test_metrics.size()) + " test figures");
  }
  std::string text = printed("test MSE %.2f, BCE %.2f per image (summed over pixels), code sparsity %.3f",
                             figures[kMse], figures[kBce], figures[kSparsity]);
  if (config_.noise) text += printed(", denoising PSNR %.2f dB", figures[kDenoisePsnr]);
  return text + " (" + to_string(binarization) + " binarisation)";
}

PageTable AutoencoderFamily::test_figures_table(const ReportInputs& in) const {
  const EpochReport& last = in.epochs.back();
  const std::vector<double>& f = last.test;
  PageTable table;
  table.heading = "Test figures after epoch " + std::to_string(last.epoch) + " (per image, summed over its pixels; " +
                  to_string(in.options.binarization) + " binarisation)";
  table.rows = {{"squared error", format_number(f[kMse], "%.4f")},
                {"Bernoulli cross-entropy (nats)", format_number(f[kBce], "%.4f")},
                {"code sparsity (|h| < 0.01)", format_number(f[kSparsity], "%.4f")}};
  if (config_.noise) {
    table.rows.push_back({"denoising PSNR (" + to_string(*config_.noise) + ", fixed seed)",
                          format_number(f[kDenoisePsnr], "%.3f") + " dB"});
  }
  return table;
}

ExportReport AutoencoderFamily::export_methods(const RunInfo& info, const std::string& output_path,
                                               const ExportOptions& options) {
  std::vector<Metric> metrics = {{"test_mse_per_image", info.test_figure("test_mse")},
                                 {"test_bce_nats_per_image", info.test_figure("test_bce")},
                                 {"code_sparsity", info.test_figure("code_sparsity")}};
  if (config_.noise) metrics.push_back({"test_denoise_psnr_db", info.test_figure("test_denoise_psnr_db")});
  return export_autoencoder(*net_, description().name, info, metrics, output_path, options);
}

}  // namespace latentkit::trainer
