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

void attach_prior(LatentSpec& spec, const ExportOptions& options) {
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

// The mixture of options.prior_components fitted to the family's codes of the training images, as
// the run's training saw them (its binarisation; a dynamic one drawn once with a fixed seed); for
// gmm:auto, of the size chosen by held-out likelihood, whose figures go to `held_out`.
GaussianMixture fit_prior(Family& family, const RunInfo& info, const ExportOptions& options,
                          std::vector<std::pair<int, double>>& held_out) {
  const std::string& dir = options.calibration_data_dir;
  const ImageDataset images = load_dataset(resolve_dataset(dir), Split::train, kPriorFitImages);
  family.check_images(images, dir);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
  const Binarization binarization = info.binarization.empty() ? Binarization::none : parse_binarization(info.binarization);
  const torch::Tensor x = binarize(to_tensor(images), binarization, generator);
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

}  // namespace

ExportReport export_run(const std::string& checkpoint_path, const std::string& output_path,
                        const ExportOptions& options) {
  LoadedCheckpoint checkpoint = load_checkpoint(checkpoint_path);
  ExportOptions resolved = options;
  std::vector<std::pair<int, double>> held_out;
  if (options.prior_components != 0) resolved.prior = fit_prior(*checkpoint.family, checkpoint.info, options, held_out);
  ExportReport report = checkpoint.family->export_methods(checkpoint.info, output_path, resolved);
  report.prior_components = resolved.prior.components();
  report.prior_held_out = held_out;
  return report;
}

}  // namespace latentkit::trainer
