// Training a model family on an IDX image dataset (MNIST, Fashion-MNIST): the loop every family
// shares (family.h says what a family brings).
//
// A run lives in one folder: checkpoint.pt (written atomically after every epoch and on Ctrl-C),
// metrics.csv, and the report (report.h: the family's pictures and index.html). A run is never
// lost: Ctrl-C checkpoints at the next step boundary and `--resume` continues bit for bit; a
// NaN/Inf loss stops the run, naming the step, and keeps the last good checkpoint; a folder never
// mixes two runs. The learning rate follows a cosine from the peak to 0 over the run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "latentkit/trainer/metrics_table.h"
#include "latentkit/trainer/train_options.h"

namespace latentkit::trainer {

struct TrainResult {
  std::vector<EpochReport> epochs;  // every epoch of the run, those before a resume included
  bool interrupted = false;         // stopped by Ctrl-C (or request_stop); checkpoint written
  int64_t step = 0;                 // optimizer steps done
  std::string summary;              // the last epoch's test figures in a phrase (Family::summarize)
};

// Trains a model of options.family into options.run_dir. Refuses a folder that holds a run unless
// options.overwrite, and an unknown family (naming the known ones). A run that fails (throws)
// leaves no half-written file behind, and nothing at all (not even the folders it created) unless
// it had written a checkpoint, from which it can be resumed.
TrainResult train(const TrainOptions& options, const std::function<void(const EpochReport&)>& on_epoch = {});

// The options of the run in `run_dir`, read from its checkpoint (its family included), with resume
// set: pass them to train() (after changing epochs or threads if wanted) to continue the run.
TrainOptions resume_options(const std::string& run_dir);

// What Ctrl-C does while train() runs: the loop writes a checkpoint at the next step boundary and
// returns with interrupted set. Async-signal-safe.
void request_stop();

}  // namespace latentkit::trainer
