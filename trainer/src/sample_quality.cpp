#include "latentkit/trainer/sample_quality.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace latentkit::trainer {

namespace {

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream text;
  text << t.sizes();
  return text.str();
}

// The symmetric square root of a symmetric positive semi-definite matrix, from its eigenvectors.
torch::Tensor symmetric_sqrt(const torch::Tensor& m) {
  const auto [values, vectors] = torch::linalg_eigh(m);
  return vectors.mm(torch::diag(values.clamp_min(0).sqrt())).mm(vectors.t());
}

}  // namespace

FeatureStatistics feature_statistics(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2) {
    throw std::invalid_argument("feature statistics need [N, D] features with N >= 2, not " + shape_text(features));
  }
  const torch::Tensor x = features.to(torch::kFloat64);
  FeatureStatistics s;
  s.count = x.size(0);
  s.mean = x.mean(0);
  const torch::Tensor centred = x - s.mean;
  s.covariance = centred.t().mm(centred) / static_cast<double>(s.count - 1);
  return s;
}

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  if (a.mean.numel() != b.mean.numel()) {
    throw std::invalid_argument("Fréchet distance between features of " + std::to_string(a.mean.numel()) + " and " +
                                std::to_string(b.mean.numel()) + " dimensions");
  }
  // tr((S_a S_b)^1/2) = tr((S_a^1/2 S_b S_a^1/2)^1/2): the second is symmetric, so an
  // eigendecomposition gives it without the complex square root of a non-symmetric product.
  const torch::Tensor root_a = symmetric_sqrt(a.covariance);
  torch::Tensor product = root_a.mm(b.covariance).mm(root_a);
  product = (product + product.t()) * 0.5;  // symmetric again after rounding
  const double cross = torch::linalg_eigvalsh(product).clamp_min(0).sqrt().sum().item<double>();
  const double means = (a.mean - b.mean).pow(2).sum().item<double>();
  const double traces = a.covariance.trace().item<double>() + b.covariance.trace().item<double>();
  return std::max(0.0, means + traces - 2 * cross);
}

double classifier_score(const torch::Tensor& probabilities) {
  if (probabilities.dim() != 2 || probabilities.size(0) == 0) {
    throw std::invalid_argument("classifier score needs [N, classes] probabilities with N >= 1, not " +
                                shape_text(probabilities));
  }
  const torch::Tensor p = probabilities.to(torch::kFloat64).clamp_min(1e-30);
  const torch::Tensor marginal = p.mean(0, true);
  const double mean_kl = (p * (p.log() - marginal.log())).sum(1).mean().item<double>();
  return std::exp(mean_kl);
}

}  // namespace latentkit::trainer
