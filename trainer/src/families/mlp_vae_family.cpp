#include "latentkit/trainer/families/mlp_vae_family.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <stdexcept>

#include "latentkit/rng.h"
#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/category_naming.h"
#include "latentkit/trainer/coloured_mnist.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/gaussian_terms.h"
#include "latentkit/trainer/in_batches.h"
#include "mlp_vae_columns.h"

namespace latentkit::trainer {

namespace {

using namespace mlp_vae_columns;

std::string option_or(const FamilySettings& settings, const std::string& flag, const std::string& fallback) {
  const auto it = settings.options.find(flag);
  return it == settings.options.end() ? fallback : it->second;
}

// "A:B:..." as numbers; throws naming the flag.
std::vector<double> parse_numbers(const std::string& flag, const std::string& text, std::size_t count, char separator) {
  std::vector<double> values;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(separator, begin);
    const std::string part = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || !std::isfinite(value)) {
      throw std::invalid_argument("--" + flag + " '" + text + "': '" + part + "' is not a number");
    }
    values.push_back(value);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  if (values.size() != count) {
    throw std::invalid_argument("--" + flag + " '" + text + "': expected " + std::to_string(count) + " numbers separated by '" +
                                separator + "'");
  }
  return values;
}

std::unique_ptr<Family> create_with(const FamilyDescription& description, const FamilySettings& settings,
                                    bool continuous, bool discrete) {
  std::vector<std::string> accepted = {"channels"};
  if (discrete) {
    for (const char* flag : {"categorical", "anneal", "gumbel", "labelled"}) accepted.emplace_back(flag);
  }
  if (continuous && discrete) accepted.emplace_back("capacity");
  refuse_other_options(settings, description.name, accepted);

  MlpVaeConfig config;
  config.description = &description;
  const std::string channels = option_or(settings, "channels", std::to_string(settings.image_channels));
  if (channels != "1" && channels != "3") throw std::invalid_argument("--channels '" + channels + "': 1 or 3");
  config.shape.channels = std::stoll(channels);
  config.options["channels"] = channels;
  config.shape.continuous = continuous ? settings.latent_dims : 0;
  if (discrete) {
    const std::string categorical = option_or(settings, "categorical", continuous ? "2x10" : "20x10");
    const std::vector<double> nk = parse_numbers("categorical", categorical, 2, 'x');
    if (nk[0] < 1 || nk[0] > 256 || nk[1] < 2 || nk[1] > 256 || nk[0] != std::floor(nk[0]) || nk[1] != std::floor(nk[1])) {
      throw std::invalid_argument("--categorical '" + categorical + "': N x K with N in 1..256 variables and K in 2..256 categories");
    }
    config.shape.variables = static_cast<int64_t>(nk[0]);
    config.shape.categories = static_cast<int64_t>(nk[1]);
    config.options["categorical"] = categorical;

    const std::string anneal = option_or(settings, "anneal", "0.0003:0.5");
    const std::vector<double> rate_minimum = parse_numbers("anneal", anneal, 2, ':');
    if (rate_minimum[0] < 0 || rate_minimum[1] <= 0 || rate_minimum[1] > 1) {
      throw std::invalid_argument("--anneal '" + anneal + "': RATE >= 0 and a MINIMUM temperature in (0, 1]");
    }
    config.anneal_rate = rate_minimum[0];
    config.minimum_temperature = rate_minimum[1];
    config.options["anneal"] = anneal;

    const std::string gumbel = option_or(settings, "gumbel", "soft");
    if (gumbel != "soft" && gumbel != "hard") {
      throw std::invalid_argument("--gumbel '" + gumbel + "': soft (relaxed samples) or hard (straight-through one-hots)");
    }
    config.hard = gumbel == "hard";
    config.options["gumbel"] = gumbel;

    const std::string labelled = option_or(settings, "labelled", "0");
    const bool weighted = labelled.find(':') != std::string::npos;
    const std::vector<double> fraction_weight = parse_numbers("labelled", labelled, weighted ? 2 : 1, ':');
    if (fraction_weight[0] < 0 || fraction_weight[0] > 1 || (weighted && fraction_weight[1] < 0)) {
      throw std::invalid_argument("--labelled '" + labelled + "': FRACTION in [0, 1] of the training images, then :WEIGHT >= 0");
    }
    config.labelled_fraction = fraction_weight[0];
    if (weighted) config.label_weight = fraction_weight[1];
    config.options["labelled"] = labelled;
  }
  if (continuous && discrete) {
    const std::string capacity = option_or(settings, "capacity", "off");
    if (capacity != "off") {
      const std::vector<double> c = parse_numbers("capacity", capacity, 4, ':');
      if (c[0] < 0 || c[1] < 0 || c[2] <= 0 || c[3] < 1) {
        throw std::invalid_argument("--capacity '" + capacity + "': CONTINUOUS:DISCRETE nats >= 0, GAMMA > 0, STEPS >= 1");
      }
      config.capacity = true;
      config.continuous_capacity = c[0];
      config.discrete_capacity = c[1];
      config.gamma = c[2];
      config.capacity_steps = c[3];
    }
    config.options["capacity"] = capacity;
  }
  return std::make_unique<MlpVaeFamily>(config, settings);
}

std::unique_ptr<Family> create_continuous(const FamilySettings& s) { return create_with(mlp_vae_family(), s, true, false); }
std::unique_ptr<Family> create_discrete(const FamilySettings& s) { return create_with(discrete_vae_family(), s, false, true); }
std::unique_ptr<Family> create_joint(const FamilySettings& s) { return create_with(joint_vae_family(), s, true, true); }

std::vector<Figure> figures(bool continuous, bool discrete) {
  std::vector<Figure> f = {{"loss.png", "loss curves", 0},
                           {"reconstructions.png", "test inputs (left of each pair) and reconstructions from the posterior mode", 2 * 16 * 28},
                           {"samples.png", "prior samples (decoder means)", 2 * 8 * 28}};
  if (continuous) {
    f.push_back({"latent_scatter.png", "the latent space: test-set continuous posterior means by digit", 0});
    f.push_back({"latent_colours.png", "the same by colour (coloured data only)", 0});
  }
  if (discrete) f.push_back({"control.png", "control: one row per category of each of the first two categorical variables (named on the left in the run's page), the rest of the latent fixed per column", 0});
  return f;
}

const char* kDiscreteHelp =
    "--categorical NxK (N variables of K categories), --anneal RATE:MINIMUM (temperature max(MINIMUM, exp(-RATE * step)), "
    "default 0.0003:0.5), --gumbel soft|hard (straight-through), --labelled FRACTION[:WEIGHT] (anchor variable 0 to the "
    "digit and 1 to the colour with that fraction of labels, the classification weighted WEIGHT, default 50)";

// Whether training image `index` is one of the labelled fraction: a fixed pseudo-random choice per
// image, so that a subset of the training set keeps its images' status.
bool is_labelled(int64_t index, double fraction) { return Rng(static_cast<uint64_t>(index)).uniform() < fraction; }

const auto printed = format_text;

}  // namespace

