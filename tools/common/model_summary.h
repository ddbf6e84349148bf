// The human-readable description of a model file that `latentkit-sample info` and
// `latentkit inspect` print.
#pragma once

#include <ostream>
#include <string>

#include "latentkit/model.h"

namespace latentkit::cli {

void print_summary(std::ostream& out, const std::string& path, const Model& model);
// Every tensor and op of each method (tensor indices are the method's own), for `inspect`.
void print_graph(std::ostream& out, const Model& model);
void print_graph(std::ostream& out, const Graph& graph);

}  // namespace latentkit::cli
