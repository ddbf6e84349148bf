// A training run's checkpoint: the model, the optimizer, what export needs to know, and
// everything a resumed run needs to continue exactly where the first one stopped.
#pragma once

#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/run_settings.h"

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

// The run's settings and where it stands, so that `--resume` needs no flags and continues bit for
// bit: a run interrupted and resumed ends with the same weights as one that was not (same thread
// settings). The trainer fills it; the checkpoint only stores it.
struct ResumeState {
  RunSettings settings;
  // Progress. A checkpoint written between epochs has epoch_step 0; one written on Ctrl-C in the
  // middle of an epoch holds how far that epoch got.
  int64_t step = 0;            // optimizer steps done in the whole run
  int64_t epoch_step = 0;      // steps done in the unfinished epoch epochs_done + 1
  double epoch_loss_sum = 0;   // sum of per-image losses over those steps
  double epoch_seconds = 0;    // time spent on them
  torch::Tensor torch_rng;     // libtorch's default CPU generator (the reparameterisation noise)
  torch::Tensor data_rng;      // the data generator as it was when epoch epochs_done + 1 began
  torch::Tensor metrics;       // [epochs_done, kMetricColumns] float64: the metrics.csv rows
};

// Written to `path`.tmp, flushed to disk, renamed over `path`, and the folder flushed: a crash or
// kill -9 while writing leaves the previous checkpoint intact. `resume` may be null (export tests).
void save_checkpoint(const std::string& path, Cvae& model, torch::optim::Optimizer& optimizer,
                     const RunInfo& info, const ResumeState* resume = nullptr);

struct LoadedCheckpoint {
  Cvae model{nullptr};
  RunInfo info;
};
// Model and run information (the optimizer state is for resuming, not for export).
LoadedCheckpoint load_checkpoint(const std::string& path);

// For --resume: returns the saved settings and progress and, when `optimizer` is not null, loads
// the optimizer state into it (an optimizer built over the parameters of the model that
// load_checkpoint returned). Throws std::runtime_error when the checkpoint has no resume state
// (written by an older trainer).
ResumeState load_resume_state(const std::string& path, torch::optim::Optimizer* optimizer = nullptr);

}  // namespace latentkit::trainer
