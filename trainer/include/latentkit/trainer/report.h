// The report of a training run, written into the run folder at its end: the family's pictures
// (FamilyDescription::figures; for the CVAE the loss curves, the latent scatter, reconstructions,
// samples and the latent grid) and index.html, the page that shows them with the run's settings
// and test figures.
//
// Every file goes in by rename. Plots come from gnuplot (Debian gnuplot-nox) driven through a
// script file in a work folder (`.report`, removed afterwards); without gnuplot the plots are left
// out with a warning and the rest is written.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "latentkit/image_grid.h"
#include "latentkit/trainer/metrics_table.h"
#include "latentkit/trainer/train_options.h"

namespace latentkit::trainer {

class Family;

// Sizes of the pictures in pixels (the tests check them).
constexpr int kLossPlotWidth = 800, kLossPlotHeight = 480;
constexpr int kScatterWidth = 720, kScatterHeight = 640;
constexpr int kTileRows = 8, kTileColumns = 8;  // reconstructions: 8 rows of 8 input/output pairs

// Every file a run of any family writes into its folder: what --overwrite removes, and nothing else
// is touched.
const std::vector<const char*>& run_files();

struct ReportInputs {
  std::string run_dir;
  std::string work_dir;       // where plots are drawn before they are renamed into run_dir
  torch::Tensor test_images;  // as evaluated
  std::vector<uint8_t> test_labels;
  std::vector<uint8_t> test_colours;  // coloured_mnist.h's colour of each test image; empty when none
  std::vector<std::string> class_names;
  std::vector<EpochReport> epochs;
  TrainOptions options;  // shown on the page
};

struct ReportSummary {
  std::vector<std::string> written;   // file names in the run folder
  std::vector<std::string> warnings;  // what was left out, and why
};

// A table of the page: a heading and (label, value) rows.
struct PageTable {
  std::string heading;
  std::vector<std::pair<std::string, std::string>> rows;
};

// The family's pictures, then index.html. `inputs.work_dir` is set here.
ReportSummary write_run_report(Family& family, ReportInputs inputs);

// What families draw their pictures with.
// Runs gnuplot on `script` (a file); returns "" on success, else what went wrong.
std::string run_gnuplot(const std::string& script_path);
// A gnuplot string literal.
std::string gnuplot_quote(const std::string& text);
// Runs the gnuplot script `<work_dir>/<stem of name>.gp`, which draws `<work_dir>/<name>`, and
// renames the picture into the run folder; returns "" or what went wrong.
std::string plot_into_run(const ReportInputs& inputs, const std::string& name);
// plot_into_run, then the picture's name in summary.written or why it was left out in
// summary.warnings.
void plot_and_note(const ReportInputs& inputs, const std::string& name, ReportSummary& summary);
// Encodes `picture` as a PNG and writes it atomically.
void write_png(const std::string& path, const Picture& picture);
// The first kTileRows x kTileColumns images of `left` each followed by the same image of `right`
// ([N, C, H, W] in [0, 1]; inputs and their reconstructions), as a PNG; missing pairs stay black.
void write_pairs_png(const std::string& path, const torch::Tensor& left, const torch::Tensor& right);
// A scatter plot of `means` ([N, D] posterior means of the test images, N >= 1) coloured by
// `labels` (up to 10 classes, named by `class_names`), into `name` in the run folder; for D > 2
// their 2-D PCA projection. `what` names the points in the title. `point_colours` (10 "#rrggbb")
// draws each class in a colour of its own on black, for classes that are colours; else a
// qualitative palette on white.
void plot_latent_scatter(const ReportInputs& in, const torch::Tensor& means, const std::vector<uint8_t>& labels,
                         const std::vector<std::string>& class_names, const std::string& name, const std::string& what,
                         ReportSummary& summary, const std::vector<std::string>& point_colours = {});
// printf-style formatting of one number.
std::string format_number(double value, const char* format = "%.2f");
// Writes gnuplot's data file of a run's curves: `header` (without "# "), then per epoch its
// number, train loss and every test figure in column order, each "%.4f".
void write_epoch_table(const std::string& path, const std::string& header, const std::vector<EpochReport>& epochs);
// printf-style formatting of a line (at most 511 bytes).
std::string format_text(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace latentkit::trainer
