// What every family's exporter does around its own graphs: check each method of the float32 file
// against libtorch on every backend this build has, fill the provenance every file carries, and
// measure and record a quantised file's accuracy. export_cvae.cpp and export_autoencoder.cpp use
// it; a new family's exporter describes its graphs and calls these.
#pragma once

#include <string>
#include <vector>

#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/run_info.h"

namespace latentkit::trainer {

// One method run on `count` examples (`inputs`, one vector per method input) and the libtorch
// outputs it must reproduce (one vector per method output).
struct ExpectedMethod {
  const char* method;
  int count = 0;
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<float>> outputs;
};

// Runs the method on the reference backend and on XNNPACK (when built) and returns the largest
// differences. Throws std::runtime_error naming the method, the backend and the difference when
// it is above kExportTolerance ("nothing was written": callers check before writing).
MethodCheck check_method(const Model& model, const ExpectedMethod& expected);

// Family, dataset, epochs, trainer version, time of export and the dataset's labels; the family's
// test metrics are the caller's.
void fill_provenance(Provenance& provenance, const char* family, const RunInfo& info);

// For a quantised `description` (weights already in `report.format`): measures it against the
// float32 model (measure_accuracy) into report.accuracy and stores the figures in the file's
// provenance metrics (quant_psnr_db, quant_max_abs_error, quant_size_ratio). Returns the bytes to
// write.
// A model without decode is measured on `images` (HWC, in [0, 1]) through reconstruct instead
// (measure_reconstruct_accuracy).
std::vector<uint8_t> record_accuracy(ModelDescription& description, const Model& float_model, ExportReport& report,
                                     const std::vector<float>* images = nullptr);

// The last step of an export whose quantised file is the float32 one with its weights quantised:
// the first method check's figures into the report, the weights quantised to report.format and
// measured (record_accuracy, `images` as there) unless it is fp32, the file written atomically.
// `bytes` is the float32 file, `float_model` that file loaded.
ExportReport finish_export(ModelDescription& description, std::vector<uint8_t> bytes, const Model& float_model,
                           ExportReport report, const std::string& output_path,
                           const std::vector<float>* images = nullptr);

// The accuracy of `quantised` against `reference` from their outputs `a` and `b` for the same
// `count` inputs: PSNR over the image range, largest difference, file size ratio.
AccuracyReport compare_outputs(const Model& reference, const Model& quantised, const std::vector<float>& a,
                               const std::vector<float>& b, int count);

// As measure_accuracy (export.h), for a model without decode: `images` reconstructed by both
// models, on the backend a device would use for each.
AccuracyReport measure_reconstruct_accuracy(const Model& reference, const Model& quantised,
                                            const std::vector<float>& images);

}  // namespace latentkit::trainer
