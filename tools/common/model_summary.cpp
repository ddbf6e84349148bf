#include "model_summary.h"

#include <cstdio>
#include <iomanip>
#include <map>
#include <string>

#include "latentkit/backend.h"
#include "latentkit/method.h"

namespace latentkit::cli {

namespace {

// "12.5 %", "0 %": a category's share in the fitted prior.
std::string percent_text(float weight) {
  char text[16];
  std::snprintf(text, sizeof text, "%.3g %%", 100.0 * static_cast<double>(weight));
  return text;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}
}  // namespace

void print_summary(std::ostream& out, const std::string& path, const Model& model) {
  const Provenance& p = model.provenance();
  out << "model     " << path << " (" << model.file_size() << " bytes, format version "
      << model.format_version() << ")\n";
  out << "family    " << (p.model_family.empty() ? "?" : p.model_family) << ", trained on "
      << (p.dataset.empty() ? "?" : p.dataset) << " for " << p.epochs << " epochs";
  if (!p.trainer_version.empty()) out << " (" << p.trainer_version << ", " << p.created_utc << ")";
  out << "\nlatent    " << model.latent().dims() << " dims:";
  for (const LatentGroup& g : model.latent().groups) {
    out << ' ' << g.name << " ("
        << (g.kind == LatentKind::gaussian ? "gaussian x" + std::to_string(g.size)
                                           : std::to_string(g.count) + " categorical of " + std::to_string(g.size));
    // Only a mixture is named: a file without one has the standard normal prior it always had.
    if (g.mixture.components() > 0) {
      out << ", prior: gaussian mixture of " << g.mixture.components() << " component"
          << (g.mixture.components() == 1 ? "" : "s");
    }
    // A fitted category prior: each category's share of the training images, after its label
    // (a group of one variable) or named once (several variables, each with its own shares).
    const bool shares = !g.category_weights.empty() && g.count == 1;
    if (!g.category_weights.empty() && !shares) out << ", prior: fitted category weights";
    if (!g.labels.empty() || shares) {
      out << ':';
      for (int k = 0; k < g.size; ++k) {
        out << (k ? ", " : " ") << (g.labels.empty() ? std::to_string(k) : g.labels[static_cast<std::size_t>(k)]);
        if (shares) out << " " << percent_text(g.category_weights[static_cast<std::size_t>(k)]);
      }
    }
    out << ")";
  }
  const ImageSpec& image = model.image();
  if (!p.quantization.empty()) out << "\nweights   " << p.quantization;
  out << "\nimage     " << image.height << "x" << image.width << "x" << image.channels << ", values in "
      << (image.range == ValueRange::unit ? "[0, 1]" : "[-1, 1]") << "\n";
  if (!p.metrics.empty()) {
    out << "metrics  ";
    for (const Metric& m : p.metrics) out << ' ' << m.name << ' ' << std::setprecision(5) << m.value;
    out << '\n';
  }
  for (const Method& method : model.methods()) {
    std::map<std::string, int> ops;
    for (const Op& op : method.graph.ops) ++ops[to_string(op.kind)];
    out << "method    " << method.signature() << "\n          " << method.graph.tensors.size() << " tensors, "
        << method.graph.ops.size() << " ops:";
    for (const auto& [name, count] : ops) out << ' ' << name << " x" << count;
    out << '\n';
  }
  if (model.find_method(methods::decode) == nullptr) {
    // (a max-unpooling decoder needs the positions its encoder's pooling remembered)
    out << "no decode this model reconstructs what it encodes but does not decode a free code: sample, grid,\n"
           "          decode and interpolate need a decode method\n";
  }
  out << "backends  reference" << (backend_available(BackendKind::xnnpack) ? ", xnnpack (default)" : "") << '\n';
}

void print_graph(std::ostream& out, const Model& model) {
  for (const Method& method : model.methods()) {
    out << "method " << method.signature() << '\n';
    print_graph(out, method.graph);
  }
}

void print_graph(std::ostream& out, const Graph& g) {
  out << "tensors:\n";
  for (std::size_t i = 0; i < g.tensors.size(); ++i) {
    const Tensor& t = g.tensors[i];
    out << "  " << std::setw(3) << i << "  " << std::left << std::setw(20) << t.name << std::right << ' '
        << std::setw(16) << shape_string(t.shape) << "  " << to_string(t.dtype)
        << (t.is_constant() ? "  constant, " + std::to_string(t.bytes) + " bytes" : "")
        << (t.quantization.scales.size() > 1 ? ", " + std::to_string(t.quantization.scales.size()) + " scales on axis " +
                                                  std::to_string(t.quantization.axis)
                                            : "")
        << '\n';
  }
  out << "ops:\n";
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    out << "  " << std::setw(3) << i << "  " << std::left << std::setw(17) << to_string(op.kind) << std::right;
    for (int input : op.inputs) out << ' ' << input;
    out << " ->";
    for (int output : op.outputs) out << ' ' << output;
    const std::string options = describe_options(op);  // the op's own (runtime/src/ops/)
    if (!options.empty()) out << "  " << options;
    out << '\n';
  }
}

}  // namespace latentkit::cli
