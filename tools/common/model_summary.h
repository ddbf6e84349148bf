// The human-readable description of a model file that `latentkit-sample info` and
// `latentkit inspect` print.
#pragma once

#include <ostream>
#include <string>

#include "latentkit/model.h"

namespace latentkit::cli {

void print_summary(std::ostream& out, const std::string& path, const Model& model);
// Every tensor and op of the decoder graph, for `inspect`.
void print_graph(std::ostream& out, const Model& model);

}  // namespace latentkit::cli
