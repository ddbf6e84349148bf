// Export: the CVAE's decoder into a latentkit model file (fp32), checked against libtorch. The
// CVAE family's export_methods (families/cvae_family.h); the options and report are export.h's.
#pragma once

#include <string>

#include "latentkit/model_writer.h"
#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/run_info.h"

namespace latentkit::trainer {

// The decoder as a model-file graph: dense -> relu -> reshape -> 3 transposed convolutions (relu
// between) -> sigmoid, so the file's output is an image in [0, 1] rather than logits.
ModelDescription describe_cvae_decoder(Cvae& model, const RunInfo& info);

// Writes the model file atomically, and before writing decodes the 5 x 5 grid and 100 prior
// samples with the float32 runtime and with libtorch: if they differ by more than
// kExportTolerance nothing is written and the export fails. A quantised format is then measured
// against the float32 file (AccuracyReport), and the figures are stored in the file's provenance
// metrics (quant_psnr_db, quant_max_abs_error, quant_size_ratio).
ExportReport export_cvae(Cvae& model, const RunInfo& info, const std::string& output_path,
                         const ExportOptions& options = {});

}  // namespace latentkit::trainer
