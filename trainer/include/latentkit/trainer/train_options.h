// What `latentkit train` asks of the training loop: the run's settings (run_settings.h, kept by
// the checkpoint) plus what belongs to one session of the run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/distributed/distributed_settings.h"
#include "latentkit/trainer/family_description.h"
#include "latentkit/trainer/run_settings.h"
#include "latentkit/trainer/thread_config.h"

namespace latentkit::trainer {

struct TrainOptions : RunSettings {
  std::string family;  // a name in the registry (family_registry.h)
  std::string run_dir;
  bool overwrite = false;
  bool resume = false;      // continue the run in run_dir (see resume_options)
  int64_t latent_dims = 2;  // stored in the checkpoint's RunInfo, like the binarisation
  Binarization binarization = Binarization::dynamic;
  FamilyOptions family_options;  // the family's own flags (family_description.h); kept by the checkpoint
  bool write_report = true;  // pictures and index.html at the end (needs gnuplot for the plots)
  ThreadConfig threads;      // the caller applies them (apply_thread_config)
  // This process's place in a data-parallel run (world_size 1: none). Not a run setting: a run
  // may be resumed on another number of ranks.
  DistributedSettings distributed;

  // Test hooks. on_step runs after every optimizer step with the run's step count (a test calls
  // request_stop() from it to interrupt a run exactly where Ctrl-C would); the batch of step
  // inject_nan_at_step is poisoned with NaN (-1: never) on rank inject_nan_rank (-1: every rank).
  std::function<void(int64_t step)> on_step;
  int64_t inject_nan_at_step = -1;
  int inject_nan_rank = -1;
};

}  // namespace latentkit::trainer
