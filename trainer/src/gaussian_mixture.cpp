#include "latentkit/trainer/gaussian_mixture.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "latentkit/error.h"
#include "latentkit/rng.h"

namespace latentkit::trainer {

namespace {

constexpr double kVarianceFloor = 1e-6;
constexpr double kRelativeTolerance = 1e-6;
constexpr int kMaxIterations = 200;

double squared_distance(const double* a, const double* b, int dims) {
  double s = 0;
  for (int d = 0; d < dims; ++d) s += (a[d] - b[d]) * (a[d] - b[d]);
  return s;
}

// k-means++ (Arthur and Vassilvitskii 2007): each next centre is a code drawn with probability
// proportional to its squared distance from the nearest centre so far.
std::vector<double> kmeans_plus_plus(const std::vector<double>& codes, int64_t n, int dims, int k, Rng& rng) {
  std::vector<double> centres;
  const auto code = [&](int64_t i) { return codes.data() + i * dims; };
  int64_t first = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
  centres.insert(centres.end(), code(first), code(first) + dims);
  std::vector<double> nearest(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  for (int c = 1; c < k; ++c) {
    const double* last = centres.data() + static_cast<std::size_t>(c - 1) * dims;
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], squared_distance(code(i), last, dims));
      total += nearest[i];
    }
    int64_t chosen = n - 1;
    if (total > 0) {
      const double u = rng.uniform() * total;
      double cumulative = 0;
      for (int64_t i = 0; i < n; ++i) {
        cumulative += nearest[i];
        if (u < cumulative) {
          chosen = i;
          break;
        }
      }
    } else {  // every code on a centre already: any code will do
      chosen = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
    }
    centres.insert(centres.end(), code(chosen), code(chosen) + dims);
  }
  return centres;
}

// log(weight_k) + the log of component k's normalising constant, for each component.
std::vector<double> log_normalisers(const std::vector<double>& weights, const std::vector<double>& variances, int dims) {
  const double log_2pi = std::log(2 * M_PI);
  std::vector<double> log_norm(weights.size());
  for (std::size_t k = 0; k < weights.size(); ++k) {
    double s = std::log(weights[k]);
    for (int d = 0; d < dims; ++d) s -= 0.5 * (log_2pi + std::log(variances[k * static_cast<std::size_t>(dims) + d]));
    log_norm[k] = s;
  }
  return log_norm;
}

// log p(code) under the mixture; each component's log(weight x density) of the code is left in
// `terms` (as many as components), for the E-step's responsibilities.
double log_density(const double* code, int dims, const std::vector<double>& log_norm, const std::vector<double>& means,
                   const std::vector<double>& variances, double* terms) {
  double top = -std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < log_norm.size(); ++k) {
    double s = log_norm[k];
    for (int d = 0; d < dims; ++d) {
      const double e = code[d] - means[k * static_cast<std::size_t>(dims) + d];
      s -= 0.5 * e * e / variances[k * static_cast<std::size_t>(dims) + d];
    }
    terms[k] = s;
    top = std::max(top, s);
  }
  double sum = 0;
  for (std::size_t k = 0; k < log_norm.size(); ++k) sum += std::exp(terms[k] - top);
  return top + std::log(sum);
}

}  // namespace

