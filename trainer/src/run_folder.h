// The rules of a run folder, for the training loop: a folder never mixes two runs, and a run that
// fails leaves nothing half-written behind.
#pragma once

#include <filesystem>
#include <string>

#include "latentkit/trainer/train_options.h"

namespace latentkit::trainer {

// The first folder on the way to `dir` (itself or an ancestor) that does not exist yet: what the
// run creates, and what a run that fails before its first checkpoint removes again. Empty if
// `dir` exists.
std::filesystem::path first_missing_folder(const std::string& dir);

// A new run refuses a folder that holds one, unless options.overwrite (which removes the old run's
// files, and only those); a resumed run needs the checkpoint. Creates the folder.
void prepare_run_dir(const TrainOptions& options);

// After a failed run: a run folder never keeps half-written files, and keeps nothing at all
// unless a checkpoint (a finished epoch, resumable) was written. `created` is what
// first_missing_folder returned before the run.
void clean_up_failed_run(const std::string& run_dir, const std::filesystem::path& created);

}  // namespace latentkit::trainer