const FamilyDescription& mlp_vae_family() {
  static const FamilyDescription description{
      "mlp-vae", "seed 004's continuous VAE: MLP 512-256 encoder and decoder, Gaussian latent of --latent dimensions",
      columns(), figures(true, false), create_continuous, "none"};
  return description;
}

const FamilyDescription& discrete_vae_family() {
  static const FamilyDescription description{
      "discrete-vae", "seed 004's discrete VAE: the mlp-vae's layers with N categorical latents of K categories (Gumbel-softmax)",
      columns(), figures(false, true), create_discrete, "none", kDiscreteHelp};
  return description;
}

const FamilyDescription& joint_vae_family() {
  static const FamilyDescription description{
      "joint-vae", "seed 004's joint VAE: a Gaussian latent of --latent dimensions and N categorical latents of K categories",
      columns(), figures(true, true), create_joint, "none",
      "as discrete-vae, and --capacity CONT:DISC:GAMMA:STEPS (Dupont 2018's capacity-controlled KL terms; default off)"};
  return description;
}

CategoryNamesImpl::CategoryNamesImpl(int64_t variables, int64_t categories) {
  colour_kind = register_buffer("colour_kind", torch::zeros({variables}, torch::kLong));
  label_of = register_buffer("label_of", torch::full({variables, categories}, -1, torch::kLong));
  agreeing = register_buffer("agreeing", torch::zeros({variables, categories}, torch::kLong));
  purity = register_buffer("purity", torch::zeros({variables}, torch::kFloat64));
  named = register_buffer("named", torch::zeros({}, torch::kLong));
}

