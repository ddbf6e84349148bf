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

// Named schedules (docs/training.md). `default_schedule` is what TrainOptions holds unchanged:
// within 10 minutes on 2 cores. `long_schedule`: at most 60 minutes on 2 cores.
struct Schedule {
  const char* name;
  int64_t epochs;
  int64_t batch_size;
  double learning_rate;  // Adam, cosine-decayed to 0 over the run
};
constexpr Schedule kDefaultSchedule{"default", 8, 128, 1e-3};
constexpr Schedule kLongSchedule{"long", 60, 128, 1e-3};
Schedule parse_schedule(const std::string& name);  // "default" or "long"

struct TrainOptions {
  std::string data_dir = "data/mnist";  // a folder with the IDX pair (see resolve_dataset)
  std::string run_dir = "runs/cvae";
  bool overwrite = false;
  bool resume = false;  // continue the run in run_dir (see resume_options)
  int64_t latent_dims = 2;
  int64_t epochs = kDefaultSchedule.epochs;
  int64_t batch_size = kDefaultSchedule.batch_size;
  double learning_rate = kDefaultSchedule.learning_rate;
  uint64_t seed = 1;
  int64_t train_limit = 0;  // 0 = the whole training split; else its first N images
  int64_t test_limit = 0;
  Binarization binarization = Binarization::dynamic;
  // End-of-epoch IWAE bound: k samples per image on the first eval_images test images (k = 0:
  // none). `latentkit eval` measures the full test set with a larger k.
  int64_t eval_k = 50;
  int64_t eval_images = 500;
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

// Trains into options.run_dir. Refuses a folder that holds a run unless options.overwrite.
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
