// Export: the CVAE's decoder into a latentkit model file (fp32), checked against libtorch.
#pragma once

#include <cstddef>
#include <string>

#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "latentkit/trainer/checkpoint.h"

namespace latentkit::trainer {

// The decoder as a model-file graph: dense -> relu -> reshape -> 3 transposed convolutions (relu
// between) -> sigmoid, so the file's output is an image in [0, 1] rather than logits.
ModelDescription describe_cvae_decoder(Cvae& model, const RunInfo& info);

// How far a quantised decoder's images are from the float32 decoder's, over the accuracy set:
// 1000 prior samples (seed 0) and the 5 x 5 grid, decoded by the runtime.
struct AccuracyReport {
  int images = 0;
  double psnr_db = 0;        // 10 log10(peak^2 / MSE), peak = the image value range's width
  double max_abs_error = 0;
  double size_ratio = 1;     // file size / the float32 file's size
};

struct ExportReport {
  QuantMode format = QuantMode::fp32;
  std::size_t file_bytes = 0;
  std::size_t fp32_file_bytes = 0;
  int latents_checked = 0;
  double max_abs_diff_reference = 0;  // float32 runtime (reference backend) vs libtorch
  double max_abs_diff_xnnpack = -1;   // float32 runtime (XNNPACK) vs libtorch; -1 if not built
  AccuracyReport accuracy;            // for fp16 and int8 formats
};

// Decodes the accuracy set with both models and compares (see AccuracyReport).
AccuracyReport measure_accuracy(const Model& reference, const Model& quantised);

// The runtime must reproduce libtorch's images within this on the check latents.
constexpr double kExportTolerance = 1e-4;

// Loads the checkpoint, writes the model file atomically, and before writing decodes the 5 x 5
// grid and 100 prior samples with the float32 runtime and with libtorch: if they differ by more
// than kExportTolerance nothing is written and the export fails. A quantised format is then
// measured against the float32 file (AccuracyReport), and the figures are stored in the file's
// provenance metrics (quant_psnr_db, quant_max_abs_error, quant_size_ratio).
struct ExportOptions {
  QuantMode format = QuantMode::fp32;
  // int8 activations are calibrated on prior samples and on this dataset's training images,
  // encoded by the checkpoint's encoder.
  std::string calibration_data_dir = "data/mnist";
};
ExportReport export_cvae(const std::string& checkpoint_path, const std::string& output_path,
                         const ExportOptions& options = {});

}  // namespace latentkit::trainer