MlpVaeFamily::MlpVaeFamily(const MlpVaeConfig& config, const FamilySettings& settings)
    : config_(config),
      model_(config.shape),
      names_(config.shape.variables, config.shape.categories),
      optimizer_(model_->parameters(), torch::optim::AdamOptions(settings.learning_rate)) {
  schedule_ = std::make_shared<torch::nn::Module>();
  step_ = schedule_->register_buffer("step", torch::zeros({}, torch::kLong));
}

std::vector<NamedModule> MlpVaeFamily::modules() {
  return {{"model", model_.ptr()}, {"category_names", names_.ptr()}, {"schedule", schedule_}};
}

std::vector<NamedOptimizer> MlpVaeFamily::optimizers() { return {{"optimizer", &optimizer_}}; }

void MlpVaeFamily::check_images(const ImageDataset& images, const std::string& dir) const {
  const MlpVaeShape& s = config_.shape;
  if (images.channels != s.channels || images.height != s.height || images.width != s.width) {
    throw std::runtime_error("dataset '" + dir + "' has images of " + std::to_string(images.height) + " x " +
                             std::to_string(images.width) + " x " + std::to_string(images.channels) + "; this " +
                             description().name + " model reads " + std::to_string(s.height) + " x " +
                             std::to_string(s.width) + " x " + std::to_string(s.channels));
  }
}

double MlpVaeFamily::temperature() const {
  return annealed_temperature(step_.item<int64_t>(), config_.anneal_rate, config_.minimum_temperature);
}

void MlpVaeFamily::set_training_labels(const TrainingLabels& labels) {
  labels_ = labels;
  labelled_ = torch::Tensor();
  if (config_.labelled_fraction <= 0 || !labels.digits.defined()) return;
  const MlpVaeShape& s = config_.shape;
  const int64_t digit_max = labels.digits.max().item<int64_t>();
  const int64_t colour_max = labels.colours.defined() && s.variables > 1 ? labels.colours.max().item<int64_t>() : -1;
  if (digit_max >= s.categories || colour_max >= s.categories) {
    throw std::invalid_argument("--labelled anchors categorical variable 0 to the " + std::to_string(digit_max + 1) +
                                " digits" + (colour_max >= 0 ? " and 1 to the " + std::to_string(colour_max + 1) + " colours" : "") +
                                "; --categorical has only " + std::to_string(s.categories) + " categories per variable");
  }
  std::vector<int64_t> chosen;
  for (int64_t i = 0; i < labels.digits.size(0); ++i) {
    if (is_labelled(i, config_.labelled_fraction)) chosen.push_back(i);
  }
  if (chosen.empty()) {
    throw std::invalid_argument("--labelled " + config_.options["labelled"] + " labels none of the " +
                                std::to_string(labels.digits.size(0)) + " training images; give a larger fraction");
  }
  labelled_ = torch::tensor(chosen, torch::kLong);
  std::fprintf(stderr, "%s: %lld labelled training images anchor the categorical variables (--labelled %s)\n",
               description().name, static_cast<long long>(chosen.size()), config_.options["labelled"].c_str());
}

