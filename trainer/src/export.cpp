#include "latentkit/trainer/export.h"

#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>

#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/gaussian_mixture.h"
#include "latentkit/trainer/mnist.h"

namespace latentkit::trainer {

int parse_prior(const std::string& text) {
  if (text == "normal") return 0;
  if (text == "gmm:auto") return kAutoComponents;
  const std::string digits = text.rfind("gmm:", 0) == 0 ? text.substr(4) : "";
  if (!digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string::npos) {
    const int k = std::stoi(digits);
    if (k >= 1 && k <= 256) return k;
  }
  throw std::invalid_argument("--prior takes normal, gmm:K with K from 1 to 256 components, or gmm:auto, not '" + text + "'");
}

namespace {

void attach_category_shares(LatentSpec& spec, const std::vector<std::vector<float>>& shares) {
  std::size_t variable = 0;
  for (LatentGroup& g : spec.groups) {
    if (g.kind != LatentKind::categorical) continue;
    g.category_weights.clear();
    for (int v = 0; v < g.count; ++v, ++variable) {
      if (variable >= shares.size() || shares[variable].size() != static_cast<std::size_t>(g.size)) {
        throw std::logic_error("the fitted category prior does not match latent group '" + g.name + "'");
      }
      g.category_weights.insert(g.category_weights.end(), shares[variable].begin(), shares[variable].end());
    }
  }
  if (variable != shares.size()) throw std::logic_error("the fitted category prior has more variables than the latent");
}

}  // namespace

void attach_prior(LatentSpec& spec, const ExportOptions& options) {
  if (!options.category_shares.empty()) attach_category_shares(spec, options.category_shares);
  if (options.prior.components() == 0) return;
  for (LatentGroup& g : spec.groups) {
    if (g.kind != LatentKind::gaussian) continue;
    if (options.prior.means.size() != static_cast<std::size_t>(options.prior.components()) * g.size) {
      throw std::logic_error("the fitted prior is not over latent group '" + g.name + "' (" + std::to_string(g.size) +
                             " dimensions)");
    }
    g.mixture = options.prior;
    return;
  }
  throw std::invalid_argument("the model has no Gaussian latent group to put a mixture prior on");
}

namespace {

// The first kPriorFitImages training images of the export's dataset as the run's training saw
// them (its binarisation; a dynamic one drawn once with a fixed seed): what the priors are
// fitted to.
torch::Tensor prior_fit_images(Family& family, const RunInfo& info, const ExportOptions& options) {
  const std::string& dir = options.calibration_data_dir;
  const ImageDataset images = load_dataset(resolve_dataset(dir), Split::train, kPriorFitImages);
  family.check_images(images, dir);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
  const Binarization binarization = info.binarization.empty() ? Binarization::none : parse_binarization(info.binarization);
  return binarize(to_tensor(images), binarization, generator);
}

// The mixture of options.prior_components fitted to the family's codes of `x`; for gmm:auto, of
// the size chosen by held-out likelihood, whose figures go to `held_out`.
GaussianMixture fit_prior(Family& family, const torch::Tensor& x, const ExportOptions& options,
                          std::vector<std::pair<int, double>>& held_out) {
  torch::NoGradGuard no_grad;
  const torch::Tensor codes = family.training_codes(x).to(torch::kFloat64).contiguous();
  const double* begin = codes.data_ptr<double>();
  const std::vector<double> values(begin, begin + codes.numel());
  const int dims = static_cast<int>(codes.size(1));
  int components = options.prior_components;
  if (components == kAutoComponents) {
    const ComponentChoice choice = choose_components(values, dims, kAutoCandidates, 0);
    components = choice.components;
    held_out = choice.held_out;
  }
  return fit_gaussian_mixture(values, dims, components, 0).mixture;
}

// Each categorical variable's category shares among `categories` ([N, variables] indices).
std::vector<std::vector<float>> category_shares(const torch::Tensor& categories, int64_t size) {
  std::vector<std::vector<float>> shares;
  const int64_t n = categories.size(0);
  for (int64_t v = 0; v < categories.size(1); ++v) {
    const torch::Tensor counts = torch::bincount(categories.select(1, v).to(torch::kLong), {}, size).to(torch::kFloat64);
    const torch::Tensor share = (counts / static_cast<double>(n)).to(torch::kFloat32).contiguous();
    shares.emplace_back(share.data_ptr<float>(), share.data_ptr<float>() + share.numel());
  }
  return shares;
}

}  // namespace

ExportReport export_run(const std::string& checkpoint_path, const std::string& output_path,
                        const ExportOptions& options) {
  LoadedCheckpoint checkpoint = load_checkpoint(checkpoint_path);
  ExportOptions resolved = options;
  if (resolved.calibration_data_dir.empty()) resolved.calibration_data_dir = run_dataset(checkpoint_path);
  std::vector<std::pair<int, double>> held_out;
  Family& family = *checkpoint.family;
  // Only a family with categorical latents needs the training images for its category prior.
  const bool categorical = options.fit_category_prior && family.category_count() > 0;
  int64_t category_images = 0;
  if (options.prior_components != 0 || categorical) {
    torch::Tensor x;
    try {
      x = prior_fit_images(family, checkpoint.info, resolved);
    } catch (const std::runtime_error& e) {
      // What asked for the images, and how to do without them.
      throw std::runtime_error(std::string(e.what()) + (options.prior_components != 0
                                                            ? " (--prior gmm fits the training images' codes)"
                                                            : " (the category prior is fitted to the training images' "
                                                              "posteriors; --category-prior uniform exports without them)"));
    }
    if (options.prior_components != 0) resolved.prior = fit_prior(family, x, resolved, held_out);
    if (categorical) {
      const torch::Tensor picked = family.training_categories(x);
      resolved.category_shares = category_shares(picked, family.category_count());
      category_images = picked.size(0);
    }
  }
  ExportReport report = family.export_methods(checkpoint.info, output_path, resolved);
  report.prior_components = resolved.prior.components();
  report.prior_held_out = held_out;
  report.category_prior_images = category_images;
  report.dataset = resolved.calibration_data_dir;
  return report;
}

}  // namespace latentkit::trainer
