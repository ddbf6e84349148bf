// A training run's checkpoint: the model, the optimizer and what export needs to know.
#pragma once

#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/cvae.h"

namespace latentkit::trainer {

struct RunInfo {
  int64_t latent_dims = 2;
  std::string dataset;
  int64_t epochs_done = 0;
  double test_elbo = 0;  // nats per image, after the last epoch done
  double test_reconstruction = 0;
  double test_kl = 0;
  std::string binarization;
};

// Written to `path`.tmp, flushed to disk and renamed over `path`: a crash while writing leaves
// the previous checkpoint intact.
void save_checkpoint(const std::string& path, Cvae& model, torch::optim::Optimizer& optimizer,
                     const RunInfo& info);

struct LoadedCheckpoint {
  Cvae model{nullptr};
  RunInfo info;
};
// Model and run information (the optimizer state is for resuming, not for export).
LoadedCheckpoint load_checkpoint(const std::string& path);

}  // namespace latentkit::trainer