torch::Tensor MlpVaeFamily::labelled_loss() {
  const MlpVaeShape& s = config_.shape;
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  const torch::Tensor pick = labelled_.index_select(0, torch::randint(labelled_.size(0), {kLabelledBatch}, generator, torch::kLong));
  const torch::Tensor x = binarize(labels_.images.index_select(0, pick), labels_.binarization, generator);
  const MlpVaePosterior q = model_->encode(x);
  std::vector<torch::Tensor> parts;
  torch::Tensor kl = torch::zeros({x.size(0)});
  if (q.mean.defined()) {
    parts.push_back(gaussian_sample(q.mean, q.log_variance, torch::randn_like(q.mean)));
    kl = kl + gaussian_kl(q.mean, q.log_variance);
  }
  // The anchored variables are the labels, one-hot: the decoder learns what each category draws.
  // The others are sampled as in the unlabelled loss.
  torch::Tensor code = gumbel_softmax(q.logits, temperature(), config_.hard);
  std::vector<torch::Tensor> targets = {labels_.digits.index_select(0, pick)};
  if (labels_.colours.defined() && s.variables > 1) targets.push_back(labels_.colours.index_select(0, pick));
  torch::Tensor cross_entropy = torch::zeros({x.size(0)});
  const int64_t anchored = static_cast<int64_t>(targets.size());
  std::vector<torch::Tensor> variables;
  for (int64_t v = 0; v < s.variables; ++v) {
    if (v < anchored) {
      variables.push_back(torch::one_hot(targets[v], s.categories).to(torch::kFloat32));
      cross_entropy = cross_entropy + torch::nn::functional::cross_entropy(
                                          q.logits.select(1, v), targets[v],
                                          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    } else {
      variables.push_back(code.select(1, v));
    }
  }
  if (anchored < s.variables) kl = kl + categorical_kl(q.logits.slice(1, anchored));
  parts.push_back(torch::stack(variables, 1).flatten(1));
  const torch::Tensor reconstruction = bernoulli_cross_entropy(model_->decode_logits(torch::cat(parts, 1)), x);
  return (reconstruction + kl + config_.label_weight * cross_entropy).mean();
}

double MlpVaeFamily::compute_gradients(const torch::Tensor& batch) {
  optimizer_.zero_grad();
  const MlpVaePosterior q = model_->encode(batch);
  std::vector<torch::Tensor> parts;
  torch::Tensor kl = torch::zeros({batch.size(0)});
  const auto step = static_cast<double>(step_.item<int64_t>());
  auto capacity = [&](double maximum) { return std::min(maximum, maximum * step / config_.capacity_steps); };
  if (q.mean.defined()) {
    parts.push_back(gaussian_sample(q.mean, q.log_variance, torch::randn_like(q.mean)));
    const torch::Tensor kl_continuous = gaussian_kl(q.mean, q.log_variance);
    kl = kl + (config_.capacity ? config_.gamma * (kl_continuous - capacity(config_.continuous_capacity)).abs()
                                : kl_continuous);
  }
  if (q.logits.defined()) {
    parts.push_back(gumbel_softmax(q.logits, temperature(), config_.hard).flatten(1));
    const torch::Tensor kl_discrete = categorical_kl(q.logits);
    kl = kl + (config_.capacity ? config_.gamma * (kl_discrete - capacity(config_.discrete_capacity)).abs()
                                : kl_discrete);
  }
  const torch::Tensor reconstruction = bernoulli_cross_entropy(model_->decode_logits(torch::cat(parts, 1)), batch);
  torch::Tensor loss = (reconstruction + kl).mean();
  if (labelled_.defined() && labelled_.size(0) > 0) loss = loss + labelled_loss();
  const double value = loss.item<double>();
  if (!std::isfinite(value)) return value;
  loss.backward();
  return value;
}

void MlpVaeFamily::apply_gradients() {
  optimizer_.step();
  step_ += 1;
}

torch::Tensor MlpVaeFamily::training_codes(const torch::Tensor& train_images) {
  if (config_.shape.continuous == 0) {
    throw std::invalid_argument(std::string("this ") + description().name +
                                " model has no continuous latent: a mixture prior is over Gaussian dimensions only");
  }
  torch::NoGradGuard no_grad;
  model_->eval();
  return in_batches(train_images, [&](const torch::Tensor& x) { return model_->encode(x).mean; });
}

torch::Tensor MlpVaeFamily::training_categories(const torch::Tensor& train_images) {
  torch::NoGradGuard no_grad;
  model_->eval();
  return in_batches(train_images, [&](const torch::Tensor& x) { return model_->encode(x).logits.argmax(-1); });
}

void MlpVaeFamily::label_latents(const torch::Tensor& train_images) {
  if (config_.shape.variables == 0 || !labels_.digits.defined()) return;
  torch::NoGradGuard no_grad;
  const int64_t n = std::min(train_images.size(0), labels_.digits.size(0));
  const int64_t variables = config_.shape.variables, categories = config_.shape.categories;
  const torch::Tensor chosen = in_batches(train_images.slice(0, 0, n), [&](const torch::Tensor& x) {
    return model_->encode(x).logits.argmax(-1);
  });  // [n, N]
  const auto count = [&](const torch::Tensor& labels, int64_t label_count, int64_t v) {
    // counts[k][label] of variable v.
    const torch::Tensor flat = chosen.select(1, v) * label_count + labels.slice(0, 0, n).clamp(0, label_count - 1);
    const torch::Tensor table = torch::bincount(flat, {}, categories * label_count).view({categories, label_count});
    CategoryCounts counts(static_cast<std::size_t>(categories));
    const auto t = table.accessor<int64_t, 2>();
    for (int64_t k = 0; k < categories; ++k) {
      for (int64_t l = 0; l < label_count; ++l) counts[static_cast<std::size_t>(k)].push_back(t[k][l]);
    }
    return counts;
  };
  const std::vector<std::string> digits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  const std::vector<std::string> colours = colour_names();
  for (int64_t v = 0; v < variables; ++v) {
    const CategoryCounts digit_counts = count(labels_.digits, static_cast<int64_t>(digits.size()), v);
    const CategoryCounts colour_counts =
        labels_.colours.defined() ? count(labels_.colours, static_cast<int64_t>(colours.size()), v) : CategoryCounts();
    // An anchored variable is what its labels made it (set_training_labels).
    std::string kind;
    if (labelled_.defined() && v == 0) kind = "digit";
    if (labelled_.defined() && v == 1 && labels_.colours.defined()) kind = "colour";
    const VariableNaming naming = name_variable(digit_counts, colour_counts, digits, colours, kind);
    names_->colour_kind[v] = naming.kind == "colour" ? 1 : 0;
    for (int64_t k = 0; k < categories; ++k) {
      names_->label_of[v][k] = naming.label_of[static_cast<std::size_t>(k)];
      names_->agreeing[v][k] = naming.agreeing[static_cast<std::size_t>(k)];
    }
    names_->purity[v] = naming.purity;
  }
  names_->named.fill_(1);
}

namespace {

// What MlpVaeFamily::evaluation_sums returns, in order.
enum Sum { kReconstructionSum, kKlContinuousSum, kKlDiscreteSum, kImages, kSums };

}  // namespace

std::vector<double> MlpVaeFamily::evaluation_sums(const torch::Tensor& images, const EvaluationRequest& request,
                                                  int64_t begin, int64_t end) {
  torch::NoGradGuard no_grad;
  std::vector<double> sums(kSums, 0.0);
  if (end <= begin) return sums;
  // The noise of the whole set, drawn in one go, so that any split of it among ranks sees the same.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(request.seed);
  const MlpVaeShape& s = config_.shape;
  const int64_t total = images.size(0);
  const torch::Tensor eps = torch::randn({total, s.continuous}, generator).slice(0, begin, end);
  const torch::Tensor uniform = torch::rand({total, s.variables, s.categories}, generator).slice(0, begin, end);
  for (int64_t from = begin; from < end; from += 1000) {
    const int64_t to = std::min(end, from + 1000);
    const torch::Tensor x = images.slice(0, from, to);
    const MlpVaePosterior q = model_->encode(x);
    std::vector<torch::Tensor> parts;
    if (q.mean.defined()) {
      parts.push_back(gaussian_sample(q.mean, q.log_variance, eps.slice(0, from - begin, to - begin)));
      sums[kKlContinuousSum] += gaussian_kl(q.mean, q.log_variance).sum().item<double>();
    }
    if (q.logits.defined()) {
      // An exact categorical sample (Gumbel-max), not a relaxed one: the ELBO of the discrete model.
      const torch::Tensor pick = (q.logits + gumbel_noise(uniform.slice(0, from - begin, to - begin))).argmax(-1);
      parts.push_back(torch::one_hot(pick, s.categories).to(torch::kFloat32).flatten(1));
      sums[kKlDiscreteSum] += categorical_kl(q.logits).sum().item<double>();
    }
    const torch::Tensor logits = model_->decode_logits(torch::cat(parts, 1));
    sums[kReconstructionSum] += bernoulli_cross_entropy(logits, x).sum().item<double>();
  }
  sums[kImages] = static_cast<double>(end - begin);
  return sums;
}

Evaluation MlpVaeFamily::evaluation_from_sums(const std::vector<double>& sums, const EvaluationRequest& request) {
  (void)request;
  if (sums.size() != kSums) throw std::logic_error("an MLP VAE evaluation has " + std::to_string(kSums) + " sums");
  const double n = std::max(sums[kImages], 1.0);
  const double reconstruction = sums[kReconstructionSum] / n, kl_c = sums[kKlContinuousSum] / n,
               kl_d = sums[kKlDiscreteSum] / n;
  const double loss = reconstruction + kl_c + kl_d;
  Evaluation evaluation;
  evaluation.figures = {loss, reconstruction, kl_c, kl_d};
  evaluation.line = printed("test loss %.2f nats", loss);
  evaluation.report = printed("negative ELBO %.2f nats (reconstruction %.2f, KL continuous %.2f, KL discrete %.2f)\n",
                              loss, reconstruction, kl_c, kl_d);
  return evaluation;
}

std::string MlpVaeFamily::summarize(const std::vector<double>& figures, Binarization binarization) const {
  if (figures.size() != kCount) throw std::logic_error("an MLP VAE run has " + std::to_string(kCount) + " test figures");
  return printed("test negative ELBO %.2f nats (reconstruction %.2f, KL continuous %.2f, KL discrete %.2f, %s binarisation)",
                 figures[kLoss], figures[kReconstruction], figures[kKlContinuous], figures[kKlDiscrete],
                 to_string(binarization));
}

PageTable MlpVaeFamily::test_figures_table(const ReportInputs& in) const {
  const EpochReport& last = in.epochs.back();
  const std::vector<double>& f = last.test;
  PageTable table;
  table.heading = "Test figures after epoch " + std::to_string(last.epoch) + " (nats per image, " +
                  to_string(in.options.binarization) + " binarisation)";
  table.rows = {{"negative ELBO", format_number(f[kLoss])},
                {"reconstruction (cross-entropy)", format_number(f[kReconstruction])},
                {"KL continuous", format_number(f[kKlContinuous])},
                {"KL discrete", format_number(f[kKlDiscrete])}};
  return table;
}

}  // namespace latentkit::trainer
