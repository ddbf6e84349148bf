#include "latentkit/trainer/families/dcgan_family.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/sample_quality.h"
#include "dcgan_columns.h"

namespace latentkit::trainer {

namespace {

using namespace dcgan_columns;

// The Fréchet samples' latents come from a stream of their own, so that the figure does not move
// with how many test images the losses drew latents for.
constexpr uint64_t kFrechetStream = 0x46726563686574ULL;
// samples_by_epoch.png's latents: the same in every run, whatever its seed, so that runs compare.
constexpr uint64_t kProgressSeed = 21;

std::unique_ptr<Family> create(const FamilySettings& settings) {
  refuse_other_options(settings, "dcgan", {"channels", "judge"});
  DcganConfig config;
  const auto given = [&](const char* flag) { return settings.options.find(flag); };
  const std::string channels =
      given("channels") != settings.options.end() ? given("channels")->second : std::to_string(settings.image_channels);
  if (channels != "1" && channels != "3") {
    throw std::invalid_argument("--channels '" + channels + "': 1 (grey) or 3 (coloured)");
  }
  config.shape.channels = std::stoll(channels);
  config.shape.latent = settings.latent_dims;
  if (config.shape.latent < 1) {
    throw std::invalid_argument("--latent " + std::to_string(settings.latent_dims) + ": a dcgan latent has >= 1 dimensions");
  }
  config.options["channels"] = channels;
  if (given("judge") != settings.options.end()) {
    config.judge_path = given("judge")->second;
    if (config.judge_path.empty()) throw std::invalid_argument("--judge '': the path of a latentkit-judge file");
    config.options["judge"] = config.judge_path;
  }
  return std::make_unique<DcganFamily>(config, settings);
}

double default_learning_rate(const FamilyOptions& options, double schedule_rate) {
  (void)options;
  (void)schedule_rate;
  return DcganFamily::kDefaultLearningRate;
}

std::vector<Figure> figures() {
  return {{"loss.png", "both players' test losses and train loss, D(x) and D(G(z)) per epoch", 0},
          {"frechet.png", "Fréchet distance of 2000 samples to the test images in the judge's feature space (--judge)", 0},
          {"samples.png", "generator samples of 64 fixed latents", 2 * 8 * 28},
          {"samples_by_epoch.png",
           "the course of training: a row per epoch, top first, of samples of the same 8 latents (the first 20 epochs; a "
           "longer run keeps every 2nd, 4th, ... epoch)",
           2 * 8 * 28}};
}

// Whether the module's parameters take gradients.
void set_requires_grad(torch::nn::Module& module, bool on) {
  for (torch::Tensor& p : module.parameters()) p.requires_grad_(on);
}

const auto printed = format_text;

// `module` in eval mode (batch norms on running statistics) for what `body` does with it.
template <typename F>
auto in_eval_mode(torch::nn::Module& module, F body) {
  const bool was_training = module.is_training();
  module.eval();
  struct Restore {
    torch::nn::Module& m;
    bool on;
    ~Restore() { m.train(on); }
  } restore{module, was_training};
  return body();
}

}  // namespace

const FamilyDescription& dcgan_family() {
  static const FamilyDescription description{
      "dcgan",
      "DCGAN (issue #21): a generator from a Gaussian latent of --latent dimensions (default 64; transposed "
      "convolutions, batch norm) against a convolutional discriminator, non-saturating loss, Adam 2e-4 (0.5, 0.999)",
      columns(),
      figures(),
      create,
      "none",
      "--judge FILE (a latentkit-judge file: the Fréchet distance of 2000 samples to the test images in its feature "
      "space, per epoch)",
      default_learning_rate,
      DcganFamily::kDefaultLatentDims,
      /*data_parallel=*/false};
  return description;
}

DcganFamily::DcganFamily(const DcganConfig& config, const FamilySettings& settings)
    : config_(config),
      generator_(config.shape),
      discriminator_(config.shape),
      generator_optimizer_(generator_->parameters(),
                           torch::optim::AdamOptions(settings.learning_rate).betas({kBeta1, kBeta2})),
      discriminator_optimizer_(discriminator_->parameters(),
                               torch::optim::AdamOptions(settings.learning_rate).betas({kBeta1, kBeta2})) {
  progress_ = std::make_shared<torch::nn::Module>();
  progress_samples_ = progress_->register_buffer(
      "samples", torch::zeros({kProgressRows, kProgressColumns, config_.shape.channels, DcganShape::kSide, DcganShape::kSide}));
  progress_epochs_ = progress_->register_buffer("epochs", torch::full({kProgressRows}, -1, torch::kLong));
  progress_stride_ = progress_->register_buffer("stride", torch::ones({}, torch::kLong));
}

std::vector<NamedModule> DcganFamily::modules() {
  return {{"generator", generator_.ptr()}, {"discriminator", discriminator_.ptr()}, {"progress", progress_}};
}

std::vector<NamedOptimizer> DcganFamily::optimizers() {
  return {{"generator_optimizer", &generator_optimizer_}, {"discriminator_optimizer", &discriminator_optimizer_}};
}

void DcganFamily::check_images(const ImageDataset& images, const std::string& dir) const {
  const DcganShape& s = config_.shape;
  if (images.channels != s.channels || images.height != DcganShape::kSide || images.width != DcganShape::kSide) {
    throw std::runtime_error("dataset '" + dir + "' has images of " + std::to_string(images.height) + " x " +
                             std::to_string(images.width) + " x " + std::to_string(images.channels) +
                             "; this dcgan model makes 28 x 28 x " + std::to_string(s.channels));
  }
}

Judge& DcganFamily::judge() {
  if (config_.judge_path.empty()) throw std::runtime_error("this dcgan run has no --judge");
  if (!judge_) judge_ = load_judge(config_.judge_path).judge;
  return judge_;
}

void DcganFamily::set_training_labels(const TrainingLabels& labels) {
  (void)labels;
  if (!config_.judge_path.empty()) judge();
}

double DcganFamily::compute_gradients(const torch::Tensor& batch) {
  const int64_t n = batch.size(0);
  const torch::Tensor z = torch::randn({n, config_.shape.latent});
  const torch::Tensor fake = generator_->forward(z);

  // The discriminator's step: real images against samples it cannot push gradients into.
  discriminator_optimizer_.zero_grad();
  // One forward over both halves: the discriminator has no batch norm, so each image's logit is
  // its own whatever it is batched with.
  const torch::Tensor logits = discriminator_->forward(torch::cat({batch, fake.detach()}));
  const torch::Tensor d_loss = discriminator_loss(logits.slice(0, 0, n), logits.slice(0, n)).mean();
  const double d_value = d_loss.item<double>();
  if (!std::isfinite(d_value)) return d_value;
  d_loss.backward();
  discriminator_optimizer_.step();

  // The generator's loss against the discriminator as it now is. The discriminator's parameters
  // take no gradient here: only the generator's are applied.
  generator_optimizer_.zero_grad();
  set_requires_grad(*discriminator_, false);
  const torch::Tensor g_loss = generator_loss(discriminator_->forward(fake)).mean();
  const double g_value = g_loss.item<double>();
  // A non-finite generator loss stops the run (the loop writes no checkpoint of this epoch, so
  // the discriminator's step above is not kept either).
  if (std::isfinite(g_value)) g_loss.backward();
  set_requires_grad(*discriminator_, true);
  return d_value + g_value;
}

void DcganFamily::apply_gradients() { generator_optimizer_.step(); }

torch::Tensor DcganFamily::progress_latents() const {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(kProgressSeed);
  return torch::randn({kProgressColumns, config_.shape.latent}, generator);
}

std::vector<int64_t> DcganFamily::recorded_epochs() const {
  std::vector<int64_t> epochs;
  for (int64_t r = 0; r < kProgressRows; ++r) {
    const int64_t epoch = progress_epochs_[r].item<int64_t>();
    if (epoch >= 0) epochs.push_back(epoch);
  }
  return epochs;
}

torch::Tensor DcganFamily::recorded_samples() const {
  return progress_samples_.slice(0, 0, static_cast<int64_t>(recorded_epochs().size())).clone();
}

void DcganFamily::end_epoch(int64_t epoch) {
  torch::NoGradGuard no_grad;
  int64_t stride = progress_stride_.item<int64_t>();
  if (epoch % stride != 0) return;
  int64_t rows = static_cast<int64_t>(recorded_epochs().size());
  if (rows == kProgressRows) {
    // Full: keep the rows of the multiples of twice the stride, in order, at the top.
    stride *= 2;
    int64_t kept = 0;
    for (int64_t r = 0; r < rows; ++r) {
      if (progress_epochs_[r].item<int64_t>() % stride != 0) continue;
      progress_samples_[kept].copy_(progress_samples_[r]);
      progress_epochs_[kept] = progress_epochs_[r].item<int64_t>();
      ++kept;
    }
    progress_epochs_.slice(0, kept).fill_(-1);
    progress_stride_.fill_(stride);
    rows = kept;
    if (epoch % stride != 0) return;
  }
  const torch::Tensor z = progress_latents();
  progress_samples_[rows].copy_(in_eval_mode(*generator_, [&] { return generator_->forward(z); }));
  progress_epochs_[rows] = epoch;
}

namespace {

// What DcganFamily::evaluation_sums returns, in order. The Fréchet distance is no sum: it is
// computed over the images it is given, which are all the test images (the family refuses
// data-parallel training, whose ranks would each have a part).
enum Sum { kGeneratorLossSum, kRealLossSum, kFakeLossSum, kRealScoreSum, kFakeScoreSum, kImages, kFrechetFigure, kSums };

}  // namespace

double DcganFamily::frechet_distance_to(const torch::Tensor& images, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed ^ kFrechetStream);
  const torch::Tensor z = torch::randn({kFrechetSamples, config_.shape.latent}, generator);
  const torch::Tensor samples = in_eval_mode(*generator_, [&] { return generator_->forward(z); });
  const FeatureStatistics fake = feature_statistics(read_images(judge(), samples).features);
  const FeatureStatistics real = feature_statistics(read_images(judge(), images).features);
  return frechet_distance(fake, real);
}

