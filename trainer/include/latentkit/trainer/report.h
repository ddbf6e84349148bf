// The pictures of a training run and the page that shows them, written into the run folder:
//
//   loss.png             train loss and test -ELBO (and -IWAE) per epoch, nats   (gnuplot)
//   latent_scatter.png   test-set posterior means coloured by label; for more than
//                        two latent dimensions their 2-D PCA projection          (gnuplot)
//   reconstructions.png  test inputs (binarised, as the model sees them) each followed by its
//                        reconstruction (decoder mean at the posterior mean): 8 rows of 8 pairs
//   samples.png          8 x 8 decoder means of prior samples z ~ N(0, I)
//   grid_libtorch.png    the 5 x 5 latent grid (first two latents; the others 0)
//   index.html           all of them with the run's settings and figures
//
// Plots come from gnuplot (Debian gnuplot-nox) driven through a script file; without gnuplot the
// plots are left out with a warning and the image tiles are still written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/train_cvae.h"

namespace latentkit::trainer {

// Sizes of the pictures in pixels (the tests check them).
constexpr int kLossPlotWidth = 800, kLossPlotHeight = 480;
constexpr int kScatterWidth = 720, kScatterHeight = 640;
constexpr int kTileRows = 8, kTileColumns = 8;  // reconstructions: 8 rows of 8 input/output pairs

// Every file a run writes into its folder (what --overwrite removes; nothing else is touched).
const std::vector<const char*>& run_files();

struct ReportInputs {
  std::string run_dir;
  Cvae model;
  torch::Tensor test_images;  // [N, 1, 28, 28] binarised, as evaluated
  std::vector<uint8_t> test_labels;
  std::vector<std::string> class_names;
  std::vector<EpochReport> epochs;
  TrainOptions options;  // shown on the page
};

struct ReportSummary {
  std::vector<std::string> written;   // file names in the run folder
  std::vector<std::string> warnings;  // what was left out, and why
};
ReportSummary write_run_report(const ReportInputs& inputs);

// Runs gnuplot on `script` (a file); returns "" on success, else what went wrong.
std::string run_gnuplot(const std::string& script_path);

}  // namespace latentkit::trainer
