// Training the seed-000 CVAE on an IDX image dataset (MNIST, Fashion-MNIST).
//
// A run lives in one folder: checkpoint.pt (written atomically after every epoch and on Ctrl-C),
// metrics.csv, and the report (report.h: pictures and index.html). A run is never lost: Ctrl-C
// checkpoints at the next step boundary and `--resume` continues bit for bit; a NaN/Inf loss stops
// the run, naming the step, and keeps the last good checkpoint; a folder never mixes two runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/evaluation.h"
#include "latentkit/trainer/thread_config.h"

namespace latentkit::trainer {

// RunSettings (run_settings.h) plus what belongs to one session of the run.
struct TrainOptions : RunSettings {
  std::string run_dir = "runs/cvae";
  bool overwrite = false;
  bool resume = false;  // continue the run in run_dir (see resume_options)
  int64_t latent_dims = 2;  // stored in the checkpoint's RunInfo, like the binarisation
  Binarization binarization = Binarization::dynamic;
  bool write_report = true;  // pictures and index.html at the end (needs gnuplot for the plots)
  ThreadConfig threads;      // the caller applies them (apply_thread_config)

  // Test hooks. on_step runs after every optimizer step with the run's step count (a test calls
  // request_stop() from it to interrupt a run exactly where Ctrl-C would); the batch of step
  // inject_nan_at_step is poisoned with NaN (-1: never).
  std::function<void(int64_t step)> on_step;
  int64_t inject_nan_at_step = -1;
};

// The columns of metrics.csv (and of ResumeState::metrics).
constexpr int64_t kMetricColumns = 9;
const char* metrics_csv_header();

struct EpochReport {
  int64_t epoch = 0;
  double train_loss = 0;  // negative ELBO per image, averaged over the epoch
  EvalResult test;
  double images_per_second = 0;
  double seconds = 0;
};

struct TrainResult {
  std::vector<EpochReport> epochs;  // every epoch of the run, those before a resume included
  bool interrupted = false;         // stopped by Ctrl-C (or request_stop); checkpoint written
  int64_t step = 0;                 // optimizer steps done
};

// The loss the training step minimises: the mean over the batch of the negative ELBO (one
// posterior sample per image from libtorch's default generator). A function of (model, batch)
// only, so that data-parallel training wraps it in one place.
torch::Tensor training_loss(Cvae& model, const torch::Tensor& batch);

// One optimisation step: loss, backward, optimizer step. Returns the loss value; when it is not
// finite nothing is updated and the caller decides (the trainer stops).
double train_step(Cvae& model, torch::optim::Optimizer& optimizer, const torch::Tensor& batch);

// Trains into options.run_dir. Refuses a folder that holds a run unless options.overwrite. A run
// that fails (throws) leaves no half-written file behind, and nothing at all (not even the
// folders it created) unless it had written a checkpoint, from which it can be resumed.
TrainResult train_cvae(const TrainOptions& options,
                       const std::function<void(const EpochReport&)>& on_epoch = {});

// The options of the run in `run_dir`, read from its checkpoint, with resume set: pass them to
// train_cvae (after changing epochs or threads if wanted) to continue the run.
TrainOptions resume_options(const std::string& run_dir);

// What Ctrl-C does while train_cvae runs: the loop writes a checkpoint at the next step boundary
// and returns with interrupted set. Async-signal-safe.
void request_stop();

// Decodes `latents` ([N, latent] row-major) with the libtorch decoder: N images, HWC, in [0, 1].
std::vector<float> decode_images(Cvae& model, const std::vector<float>& latents);

}  // namespace latentkit::trainer
