// Training and evaluating the seed-000 CVAE on an IDX image dataset (MNIST, Fashion-MNIST).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/thread_config.h"

namespace latentkit::trainer {

// How grey pixels become the 0/1 observations of the Bernoulli likelihood.
enum class Binarization {
  dynamic,  // each pixel ~ Bernoulli(intensity): redrawn every epoch in training, drawn once
            // with a fixed seed for the test set. What papers report; the default.
  fixed,    // threshold at 0.5, as in the seed-000 tutorial
};
const char* to_string(Binarization b);
Binarization parse_binarization(const std::string& name);  // "dynamic" or "static"

// The default schedule: finishes within 10 minutes on 2 cores (README) with the seed-000 model.
struct TrainOptions {
  std::string data_dir = "data/mnist";
  std::string run_dir = "runs/cvae";
  bool overwrite = false;
  int64_t latent_dims = 2;
  int64_t epochs = 8;
  int64_t batch_size = 128;
  double learning_rate = 1e-3;   // Adam, cosine-decayed to 0 over the run
  uint64_t seed = 1;
  int64_t train_limit = 0;       // 0 = the whole training split; else its first N images
  int64_t test_limit = 0;
  Binarization binarization = Binarization::dynamic;
  ThreadConfig threads;
};

struct EvalResult {
  double elbo = 0;            // nats per image (higher is better)
  double reconstruction = 0;  // nats per image
  double kl = 0;              // nats per image
};

struct EpochReport {
  int64_t epoch = 0;
  double train_loss = 0;  // negative ELBO per image, averaged over the epoch
  EvalResult test;
  double images_per_second = 0;
  double seconds = 0;
};

// Mean ELBO over `images` ([N, 1, 28, 28], already binarised) with one posterior sample per
// image drawn from a generator seeded with `seed`.
EvalResult evaluate(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t batch_size = 500);

// Trains into options.run_dir: checkpoint.pt (after every epoch) and metrics.csv. Refuses a run
// folder that already holds a run unless options.overwrite.
std::vector<EpochReport> train_cvae(const TrainOptions& options,
                                    const std::function<void(const EpochReport&)>& on_epoch = {});

// Decodes `latents` ([N, latent] row-major) with the libtorch decoder: N images, HWC, in [0, 1].
std::vector<float> decode_images(Cvae& model, const std::vector<float>& latents);

}  // namespace latentkit::trainer