std::vector<double> DcganFamily::evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request,
                                                 int64_t begin, int64_t end) {
  torch::NoGradGuard no_grad;
  std::vector<double> sums(kSums, 0.0);
  sums[kFrechetFigure] = std::numeric_limits<double>::quiet_NaN();
  if (end <= begin) return sums;
  // The latents of the whole set, drawn in one go: any split of it sees the same.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(request.seed);
  const torch::Tensor z = torch::randn({images.size(0), config_.shape.latent}, generator).slice(0, begin, end);
  in_eval_mode(*generator_, [&] {
    return in_eval_mode(*discriminator_, [&] {
      for (int64_t from = begin; from < end; from += 1000) {
        const int64_t to = std::min(end, from + 1000);
        const torch::Tensor real = discriminator_->forward(images.slice(0, from, to));
        const torch::Tensor fake = discriminator_->forward(generator_->forward(z.slice(0, from - begin, to - begin)));
        sums[kGeneratorLossSum] += generator_loss(fake).sum().item<double>();
        sums[kRealLossSum] += torch::nn::functional::softplus(-real).sum().item<double>();
        sums[kFakeLossSum] += torch::nn::functional::softplus(fake).sum().item<double>();
        sums[kRealScoreSum] += torch::sigmoid(real).sum().item<double>();
        sums[kFakeScoreSum] += torch::sigmoid(fake).sum().item<double>();
      }
      return 0;
    });
  });
  sums[kImages] = static_cast<double>(end - begin);
  if (!config_.judge_path.empty()) sums[kFrechetFigure] = frechet_distance_to(images.slice(0, begin, end), request.seed);
  return sums;
}

