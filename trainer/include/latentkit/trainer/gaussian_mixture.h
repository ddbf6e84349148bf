// Ex-post density estimation (Ghosh et al. 2020, issue #23): a Gaussian mixture with diagonal
// covariances fitted to the codes a trained encoder gives the training set, which the exported
// file carries as its latent prior (graph.h's GaussianMixture). Torch-free: plain EM in double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "latentkit/graph.h"

namespace latentkit::trainer {

struct GaussianMixtureFit {
  GaussianMixture mixture;  // weights sum to 1 in double before the float conversion
  double log_likelihood = 0;  // mean per code, in nats, of the last E-step
  int iterations = 0;
};

// Fits `components` components to `codes` (n x dims, row-major): k-means++ seeding drawn from
// latentkit::Rng(seed), then EM until the mean log-likelihood gains less than 1e-6 of its
// magnitude, or 200 iterations. Variances are floored at 1e-6 (a component on one code would
// otherwise collapse). The same codes and seed give the same mixture, bit for bit.
// Throws Error(invalid_argument) for components < 1, fewer codes than components, a size that
// is not n x dims, or a code that is not finite.
GaussianMixtureFit fit_gaussian_mixture(const std::vector<double>& codes, int dims, int components, uint64_t seed);

// The mean log-likelihood, in nats per code, of `codes` (n x dims) under `mixture`. Throws
// Error(invalid_argument) when the sizes do not match.
double mean_log_likelihood(const GaussianMixture& mixture, const std::vector<double>& codes, int dims);

// The number of components chosen by held-out likelihood: every kHeldOutEvery-th code is held
// out, a mixture of each candidate size is fitted to the others (fit_gaussian_mixture, `seed`),
// and the size whose mixture gives the held-out codes the highest mean log-likelihood wins.
inline constexpr std::size_t kHeldOutEvery = 10;
struct ComponentChoice {
  int components = 0;
  double held_out_log_likelihood = 0;
  std::vector<std::pair<int, double>> held_out;  // (candidate, its held-out mean log-likelihood)
};
// Candidates above the number of codes fitted are skipped. Throws Error(invalid_argument) when
// fewer than kHeldOutEvery codes are given or no candidate can be fitted.
ComponentChoice choose_components(const std::vector<double>& codes, int dims, const std::vector<int>& candidates,
                                  uint64_t seed);

}  // namespace latentkit::trainer
