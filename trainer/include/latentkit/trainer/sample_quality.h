// How good a generator's samples are, as the GAN and VAE literature measures it, in the feature
// space of the project's own classifier (judge.h) instead of Inception's: issue #23 compares
// priors with it, issue #21 scores a GAN per epoch with it.
//
//   Fréchet distance (Heusel et al. 2017, "FID"): the 2-Wasserstein distance between Gaussians
//   fitted to the features of the samples and of real images,
//     |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2);
//   classifier score (Salimans et al. 2016, "Inception score"): exp(E_x KL(p(y|x) || p(y))), from 1
//   (every sample the same class, or none clear) to the number of classes (clear and balanced).
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace latentkit::trainer {

// The mean and covariance (unbiased, divided by count - 1) of `features` [N, D], in double.
struct FeatureStatistics {
  torch::Tensor mean;        // [D]
  torch::Tensor covariance;  // [D, D]
  int64_t count = 0;
};
// Throws std::invalid_argument when `features` is not 2-D or has fewer than 2 rows.
FeatureStatistics feature_statistics(const torch::Tensor& features);

// Throws std::invalid_argument when the two have different feature sizes. Small negative
// eigenvalues that rounding leaves in the product are taken as 0.
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);

// probabilities [N, classes], each row summing to 1. Throws std::invalid_argument when not 2-D
// or empty.
double classifier_score(const torch::Tensor& probabilities);

}  // namespace latentkit::trainer