GaussianMixtureFit fit_gaussian_mixture(const std::vector<double>& codes, int dims, int components, uint64_t seed) {
  if (components < 1) {
    throw Error(ErrorCode::invalid_argument, "a Gaussian mixture needs at least 1 component, not " +
                                                 std::to_string(components));
  }
  if (dims < 1 || codes.size() % static_cast<std::size_t>(dims) != 0) {
    throw Error(ErrorCode::invalid_argument, std::to_string(codes.size()) + " values are not codes of " +
                                                 std::to_string(dims) + " dimensions");
  }
  const int64_t n = static_cast<int64_t>(codes.size() / static_cast<std::size_t>(dims));
  if (n < components) {
    throw Error(ErrorCode::invalid_argument, "fitting " + std::to_string(components) + " components needs at least " +
                                                 std::to_string(components) + " codes, got " + std::to_string(n));
  }
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (!std::isfinite(codes[i])) {
      throw Error(ErrorCode::invalid_argument, "code " + std::to_string(i / static_cast<std::size_t>(dims)) +
                                                   " is not finite (dimension " +
                                                   std::to_string(i % static_cast<std::size_t>(dims)) + ")");
    }
  }
  const int k_count = components;
  const std::size_t kd = static_cast<std::size_t>(k_count) * static_cast<std::size_t>(dims);
  Rng rng(seed);
  std::vector<double> means = kmeans_plus_plus(codes, n, dims, k_count, rng);
  // Start every component with the codes' own variance per dimension and equal weights: EM's
  // first E-step then assigns codes to the nearest centres, as a k-means step would.
  std::vector<double> mean_all(static_cast<std::size_t>(dims), 0), var_all(static_cast<std::size_t>(dims), 0);
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < dims; ++d) mean_all[d] += codes[i * dims + d] / static_cast<double>(n);
  }
  for (int64_t i = 0; i < n; ++i) {
    for (int d = 0; d < dims; ++d) {
      const double e = codes[i * dims + d] - mean_all[d];
      var_all[d] += e * e / static_cast<double>(n);
    }
  }
  std::vector<double> variances(kd), weights(static_cast<std::size_t>(k_count), 1.0 / k_count);
  for (std::size_t j = 0; j < kd; ++j) variances[j] = std::max(var_all[j % static_cast<std::size_t>(dims)], kVarianceFloor);

  std::vector<double> resp(static_cast<std::size_t>(n) * k_count);
  double previous = -std::numeric_limits<double>::infinity(), log_likelihood = 0;
  int iteration = 0;
  while (iteration < kMaxIterations) {
    ++iteration;
    // E-step: responsibilities from log densities, normalised with log-sum-exp.
    const std::vector<double> log_norm = log_normalisers(weights, variances, dims);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      double* r = resp.data() + i * k_count;
      const double log_p = log_density(codes.data() + i * dims, dims, log_norm, means, variances, r);
      for (int k = 0; k < k_count; ++k) r[k] = std::exp(r[k] - log_p);
      total += log_p;
    }
    log_likelihood = total / static_cast<double>(n);
    if (log_likelihood - previous < kRelativeTolerance * std::fabs(log_likelihood)) break;
    previous = log_likelihood;
    // M-step. A component no code is responsible for keeps its mean and variance, with a weight
    // just above 0 (the file's weights are positive).
    for (int k = 0; k < k_count; ++k) {
      double mass = 0;
      for (int64_t i = 0; i < n; ++i) mass += resp[i * k_count + k];
      weights[k] = std::max(mass / static_cast<double>(n), 1e-12);
      if (mass < 1e-12) continue;
      for (int d = 0; d < dims; ++d) {
        double m = 0;
        for (int64_t i = 0; i < n; ++i) m += resp[i * k_count + k] * codes[i * dims + d];
        m /= mass;
        double v = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double e = codes[i * dims + d] - m;
          v += resp[i * k_count + k] * e * e;
        }
        means[k * dims + d] = m;
        variances[k * dims + d] = std::max(v / mass, kVarianceFloor);
      }
    }
    double weight_sum = 0;
    for (double w : weights) weight_sum += w;
    for (double& w : weights) w /= weight_sum;
  }

  GaussianMixtureFit fit;
  fit.log_likelihood = log_likelihood;
  fit.iterations = iteration;
  fit.mixture.weights.assign(weights.begin(), weights.end());
  fit.mixture.means.assign(means.begin(), means.end());
  fit.mixture.variances.assign(variances.begin(), variances.end());
  // A weight of 1e-12 survives the float conversion; a variance floored at 1e-6 too.
  return fit;
}

double mean_log_likelihood(const GaussianMixture& mixture, const std::vector<double>& codes, int dims) {
  const std::size_t k_count = static_cast<std::size_t>(mixture.components());
  if (k_count == 0 || dims < 1 || mixture.means.size() != k_count * static_cast<std::size_t>(dims) ||
      codes.empty() || codes.size() % static_cast<std::size_t>(dims) != 0) {
    throw Error(ErrorCode::invalid_argument, std::to_string(codes.size()) + " values are not codes of the mixture's " +
                                                 std::to_string(dims) + " dimensions");
  }
  const std::vector<double> weights(mixture.weights.begin(), mixture.weights.end()),
      means(mixture.means.begin(), mixture.means.end()), variances(mixture.variances.begin(), mixture.variances.end());
  const std::vector<double> log_norm = log_normalisers(weights, variances, dims);
  std::vector<double> terms(k_count);
  const std::size_t n = codes.size() / static_cast<std::size_t>(dims);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += log_density(codes.data() + i * dims, dims, log_norm, means, variances, terms.data());
  return total / static_cast<double>(n);
}

ComponentChoice choose_components(const std::vector<double>& codes, int dims, const std::vector<int>& candidates,
                                  uint64_t seed) {
  if (dims < 1 || codes.size() % static_cast<std::size_t>(dims) != 0) {
    throw Error(ErrorCode::invalid_argument, std::to_string(codes.size()) + " values are not codes of " +
                                                 std::to_string(dims) + " dimensions");
  }
  // Every kHeldOutEvery-th code is held out: the codes come in the dataset's order, which is
  // not sorted by anything that matters, and the split is the same for every candidate.
  std::vector<double> fit_codes, held_out;
  const std::size_t n = codes.size() / static_cast<std::size_t>(dims);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double>& to = i % kHeldOutEvery == kHeldOutEvery - 1 ? held_out : fit_codes;
    to.insert(to.end(), codes.begin() + static_cast<std::ptrdiff_t>(i * dims),
              codes.begin() + static_cast<std::ptrdiff_t>((i + 1) * dims));
  }
  if (held_out.empty()) {
    throw Error(ErrorCode::invalid_argument, "choosing the number of components needs at least " +
                                                 std::to_string(kHeldOutEvery) + " codes, got " + std::to_string(n));
  }
  ComponentChoice choice;
  const std::size_t fit_count = fit_codes.size() / static_cast<std::size_t>(dims);
  for (const int k : candidates) {
    if (k < 1 || static_cast<std::size_t>(k) > fit_count) continue;
    const GaussianMixtureFit fit = fit_gaussian_mixture(fit_codes, dims, k, seed);
    const double score = mean_log_likelihood(fit.mixture, held_out, dims);
    choice.held_out.push_back({k, score});
    if (choice.components == 0 || score > choice.held_out_log_likelihood) {
      choice.components = k;
      choice.held_out_log_likelihood = score;
    }
  }
  if (choice.components == 0) {
    throw Error(ErrorCode::invalid_argument, "none of the candidate numbers of components fits " +
                                                 std::to_string(fit_count) + " codes");
  }
  return choice;
}

}  // namespace latentkit::trainer
