// Ex-post density estimation (Ghosh et al. 2020, issue #23): a Gaussian mixture with diagonal
// covariances fitted to the codes a trained encoder gives the training set, which the exported
// file carries as its latent prior (graph.h's GaussianMixture). Torch-free: plain EM in double.
#pragma once

#include <cstdint>
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

}  // namespace latentkit::trainer
