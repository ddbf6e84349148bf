// What a checkpoint says about its run besides the weights: what export writes into a model file's
// provenance and what `latentkit eval` reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace latentkit::trainer {

struct NamedFigure {
  std::string name;  // a column of the family's test_metrics
  double value;
};

struct RunInfo {
  int64_t latent_dims = 2;
  std::string dataset;
  int64_t epochs_done = 0;
  std::string binarization;
  std::vector<NamedFigure> test;  // the family's test figures after the last epoch done

  // The test figure `name`, NaN when the run has none (no epoch done, or an older checkpoint).
  double test_figure(const std::string& name) const;
};

}  // namespace latentkit::trainer
