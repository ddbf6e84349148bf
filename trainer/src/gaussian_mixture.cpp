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

  const double log_2pi = std::log(2 * M_PI);
  std::vector<double> resp(static_cast<std::size_t>(n) * k_count);
  double previous = -std::numeric_limits<double>::infinity(), log_likelihood = 0;
  int iteration = 0;
  while (iteration < kMaxIterations) {
    ++iteration;
    // E-step: responsibilities from log densities, normalised with log-sum-exp.
    std::vector<double> log_norm(static_cast<std::size_t>(k_count));
    for (int k = 0; k < k_count; ++k) {
      double s = std::log(weights[k]);
      for (int d = 0; d < dims; ++d) s -= 0.5 * (log_2pi + std::log(variances[k * dims + d]));
      log_norm[k] = s;
    }
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      double* r = resp.data() + i * k_count;
      double top = -std::numeric_limits<double>::infinity();
      for (int k = 0; k < k_count; ++k) {
        double s = log_norm[k];
        for (int d = 0; d < dims; ++d) {
          const double e = codes[i * dims + d] - means[k * dims + d];
          s -= 0.5 * e * e / variances[k * dims + d];
        }
        r[k] = s;
        top = std::max(top, s);
      }
      double sum = 0;
      for (int k = 0; k < k_count; ++k) sum += (r[k] = std::exp(r[k] - top));
      for (int k = 0; k < k_count; ++k) r[k] /= sum;
      total += top + std::log(sum);
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

}  // namespace latentkit::trainer
