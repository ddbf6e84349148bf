// metrics.csv: one row per epoch, the training loop's columns around the family's test figures,
//
//   epoch, train_loss, <the family's test_metrics>, images_per_second, seconds
//
// and the same rows as a tensor, which the checkpoint keeps so that a resumed run rewrites the
// file whole.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/family_description.h"

namespace latentkit::trainer {

struct EpochReport {
  int64_t epoch = 0;
  double train_loss = 0;     // the family's loss per image, averaged over the epoch
  std::vector<double> test;  // one per test_metrics column of the family
  double images_per_second = 0;
  double seconds = 0;
};

std::string metrics_csv_header(const FamilyDescription& family);
// The whole file: the header and a line per epoch.
std::string metrics_csv(const FamilyDescription& family, const std::vector<EpochReport>& reports);

// [epochs, columns] float64.
torch::Tensor metrics_tensor(const FamilyDescription& family, const std::vector<EpochReport>& reports);
// The inverse of metrics_tensor; an undefined tensor is no epoch. Throws std::runtime_error when
// the columns are not the family's.
std::vector<EpochReport> reports_from_metrics(const FamilyDescription& family, const torch::Tensor& metrics);

}  // namespace latentkit::trainer
