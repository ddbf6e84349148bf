#include "latentkit/trainer/export_checks.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <stdexcept>

#include "latentkit/atomic_file.h"
#include "latentkit/backend.h"
#include "latentkit/method_runner.h"
#include "latentkit/quantize.h"

#ifndef LATENTKIT_VERSION
#define LATENTKIT_VERSION "unknown"
#endif

namespace latentkit::trainer {

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return HUGE_VAL;
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

}  // namespace

MethodCheck check_method(const Model& model, const ExpectedMethod& expected) {
  MethodCheck result{expected.method, expected.count, 0, -1};
  for (BackendKind kind : {BackendKind::reference, BackendKind::xnnpack}) {
    if (!backend_available(kind)) continue;
    const auto outputs = MethodRunner(model, expected.method, kind).run(expected.inputs, expected.count);
    double diff = outputs.size() == expected.outputs.size() ? 0 : HUGE_VAL;
    for (std::size_t i = 0; i < outputs.size() && i < expected.outputs.size(); ++i) {
      diff = std::max(diff, max_abs_diff(outputs[i], expected.outputs[i]));
    }
    (kind == BackendKind::reference ? result.reference : result.xnnpack) = diff;
    if (!(diff <= kExportTolerance)) {
      throw std::runtime_error(std::string("export check failed: the runtime's ") + to_string(kind) + " backend's " +
                               expected.method + " differs from libtorch by " + std::to_string(diff) +
                               " (tolerance " + std::to_string(kExportTolerance) + "); nothing was written");
    }
  }
  return result;
}

void fill_provenance(Provenance& p, const char* family, const RunInfo& info) {
  p.model_family = family;
  p.dataset = info.dataset;
  p.epochs = static_cast<int>(info.epochs_done);
  p.trainer_version = "latentkit " LATENTKIT_VERSION;
  p.created_utc = utc_now();
  if (info.dataset == "mnist") {
    for (int digit = 0; digit < 10; ++digit) p.labels.push_back(std::to_string(digit));
  }
}

AccuracyReport measure_reconstruct_accuracy(const Model& reference, const Model& quantised,
                                            const std::vector<float>& images) {
  const int count = static_cast<int>(images.size() / static_cast<std::size_t>(reference.image().pixels()));
  auto reconstruct = [&](const Model& model) {
    const BackendKind kind = choose_backend(model, methods::reconstruct, BackendKind::xnnpack);
    return MethodRunner(model, methods::reconstruct, kind).run({images}, count)[0];
  };
  return compare_outputs(reference, quantised, reconstruct(reference), reconstruct(quantised), count);
}

AccuracyReport compare_outputs(const Model& reference, const Model& quantised, const std::vector<float>& a,
                               const std::vector<float>& b, int count) {
  double squared = 0, worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = double{a[i]} - b[i];
    squared += d * d;
    worst = std::max(worst, std::fabs(d));
  }
  const double peak = reference.image().range == ValueRange::unit ? 1.0 : 2.0;
  const double mse = squared / static_cast<double>(std::max<std::size_t>(a.size(), 1));
  AccuracyReport report;
  report.images = count;
  report.psnr_db = mse > 0 ? 10 * std::log10(peak * peak / mse) : std::numeric_limits<double>::infinity();
  report.max_abs_error = worst;
  report.size_ratio = static_cast<double>(quantised.file_size()) / static_cast<double>(reference.file_size());
  return report;
}

std::vector<uint8_t> record_accuracy(ModelDescription& description, const Model& float_model, ExportReport& report,
                                     const std::vector<float>* images) {
  description.provenance.quantization = to_string(report.format);
  const std::vector<uint8_t> measured = serialize_model(description);
  const Model quantised = Model::load_bytes(measured.data(), measured.size());
  report.accuracy = images != nullptr ? measure_reconstruct_accuracy(float_model, quantised, *images)
                                      : measure_accuracy(float_model, quantised);
  // The size ratio describes the file that holds it. FlatBuffers leaves out a field equal to
  // its default (0), so a placeholder must be non-zero to keep the size when it is filled in.
  std::vector<Metric>& metrics = description.provenance.metrics;
  metrics.push_back({"quant_psnr_db", report.accuracy.psnr_db});
  metrics.push_back({"quant_max_abs_error", report.accuracy.max_abs_error});
  metrics.push_back({"quant_size_ratio", 1.0});
  report.accuracy.size_ratio =
      static_cast<double>(serialize_model(description).size()) / static_cast<double>(report.fp32_file_bytes);
  metrics.back().value = report.accuracy.size_ratio;
  return serialize_model(description);
}

ExportReport finish_export(ModelDescription& description, std::vector<uint8_t> bytes, const Model& float_model,
                           ExportReport report, const std::string& output_path, const std::vector<float>* images) {
  report.max_abs_diff_reference = report.methods_checked[0].reference;
  report.max_abs_diff_xnnpack = report.methods_checked[0].xnnpack;
  if (report.format != QuantMode::fp32) {
    quantize_weights(description, report.format);
    bytes = record_accuracy(description, float_model, report, images);
  }
  report.file_bytes = bytes.size();
  write_file_atomically(output_path, bytes);
  return report;
}

}  // namespace latentkit::trainer
