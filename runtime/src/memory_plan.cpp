#include "latentkit/memory_plan.h"

#include <cstdio>

#include "backend_workspace.h"
#include "latentkit/error.h"
#include "saturating.h"

namespace latentkit {

using detail::saturating_add;
using detail::saturating_product;

uint64_t MemoryPlan::total() const {
  int64_t t = 0;
  for (uint64_t part : {model_bytes, widened_bytes, activation_bytes, workspace_bytes}) {
    t = saturating_add(t, static_cast<int64_t>(part));
  }
  return static_cast<uint64_t>(t);
}

std::string format_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string MemoryPlan::describe() const {
  return format_bytes(total()) + " (model " + format_bytes(model_bytes) + ", widened constants " +
         format_bytes(widened_bytes) + ", activations " + format_bytes(activation_bytes) + ", backend " +
         format_bytes(workspace_bytes) + ")";
}

MemoryPlan plan_memory(const Model& model, BackendKind kind, int batch) {
  return plan_memory(model, model.method(methods::decode), kind, batch);
}

MemoryPlan plan_memory(const Model& model, const Method& method, BackendKind kind, int batch) {
  MemoryPlan plan = plan_memory(method.graph, model.file_size(), kind, batch);
  plan.widened_bytes = model.widened_bytes();  // held by the model, whichever method runs
  return plan;
}

MemoryPlan plan_memory(const Graph& graph, uint64_t model_bytes, BackendKind kind, int batch) {
  if (batch < 1) {
    throw Error(ErrorCode::invalid_argument, "memory plan: batch size must be at least 1, got " + std::to_string(batch));
  }
  MemoryPlan plan;
  plan.model_bytes = model_bytes;
  int64_t widened = 0, activations = 0;
  for (const Tensor& t : graph.tensors) {
    if (t.is_constant()) {
      if (t.dtype != DType::float32) widened = saturating_add(widened, saturating_product({t.elements(), 4}));
    } else {
      const auto size = static_cast<int64_t>(size_of(t.dtype));
      activations = saturating_add(activations, saturating_product({t.elements(), batch, size}));
    }
  }
  plan.widened_bytes = static_cast<uint64_t>(widened);
  plan.activation_bytes = static_cast<uint64_t>(activations);
#ifdef LATENTKIT_WITH_XNNPACK
  const int64_t workspace = kind == BackendKind::xnnpack ? detail::xnnpack_cost(graph, batch).workspace_bytes
                                                         : detail::reference_workspace_bytes(graph, batch);
#else
  const int64_t workspace = detail::reference_workspace_bytes(graph, batch);  // the only backend built
#endif
  plan.workspace_bytes = static_cast<uint64_t>(workspace);
  return plan;
}

void check_memory(const Model& model, const MemoryPlan& plan, const std::string& what) {
  check_memory(plan, model.limits().max_memory_bytes, what);
}

void check_memory(const MemoryPlan& plan, uint64_t limit, const std::string& what) {
  if (plan.total() >= static_cast<uint64_t>(detail::kSaturated) || plan.total() > limit) {
    throw Error(ErrorCode::out_of_memory, what + " needs " + plan.describe() + ", more than the limit of " +
                                              format_bytes(limit) + " (ModelLimits::max_memory_bytes)");
  }
}

}  // namespace latentkit
