// What the registry knows of a model family without building one: its name, the test figures it
// adds to metrics.csv and the pictures it adds to a run folder. Torch-free, so that a program that
// only lists the families (the CLI's help, its tests) needs no libtorch headers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "latentkit/trainer/run_settings.h"

namespace latentkit::trainer {

class Family;  // family.h

// A test-set figure: a column of metrics.csv, and an entry of the checkpoint under the same name.
struct MetricColumn {
  const char* name;
  int decimals;  // as metrics.csv writes it (0 for a count)
};

// A picture the family writes into the run folder, and how the run's page shows it.
struct Figure {
  const char* file;
  const char* caption;
  int display_width;  // pixels on the page; 0: the picture's own size
};

// A family's own choices, by the name of their `latentkit train` flag without its dashes ("loss",
// "noise", "sparsity", "upsample") and their text as given. Each family parses the ones it takes and
// refuses the others by name; the checkpoint keeps them, so that a loaded run is the same model.
using FamilyOptions = std::map<std::string, std::string>;

// What a family's model is built from. The rate only initialises the optimisers: the training loop
// sets it before every step (the schedule), and a loaded checkpoint restores the optimisers' own.
struct FamilySettings {
  int64_t latent_dims = 2;  // the latent size; for a deterministic autoencoder, its code size
  // The training images' channels (1 grey, 3 RGB), for a family whose layers depend on them; one
  // that keeps it says so in its options(), so that a loaded checkpoint builds the same layers.
  int64_t image_channels = 1;
  double learning_rate = kDefaultSchedule.learning_rate;
  FamilyOptions options;
};

struct FamilyDescription {
  const char* name;     // as `latentkit train NAME` and checkpoints spell it
  const char* summary;  // one phrase for --help
  // metrics.csv is: epoch, train_loss, these, images_per_second, seconds.
  std::vector<MetricColumn> test_metrics;
  std::vector<Figure> figures;
  // Throws std::invalid_argument naming the flag and its value when settings.options holds one the
  // family does not take or cannot parse.
  std::unique_ptr<Family> (*create)(const FamilySettings& settings);
  // How its training images are binarised when `latentkit train` is not told (binarization.h): the
  // CVAE's Bernoulli likelihood wants 0/1 pixels, an autoencoder reconstructs grey levels.
  const char* default_binarization = "dynamic";
  // Its own flags, for --help ("" when none).
  const char* options_help = "";
  // The learning rate a new run starts from when `latentkit train` is given no --lr: the
  // schedule's, unless the family says otherwise for these options (nullptr: the schedule's).
  double (*default_learning_rate)(const FamilyOptions& options, double schedule_rate) = nullptr;
  // The latent size a new run takes when `latentkit train` is given no --latent (0: the CLI's own
  // default, 2, which the VAEs' latent scatters and grids want; a GAN's generator needs more).
  int64_t default_latent_dims = 0;
  // Whether it can train data-parallel (--nproc, --world-size): its whole step is the two halves
  // with the gradients all-reduced between them. A GAN, whose discriminator steps inside
  // compute_gradients, cannot; `latentkit train` refuses to start its ranks.
  bool data_parallel = true;
};

}  // namespace latentkit::trainer
