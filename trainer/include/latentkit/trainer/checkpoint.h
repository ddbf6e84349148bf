// A training run's checkpoint: the family it belongs to, its modules and optimisers, what export
// needs to know, and everything a resumed run needs to continue exactly where the first one
// stopped.
#pragma once

#include <memory>
#include <string>

#include <torch/torch.h>

#include "latentkit/trainer/family.h"
#include "latentkit/trainer/run_info.h"
#include "latentkit/trainer/run_settings.h"

namespace latentkit::trainer {

// Checkpoints written before they named their family are all of this one.
constexpr const char* kFamilyOfUnnamedCheckpoints = "cvae";

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
  torch::Tensor torch_rng;     // libtorch's default CPU generator (e.g. a VAE's reparameterisation noise)
  torch::Tensor data_rng;      // the data generator as it was when epoch epochs_done + 1 began
  // A data-parallel run's default generators, one row per rank ([world size, state bytes] uint8;
  // row 0 is torch_rng): each rank draws its own noise and resumes its own stream. Undefined
  // for a run of one process.
  torch::Tensor rank_torch_rngs;
  torch::Tensor metrics;       // [epochs_done, columns] float64: the metrics.csv rows (metrics_table.h)
};

// Written to `path`.tmp, flushed to disk, renamed over `path`, and the folder flushed: a crash or
// kill -9 while writing leaves the previous checkpoint intact. `resume` may be null (export tests).
void save_checkpoint(const std::string& path, Family& family, const RunInfo& info,
                     const ResumeState* resume = nullptr);

struct LoadedCheckpoint {
  std::unique_ptr<Family> family;  // its modules loaded (the optimisers' state is for resuming)
  RunInfo info;
};
// Builds the family the checkpoint names (kFamilyOfUnnamedCheckpoints when it names none) and
// loads its modules. Throws std::runtime_error naming the file when it is not a readable
// checkpoint, and naming the family and the known ones when this latentkit has no such family.
LoadedCheckpoint load_checkpoint(const std::string& path);

// For --resume: returns the saved settings and progress and, when `family` is not null, loads the
// optimisers' state into it (the family load_checkpoint returned). Throws std::runtime_error when
// the checkpoint has no resume state (written by an older trainer).
ResumeState load_resume_state(const std::string& path, Family* family = nullptr);

// The dataset the run was trained on as its --data named it (a name or a folder): the resume
// state's, or for a checkpoint without one (an older trainer) its info's dataset name. What
// eval and export use when they are not given a dataset.
std::string run_dataset(const std::string& path);

}  // namespace latentkit::trainer
