#include "latentkit/method_runner.h"

#include "latentkit/error.h"
#include "latentkit/memory_plan.h"

namespace latentkit {

MethodRunner::MethodRunner(Model model, const std::string& method, BackendKind kind, BackendOptions options)
    : model_(std::move(model)), method_(&model_.method(method)), kind_(kind), options_(options) {}

Backend& MethodRunner::backend_for(int batch) {
  auto it = backends_.find(batch);
  if (it != backends_.end()) return *it->second;
  // The memory limit bounds all cached backends together, not each alone: a caller cycling
  // through batch sizes must not accumulate backends past it. Over the limit, the others go.
  const MemoryPlan plan = plan_memory(model_, *method_, kind_, batch);
  if (cached_bytes_ + plan.total() > model_.limits().max_memory_bytes) {
    backends_.clear();
    cached_bytes_ = 0;
  }
  it = backends_.emplace(batch, make_backend(kind_, model_, method_->name, batch, options_)).first;
  cached_bytes_ += plan.activation_bytes + plan.workspace_bytes;
  return *it->second;
}

void MethodRunner::prepare(int batch) { backend_for(batch); }

void MethodRunner::run_into(const float* const* inputs, int batch, float* const* outputs) {
  backend_for(batch).invoke(inputs, outputs);
}

std::vector<std::vector<float>> MethodRunner::run(const std::vector<std::vector<float>>& inputs, int batch) {
  const Method& m = *method_;
  if (batch <= 0) {
    throw Error(ErrorCode::invalid_argument, m.name + ": batch size must be positive, got " + std::to_string(batch));
  }
  if (inputs.size() != m.graph.inputs.size()) {
    throw Error(ErrorCode::invalid_argument, m.name + ": got " + std::to_string(inputs.size()) + " inputs; " +
                                                 m.signature() + " takes " + std::to_string(m.graph.inputs.size()));
  }
  std::vector<const float*> in;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto expected = static_cast<std::size_t>(batch) * static_cast<std::size_t>(m.input_elements(i));
    if (inputs[i].size() != expected) {
      throw Error(ErrorCode::invalid_argument,
                  m.name + ": got " + std::to_string(inputs[i].size()) + " values for input " + std::to_string(i) +
                      " (" + to_string(m.input_roles[i]) + ") at batch " + std::to_string(batch) + "; expected " +
                      std::to_string(expected) + " (" + std::to_string(m.input_elements(i)) + " per example)");
    }
    in.push_back(inputs[i].data());
  }
  std::vector<std::vector<float>> results;
  std::vector<float*> out;
  for (std::size_t i = 0; i < m.graph.outputs.size(); ++i) {
    results.emplace_back(static_cast<std::size_t>(batch) * static_cast<std::size_t>(m.output_elements(i)));
  }
  for (auto& r : results) out.push_back(r.data());
  run_into(in.data(), batch, out.data());
  return results;
}

}  // namespace latentkit
