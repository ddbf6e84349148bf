#include "latentkit/trainer/metrics_table.h"

#include <cstdio>
#include <stdexcept>

namespace latentkit::trainer {

namespace {

// The loop's own columns: two before the family's and two after.
constexpr int64_t kLeadingColumns = 2, kTrailingColumns = 2;

int64_t column_count(const FamilyDescription& family) {
  return kLeadingColumns + static_cast<int64_t>(family.test_metrics.size()) + kTrailingColumns;
}

std::vector<double> row_of(const EpochReport& r) {
  std::vector<double> row = {static_cast<double>(r.epoch), r.train_loss};
  row.insert(row.end(), r.test.begin(), r.test.end());
  row.push_back(r.images_per_second);
  row.push_back(r.seconds);
  return row;
}

void append_number(std::string& out, double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  out += text;
}

}  // namespace

std::string metrics_csv_header(const FamilyDescription& family) {
  std::string header = "epoch,train_loss";
  for (const MetricColumn& column : family.test_metrics) header += std::string(",") + column.name;
  return header + ",images_per_second,seconds";
}

std::string metrics_csv(const FamilyDescription& family, const std::vector<EpochReport>& reports) {
  std::string out = metrics_csv_header(family) + "\n";
  for (const EpochReport& r : reports) {
    if (r.test.size() != family.test_metrics.size()) {
      throw std::logic_error("epoch " + std::to_string(r.epoch) + " has " + std::to_string(r.test.size()) +
                             " test figures; family '" + family.name + "' has " +
                             std::to_string(family.test_metrics.size()) + " columns");
    }
    out += std::to_string(r.epoch) + ",";
    append_number(out, r.train_loss, 4);
    for (std::size_t c = 0; c < r.test.size(); ++c) {
      out += ",";
      append_number(out, r.test[c], family.test_metrics[c].decimals);
    }
    out += ",";
    append_number(out, r.images_per_second, 1);
    out += ",";
    append_number(out, r.seconds, 2);
    out += "\n";
  }
  return out;
}

torch::Tensor metrics_tensor(const FamilyDescription& family, const std::vector<EpochReport>& reports) {
  const int64_t columns = column_count(family);
  auto t = torch::empty({static_cast<int64_t>(reports.size()), columns}, torch::kFloat64);
  auto cells = t.accessor<double, 2>();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const std::vector<double> row = row_of(reports[i]);
    if (static_cast<int64_t>(row.size()) != columns) {
      throw std::logic_error("epoch " + std::to_string(reports[i].epoch) + " does not have the columns of family '" +
                             family.name + "'");
    }
    for (int64_t c = 0; c < columns; ++c) cells[static_cast<int64_t>(i)][c] = row[c];
  }
  return t;
}

std::vector<EpochReport> reports_from_metrics(const FamilyDescription& family, const torch::Tensor& metrics) {
  std::vector<EpochReport> reports;
  if (!metrics.defined()) return reports;
  const int64_t columns = column_count(family);
  if (metrics.dim() != 2 || metrics.size(1) != columns) {
    throw std::runtime_error("the checkpoint's metrics are not a table of the " + std::to_string(columns) +
                             " columns of family '" + family.name + "' (" + metrics_csv_header(family) + ")");
  }
  auto m = metrics.to(torch::kFloat64).contiguous();
  const double* v = m.data_ptr<double>();
  const int64_t figures = static_cast<int64_t>(family.test_metrics.size());
  for (int64_t i = 0; i < m.size(0); ++i, v += columns) {
    EpochReport r;
    r.epoch = static_cast<int64_t>(v[0]);
    r.train_loss = v[1];
    r.test.assign(v + kLeadingColumns, v + kLeadingColumns + figures);
    r.images_per_second = v[kLeadingColumns + figures];
    r.seconds = v[kLeadingColumns + figures + 1];
    reports.push_back(r);
  }
  return reports;
}

}  // namespace latentkit::trainer
