// Test-set figures of a CVAE, in nats per image: the ELBO with its two terms, and the
// importance-weighted estimate of log p(x) (IWAE, Burda et al. 2016).
//
// Both are computed on binarised images ([N, 1, 28, 28], values 0 or 1; binarization.h), so the
// figures depend on how grey pixels became 0/1: every report says which binarisation it used.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/cvae.h"

namespace latentkit::trainer {

struct EvalResult {
  double elbo = 0;            // nats per image (higher is better)
  double reconstruction = 0;  // nats per image
  double kl = 0;              // nats per image
  // log p(x) >= iwae >= elbo (in expectation); NaN when not measured.
  double iwae = std::numeric_limits<double>::quiet_NaN();
  int64_t iwae_k = 0;       // importance samples per image
  int64_t iwae_images = 0;  // images it was measured on (the first ones)
};

// Mean ELBO over `images` with one posterior sample per image drawn from a generator seeded with
// `seed` (the KL term is analytic).
EvalResult evaluate(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t batch_size = 500);

// The same figures' sums over images [begin, end) of `images` only (data-parallel evaluation:
// each rank takes a part of the test set). The noise of every image is the one evaluate() draws
// for it: the draws of the images before `begin` are made and discarded (a few numbers per image),
// so the parts' sums add up to the whole set's, up to float rounding, however it is split.
struct ElboSums {
  double reconstruction = 0;  // nats, summed over the part's images
  double kl = 0;
  int64_t images = 0;
};
ElboSums elbo_sums(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t begin, int64_t end,
                   int64_t batch_size = 500);

// The deterministic reconstruction error, what the exported `reconstruct` method gives: the mean
// squared error per pixel between `images` ([N, 1, H, W] in [0, 1]) and the decoder's image
// (sigmoid of its logits) of their posterior means. No noise, so the runtime must reproduce it.
double posterior_mean_reconstruction_mse(Cvae& model, const torch::Tensor& images, int64_t batch_size = 500);
// Its sum of squared errors over all pixels of `images` (no noise: any part of a set gives its share).
double posterior_mean_squared_error_sum(Cvae& model, const torch::Tensor& images, int64_t batch_size = 500);

// How many test images `latentkit eval` reports that error on: the first ones.
constexpr int64_t kReconstructionImages = 1000;

// Per-image IWAE bound [N] (float64): log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x), z_i ~ q(z|x),
// the noise from a generator seeded with `seed`. k = 1 is a one-sample ELBO estimate (Monte Carlo
// KL); the bound tightens towards log p(x) as k grows. At most `max_decodes` images go through the
// decoder at once, so memory stays bounded for any k (about 100 KB per image).
torch::Tensor iwae_per_image(Cvae& model, const torch::Tensor& images, int64_t k, uint64_t seed,
                             int64_t max_decodes = 512);
// The bound of images [begin, end) only, with the noise iwae_per_image(images) draws for them
// (the draws for the other images are made and discarded, not decoded). [end - begin] float64.
torch::Tensor iwae_per_image(Cvae& model, const torch::Tensor& images, int64_t k, uint64_t seed, int64_t begin,
                             int64_t end, int64_t max_decodes = 512);

// evaluate() on all images plus the IWAE bound with k samples on the first `iwae_images` of them
// (0: all; k = 0: no IWAE).
EvalResult evaluate_with_iwae(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t k,
                              int64_t iwae_images = 0);

}  // namespace latentkit::trainer
