// Export: a trained run's methods into a latentkit model file, checked against libtorch before
// anything is written. What a run exports is its family's (Family::export_methods; the CVAE's
// decoder: export_cvae.h); the options and the report are every export's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "latentkit/model.h"
#include "latentkit/quantize.h"

namespace latentkit::trainer {

// How far a quantised decoder's images are from the float32 decoder's, over the accuracy set:
// 1000 prior samples (seed 0) and the 5 x 5 grid, decoded by the runtime.
struct AccuracyReport {
  int images = 0;
  double psnr_db = 0;        // 10 log10(peak^2 / MSE), peak = the image value range's width
  double max_abs_error = 0;
  double size_ratio = 1;     // file size / the float32 file's size
};

// One method of the float32 file run by the runtime on the check inputs, against libtorch.
struct MethodCheck {
  std::string method;
  int inputs = 0;        // examples checked
  double reference = 0;  // max |runtime - libtorch| on the reference backend
  double xnnpack = -1;   // on XNNPACK; -1 if not built
};

// One weighted layer of an int8 decoder: its form, and what switching it would give.
struct LayerAccuracy {
  std::string layer;        // its weight tensor
  bool reads_latent = false;  // the first layer: always float with int8 weights
  bool integer = false;     // int8 in and out; else float with int8 weights
  // PSNR against float32 with this layer's form switched (an int8 layer made float, the float
  // output layer made int8), over the accuracy images; not measured for the first layer.
  double switched_psnr_db = 0;
};

struct ExportReport {
  QuantMode format = QuantMode::fp32;
  std::size_t file_bytes = 0;
  std::size_t fp32_file_bytes = 0;
  int latents_checked = 0;  // a file without decode: the check images
  // float32 runtime (reference backend) vs libtorch: decode (a file without decode: reconstruct)
  double max_abs_diff_reference = 0;
  double max_abs_diff_xnnpack = -1;   // float32 runtime (XNNPACK) vs libtorch; -1 if not built
  std::vector<MethodCheck> methods_checked;  // every exported method, decode (or reconstruct) first
  AccuracyReport accuracy;            // for fp16 and int8 formats
  std::vector<LayerAccuracy> int8_layers;  // int8: every weighted layer of the decoder
  // --prior gmm:K or gmm:auto: the mixture's number of components; for gmm:auto, each candidate
  // with its held-out mean log-likelihood (gaussian_mixture.h choose_components).
  int prior_components = 0;
  std::vector<std::pair<int, double>> prior_held_out;
  int64_t category_prior_images = 0;  // the training images whose posteriors gave the category prior; 0: none
  std::string dataset;  // the dataset the priors and int8 calibration read (options' or the run's)
};

// Decodes the accuracy set with both models and compares (see AccuracyReport). Defined beside the
// CVAE's exporter (export_cvae.cpp), its first user.
AccuracyReport measure_accuracy(const Model& reference, const Model& quantised);

// Every weighted layer of `quantised` (quantize_model of `float_decoder` with `ranges` and
// `chosen`): its form, and measure_accuracy with that layer's form switched. Beside
// measure_accuracy.
std::vector<LayerAccuracy> int8_layer_report(const ModelDescription& float_decoder, const ModelDescription& quantised,
                                             const std::vector<TensorRange>& ranges, const Int8Options& chosen,
                                             const Model& float_model);

// The runtime must reproduce libtorch's images within this on the check latents.
constexpr double kExportTolerance = 1e-4;

struct ExportOptions {
  ExportOptions() = default;
  // The quantisation, and the dataset when it is not the run's: what most exports choose.
  ExportOptions(QuantMode quantisation, std::string data_dir = {})
      : format(quantisation), calibration_data_dir(std::move(data_dir)) {}

  QuantMode format = QuantMode::fp32;
  // int8 activations are calibrated on prior samples and on this dataset's training images,
  // encoded by the checkpoint's encoder; the priors are fitted to its training images. Empty:
  // the run's (run_dataset).
  std::string calibration_data_dir;
  // The latent prior the file carries: 0, N(0, I); K >= 1, a Gaussian mixture of K components
  // fitted (fit_gaussian_mixture, seed 0) to the codes of the first kPriorFitImages training
  // images of calibration_data_dir (Family::training_codes), ex-post density estimation;
  // kAutoComponents, K chosen among kAutoCandidates by held-out likelihood.
  int prior_components = 0;
  // The fitted mixture, which export_run fills in and each exporter attaches (attach_prior).
  GaussianMixture prior;
  // Whether a model with categorical latents gets a category prior: each variable's category
  // shares among the posteriors of the first kPriorFitImages training images of
  // calibration_data_dir (a file's category_weights), so that samples never draw a category
  // training left unused. Off: the uniform prior of training.
  bool fit_category_prior = true;
  // The shares, per categorical variable in the latent's order, which export_run fills in and
  // attach_prior attaches.
  std::vector<std::vector<float>> category_shares;
};

constexpr int64_t kPriorFitImages = 10000;
constexpr int kAutoComponents = -1;
inline const std::vector<int> kAutoCandidates = {1, 2, 5, 10, 20, 50, 100};

// Parses --prior: "normal" gives 0, "gmm:K" gives K (1..256), "gmm:auto" kAutoComponents; throws
// std::invalid_argument naming the text otherwise.
int parse_prior(const std::string& text);

// Puts options.prior, if it has components, on `spec`'s first Gaussian group (that of the codes
// it was fitted to), and options.category_shares, if any, on the categorical groups, variable by
// variable.
void attach_prior(LatentSpec& spec, const ExportOptions& options);

// Loads the checkpoint as its family and writes what the family exports to `output_path`,
// atomically; a failed check writes nothing.
ExportReport export_run(const std::string& checkpoint_path, const std::string& output_path,
                        const ExportOptions& options = {});

}  // namespace latentkit::trainer
