#include "latentkit/method_runner.h"

#include "latentkit/error.h"
#include "latentkit/memory_plan.h"

namespace latentkit {

MethodRunner::MethodRunner(Model model, const std::string& method, BackendKind kind, BackendOptions options)
    : model_(std::move(model)), method_(&model_.method(method)), kind_(kind), options_(options) {
  if (options_.max_chunk < 0) {
    throw Error(ErrorCode::invalid_argument, "BackendOptions::max_chunk must be 0 (never chunk) or positive, got " +
                                                 std::to_string(options_.max_chunk));
  }
  for (std::size_t i = 0; i < method_->graph.inputs.size(); ++i) input_elements_.push_back(method_->input_elements(i));
  for (std::size_t i = 0; i < method_->graph.outputs.size(); ++i) {
    output_elements_.push_back(method_->output_elements(i));
  }
  // One set of worker threads for every batch size's backend: they run in turn, never together.
  if (kind_ == BackendKind::xnnpack && !options_.worker_threads) {
    options_.worker_threads = make_worker_threads(options_.threads);
  }
  chunk_inputs_.resize(input_elements_.size());
  chunk_outputs_.resize(output_elements_.size());
}

Backend* MethodRunner::cached(int batch) {
  auto it = backends_.find(batch);
  return it == backends_.end() ? nullptr : it->second.backend.get();
}

Backend& MethodRunner::backend_for(int batch, int keep) {
  if (Backend* backend = cached(batch)) return *backend;
  // The memory limit bounds all cached backends together, not each alone: a caller cycling
  // through batch sizes must not accumulate backends past it. Over the limit, the others go
  // (but `keep`, which the caller is about to run with this one).
  const MemoryPlan plan = plan_memory(model_, *method_, kind_, batch);
  if (cached_bytes_ + plan.total() > model_.limits().max_memory_bytes) {
    for (auto it = backends_.begin(); it != backends_.end();) {
      if (it->first == keep) {
        ++it;
      } else {
        cached_bytes_ -= it->second.bytes;
        it = backends_.erase(it);
      }
    }
  }
  CachedBackend entry{make_backend(kind_, model_, method_->name, batch, options_),
                      plan.activation_bytes + plan.workspace_bytes};
  cached_bytes_ += entry.bytes;
  return *backends_.emplace(batch, std::move(entry)).first->second.backend;
}

bool MethodRunner::fit_together(int chunk, int remainder) const {
  uint64_t bytes = plan_memory(model_, *method_, kind_, chunk).total();
  if (remainder > 0) {
    const MemoryPlan plan = plan_memory(model_, *method_, kind_, remainder);
    bytes += plan.activation_bytes + plan.workspace_bytes;
  }
  return bytes <= model_.limits().max_memory_bytes;
}

MethodRunner::Route MethodRunner::route_for(int batch) {
  const int chunk = options_.max_chunk;
  if (chunk == 0 || batch <= chunk) return {&backend_for(batch)};
  const int remainder = batch % chunk;
  // Lookups first, so that a batch seen before finds its backends without computing a plan.
  Backend* chunk_backend = cached(chunk);
  Backend* remainder_backend = remainder > 0 ? cached(remainder) : nullptr;
  if (chunk_backend != nullptr && (remainder == 0 || remainder_backend != nullptr)) {
    return {nullptr, chunk_backend, remainder_backend};
  }
  if (Backend* whole = cached(batch)) return {whole};
  // Under a tight limit two backends can need more than the batch's one (each has a workspace of
  // its own, XNNPACK's packed weights): then the batch runs whole, or is refused with its own
  // figures.
  if (!fit_together(chunk, remainder)) return {&backend_for(batch)};
  chunk_backend = &backend_for(chunk);
  remainder_backend = remainder > 0 ? &backend_for(remainder, /*keep=*/chunk) : nullptr;
  return {nullptr, chunk_backend, remainder_backend};
}

void MethodRunner::prepare(int batch) { route_for(batch); }

void MethodRunner::invoke_from(Backend& backend, const float* const* inputs, int first, float* const* outputs) {
  for (std::size_t i = 0; i < chunk_inputs_.size(); ++i) chunk_inputs_[i] = inputs[i] + first * input_elements_[i];
  for (std::size_t i = 0; i < chunk_outputs_.size(); ++i) chunk_outputs_[i] = outputs[i] + first * output_elements_[i];
  backend.invoke(chunk_inputs_.data(), chunk_outputs_.data());
}

void MethodRunner::run_into(const float* const* inputs, int batch, float* const* outputs) {
  const Route route = route_for(batch);
  if (route.whole != nullptr) {
    route.whole->invoke(inputs, outputs);
    return;
  }
  const int chunk = route.chunk->batch();
  int first = 0;
  for (; first + chunk <= batch; first += chunk) invoke_from(*route.chunk, inputs, first, outputs);
  if (route.remainder != nullptr) invoke_from(*route.remainder, inputs, first, outputs);
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
