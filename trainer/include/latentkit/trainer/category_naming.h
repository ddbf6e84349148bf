// Naming a categorical latent's categories after training: each categorical variable is a "digit"
// or a "colour" group, and each of its categories is called by the digit or colour of most of the
// training images whose posterior picks it. What the exported file's labels say, so that a device
// can be asked for "a red 7" (latentkit-sample --digit 7 --colour red). Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace latentkit::trainer {

// How often each category of a variable was picked together with each label: counts[k][label].
using CategoryCounts = std::vector<std::vector<int64_t>>;

struct VariableNaming {
  std::string kind;                 // "digit" or "colour": the labels it tells apart better
  std::vector<int> label_of;        // per category: the label index most of its images have (-1: no image)
  std::vector<int64_t> agreeing;    // per category: how many of its images have that label
  std::vector<std::string> labels;  // per category: that label's name, unique within the variable
  double purity = 0;                // share of the images whose label is their category's label
};

// Names one variable from how its categories co-occur with the digits and with the colours
// (`colour_counts` empty when the images have no colours). The kind is the one whose purity
// gains most over always answering the most common label. A label two categories share is
// given to the one with more images; the other is called "LABEL-2" (then "-3", ...), so that a
// label names one category and the best one for it. A category no image picks is "unused-K".
// `kind` "digit" or "colour" names the variable so whatever it draws (a variable anchored to
// those labels in training); "" chooses.
VariableNaming name_variable(const CategoryCounts& digit_counts, const CategoryCounts& colour_counts,
                             const std::vector<std::string>& digit_names, const std::vector<std::string>& colour_names,
                             const std::string& kind = "");

// Each category's name: its label's name, or "LABEL-2", "LABEL-3", ... for the categories sharing
// a label after the one with most images of it (`agreeing`); "unused-K" for label -1.
std::vector<std::string> unique_labels(const std::vector<int>& label_of, const std::vector<int64_t>& agreeing,
                                       const std::vector<std::string>& names);

// The group names of `kinds` as the file's latent spec has them: each kind's first variable is
// called by the kind ("digit", "colour"), later ones "digit2", "digit3", ...
std::vector<std::string> group_names(const std::vector<std::string>& kinds);

}  // namespace latentkit::trainer