Evaluation DcganFamily::evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) {
  (void)request;
  if (sums.size() != kSums) throw std::logic_error("a dcgan evaluation has " + std::to_string(kSums) + " sums");
  const double n = std::max(sums[kImages], 1.0);
  const double g = sums[kGeneratorLossSum] / n, d = (sums[kRealLossSum] + sums[kFakeLossSum]) / n;
  const double real = sums[kRealScoreSum] / n, fake = sums[kFakeScoreSum] / n, frechet = sums[kFrechetFigure];
  Evaluation evaluation;
  evaluation.figures = {g, d, real, fake, frechet};
  evaluation.line = printed("test G %.3f D %.3f", g, d) + (std::isnan(frechet) ? "" : printed("  Fréchet %.2f", frechet));
  evaluation.report = printed("generator loss %.4f, discriminator loss %.4f nats per image; D(x) %.4f, D(G(z)) %.4f\n", g,
                              d, real, fake) +
                      (std::isnan(frechet) ? "" : printed("Fréchet distance in the judge's feature space %.3f\n", frechet));
  return evaluation;
}

std::string DcganFamily::summarize(const std::vector<double>& figures, Binarization binarization) const {
  (void)binarization;
  if (figures.size() != kCount) throw std::logic_error("a dcgan run has " + std::to_string(kCount) + " test figures");
  return printed("test generator loss %.3f, discriminator loss %.3f, D(x) %.3f, D(G(z)) %.3f", figures[kGeneratorLoss],
                 figures[kDiscriminatorLoss], figures[kRealScore], figures[kFakeScore]) +
         (std::isnan(figures[kFrechet]) ? "" : printed(", Fréchet distance %.2f (judge features)", figures[kFrechet]));
}

PageTable DcganFamily::test_figures_table(const ReportInputs& in) const {
  const EpochReport& last = in.epochs.back();
  const std::vector<double>& f = last.test;
  PageTable table;
  table.heading = "Test figures after epoch " + std::to_string(last.epoch) + " (losses in nats per image)";
  table.rows = {{"generator loss, -log D(G(z))", format_number(f[kGeneratorLoss], "%.4f")},
                {"discriminator loss", format_number(f[kDiscriminatorLoss], "%.4f")},
                {"mean D(x), test images", format_number(f[kRealScore], "%.4f")},
                {"mean D(G(z)), samples", format_number(f[kFakeScore], "%.4f")},
                {"Fréchet distance (judge features, 2000 samples)",
                 std::isnan(f[kFrechet]) ? std::string("not measured (no --judge)") : format_number(f[kFrechet], "%.3f")}};
  return table;
}

}  // namespace latentkit::trainer
