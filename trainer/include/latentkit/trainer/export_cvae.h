// Export: the CVAE's decoder into a latentkit model file (fp32), checked against libtorch.
#pragma once

#include <cstddef>
#include <string>

#include "latentkit/model_writer.h"
#include "latentkit/trainer/checkpoint.h"

namespace latentkit::trainer {

// The decoder as a model-file graph: dense -> relu -> reshape -> 3 transposed convolutions (relu
// between) -> sigmoid, so the file's output is an image in [0, 1] rather than logits.
ModelDescription describe_cvae_decoder(Cvae& model, const RunInfo& info);

struct ExportReport {
  std::size_t file_bytes = 0;
  int latents_checked = 0;
  double max_abs_diff_reference = 0;  // runtime (reference backend) vs libtorch
  double max_abs_diff_xnnpack = -1;   // runtime (XNNPACK) vs libtorch; -1 if not built
};

// The runtime must reproduce libtorch's images within this on the check latents.
constexpr double kExportTolerance = 1e-4;

// Loads the checkpoint, writes the model file atomically, and before writing decodes the 5 x 5
// grid and 100 prior samples with the runtime and with libtorch: if they differ by more than
// kExportTolerance nothing is written and the export fails.
ExportReport export_cvae(const std::string& checkpoint_path, const std::string& output_path);

}  // namespace latentkit::trainer
