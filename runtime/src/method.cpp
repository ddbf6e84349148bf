#include "latentkit/method.h"

#include <sstream>

namespace latentkit {

const char* to_string(Role role) {
  switch (role) {
    case Role::latent: return "latent";
    case Role::image: return "image";
    case Role::latent_mean: return "latent_mean";
    case Role::latent_log_variance: return "latent_log_variance";
  }
  return "?";
}

int64_t Method::input_elements(std::size_t i) const {
  return graph.tensors[static_cast<std::size_t>(graph.inputs[i])].elements();
}

int64_t Method::output_elements(std::size_t i) const {
  return graph.tensors[static_cast<std::size_t>(graph.outputs[i])].elements();
}

std::string Method::signature() const {
  auto values = [&](const std::vector<int>& tensors, const std::vector<Role>& roles) {
    std::ostringstream out;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      out << (i ? ", " : "") << to_string(roles[i]) << '[';
      const Tensor& t = graph.tensors[static_cast<std::size_t>(tensors[i])];
      for (std::size_t d = 0; d < t.shape.size(); ++d) out << (d ? "," : "") << t.shape[d];
      out << ']';
    }
    return out.str();
  };
  return name + "(" + values(graph.inputs, input_roles) + ") -> " + values(graph.outputs, output_roles);
}

}  // namespace latentkit
