#include "latentkit/trainer/category_naming.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace latentkit::trainer {

namespace {

struct Majority {
  std::vector<int> label_of;
  int64_t agreeing = 0, total = 0, most_common = 0;
};

Majority majority(const CategoryCounts& counts) {
  Majority m;
  std::vector<int64_t> per_label;
  for (const std::vector<int64_t>& row : counts) {
    if (per_label.size() < row.size()) per_label.resize(row.size(), 0);
    int best = -1;
    for (std::size_t label = 0; label < row.size(); ++label) {
      per_label[label] += row[label];
      m.total += row[label];
      if (row[label] > 0 && (best < 0 || row[label] > row[static_cast<std::size_t>(best)])) best = static_cast<int>(label);
    }
    m.label_of.push_back(best);
    if (best >= 0) m.agreeing += row[static_cast<std::size_t>(best)];
  }
  m.most_common = per_label.empty() ? 0 : *std::max_element(per_label.begin(), per_label.end());
  return m;
}

// How much better than always answering the most common label: 0 none, 1 every image.
double gain(const Majority& m) {
  if (m.total == 0 || m.total == m.most_common) return 0;
  return static_cast<double>(m.agreeing - m.most_common) / static_cast<double>(m.total - m.most_common);
}

}  // namespace

VariableNaming name_variable(const CategoryCounts& digit_counts, const CategoryCounts& colour_counts,
                             const std::vector<std::string>& digit_names, const std::vector<std::string>& colour_names,
                             const std::string& kind) {
  const Majority digits = majority(digit_counts), colours = majority(colour_counts);
  const bool colour = kind.empty() ? !colour_counts.empty() && gain(colours) > gain(digits) : kind == "colour";
  const Majority& chosen = colour ? colours : digits;
  const CategoryCounts& counts = colour ? colour_counts : digit_counts;
  const std::vector<std::string>& names = colour ? colour_names : digit_names;

  VariableNaming naming;
  naming.kind = colour ? "colour" : "digit";
  naming.label_of = chosen.label_of;
  naming.purity = chosen.total > 0 ? static_cast<double>(chosen.agreeing) / static_cast<double>(chosen.total) : 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    const int label = chosen.label_of[k];
    naming.agreeing.push_back(label < 0 ? 0 : counts[k][static_cast<std::size_t>(label)]);
  }
  naming.labels = unique_labels(naming.label_of, naming.agreeing, names);
  return naming;
}

std::vector<std::string> unique_labels(const std::vector<int>& label_of, const std::vector<int64_t>& agreeing,
                                       const std::vector<std::string>& names) {
  std::vector<std::string> labels(label_of.size());
  std::vector<std::size_t> order(label_of.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return agreeing[a] > agreeing[b]; });
  std::map<int, int> taken;
  for (const std::size_t k : order) {
    const int label = label_of[k];
    if (label < 0) {
      labels[k] = "unused-" + std::to_string(k);
      continue;
    }
    const std::string name =
        static_cast<std::size_t>(label) < names.size() ? names[static_cast<std::size_t>(label)] : std::to_string(label);
    const int n = ++taken[label];
    labels[k] = n == 1 ? name : name + "-" + std::to_string(n);
  }
  return labels;
}

std::vector<std::string> group_names(const std::vector<std::string>& kinds) {
  std::map<std::string, int> seen;
  std::vector<std::string> names;
  for (const std::string& kind : kinds) {
    const int n = ++seen[kind];
    names.push_back(n == 1 ? kind : kind + std::to_string(n));
  }
  return names;
}

}  // namespace latentkit::trainer
