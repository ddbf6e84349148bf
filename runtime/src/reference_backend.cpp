// The reference backend: plain, portable C++ loops over NHWC tensors.
//
// It is the oracle the tests compare XNNPACK against and the fallback for targets built without
// XNNPACK, so it is written to be obviously correct rather than fast. Each op's kernel lives in
// its own file (ops/<op>.cpp), a direct transcription of the op's definition in
// schema/latentkit.fbs; ops/arithmetic.h says how float and integer ops compute.
//
// Build does every check and every allocation (one buffer of batch x elements per activation
// tensor, a list of steps with all sizes resolved, each from its op's build_reference);
// invoke() copies the method's inputs in, runs the steps and copies its outputs out.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/calibration.h"
#include "latentkit/error.h"
#include "latentkit/graph.h"
#include "latentkit/model.h"
#include "latentkit/memory_plan.h"
#include "backend_workspace.h"
#include "ops/op_table.h"
#include "saturating.h"

namespace latentkit {
using detail::saturating_add;
using detail::saturating_product;
namespace {

// The graph comes from Model::load, which has checked everything the kernels rely on (see the
// guarantees in graph.h); building only resolves sizes and pointers.
class ReferenceBackend final : public Backend {
 public:
  ReferenceBackend(const Model& model, const Method& method, int batch, bool profile = false);

  void invoke(const float* const* inputs, float* const* outputs) override {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      std::memcpy(inputs_[i].data, inputs[i], sizeof(float) * inputs_[i].count);
    }
    if (op_seconds_.empty()) {
      for (const auto& step : program_.steps) step();
    } else {
      // Profiling (BackendOptions::profile): the clock around each op's steps.
      for (std::size_t op = 0; op + 1 < op_first_step_.size(); ++op) {
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t k = op_first_step_[op]; k < op_first_step_[op + 1]; ++k) program_.steps[k]();
        op_seconds_[op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
    }
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      std::memcpy(outputs[i], outputs_[i].data, sizeof(float) * outputs_[i].count);
    }
  }

  BackendKind kind() const override { return BackendKind::reference; }

  std::vector<OpTime> op_times() const override {
    std::vector<OpTime> times;
    for (std::size_t op = 0; op < op_seconds_.size(); ++op) times.push_back({{static_cast<int>(op)}, op_seconds_[op]});
    return times;
  }

  // The activation buffer of a tensor (batch x elements of its dtype), for calibration.
  const void* buffer(int tensor_index) const { return program_.buffers[static_cast<std::size_t>(tensor_index)].data(); }

 private:
  std::shared_ptr<const void> keep_alive_;  // the kernels point into the model's constant data
  const Graph& graph_;                       // valid while keep_alive_ is held
  ops::ReferenceProgram program_;
  struct Binding {
    float* data;        // the tensor's activation buffer
    std::size_t count;  // batch x elements
  };
  std::vector<Binding> inputs_, outputs_;
  // Profiling only: op i runs steps [op_first_step_[i], op_first_step_[i + 1]) (an op may append
  // any number of steps), and has taken op_seconds_[i] so far.
  std::vector<std::size_t> op_first_step_;
  std::vector<double> op_seconds_;
};

ReferenceBackend::ReferenceBackend(const Model& model, const Method& method, int batch, bool profile)
    : Backend(method, batch), keep_alive_(model.keep_alive()), graph_(method.graph) {
  program_.graph = &graph_;
  program_.batch = batch;
  // One buffer per activation tensor. The loader bounds every tensor's elements; the batch is
  // the caller's, so guard the product.
  program_.buffers.resize(graph_.tensors.size());
  for (std::size_t t = 0; t < graph_.tensors.size(); ++t) {
    const Tensor& tensor = graph_.tensors[t];
    if (tensor.is_constant()) continue;
    const int64_t elements = tensor.elements();
    if (elements > std::numeric_limits<int32_t>::max() / batch) {
      throw Error(ErrorCode::invalid_argument,
                  "reference backend: batch size " + std::to_string(batch) +
                      " is too large for tensor '" + tensor.name + "' of " +
                      std::to_string(elements) + " elements");
    }
    const std::size_t bytes = static_cast<std::size_t>(elements * batch) * size_of(tensor.dtype);
    program_.buffers[t].assign((bytes + sizeof(float) - 1) / sizeof(float), 0.0f);
  }
  const auto binding = [&](int i) {
    return Binding{program_.activation(i), static_cast<std::size_t>(program_.tensor(i).elements() * batch)};
  };
  for (int i : graph_.inputs) inputs_.push_back(binding(i));
  for (int i : graph_.outputs) outputs_.push_back(binding(i));
  for (const Op& op : graph_.ops) {
    op_first_step_.push_back(program_.steps.size());
    ops::op_def(op.kind).build_reference(program_, op);
  }
  op_first_step_.push_back(program_.steps.size());
  if (profile) op_seconds_.assign(graph_.ops.size(), 0.0);
}

}  // namespace

std::vector<TensorRange> observe_ranges(const Model& model, const std::vector<float>& latents) {
  const Method& method = model.method(methods::decode);
  const Graph& graph = method.graph;
  const int dims = model.latent().dims();
  const int count = static_cast<int>(latents.size() / static_cast<std::size_t>(dims));
  if (count < 1 || latents.size() != static_cast<std::size_t>(count) * dims) {
    throw Error(ErrorCode::invalid_argument, "calibration needs whole latent vectors of " + std::to_string(dims) +
                                                 " values, got " + std::to_string(latents.size()) + " values");
  }
  std::vector<TensorRange> ranges(graph.tensors.size());
  std::vector<bool> seen(graph.tensors.size(), false);
  auto widen = [&](std::size_t t, const float* values, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      if (!seen[t]) {
        ranges[t] = {values[i], values[i]};
        seen[t] = true;
      }
      ranges[t].min = std::min(ranges[t].min, values[i]);
      ranges[t].max = std::max(ranges[t].max, values[i]);
    }
  };
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    // int32 activations are max_pool2d's indices: positions, not values, and never quantised.
    if (tensor.dtype != DType::float32 && tensor.dtype != DType::int32 && !tensor.is_constant()) {
      throw Error(ErrorCode::invalid_argument, "calibration needs a float model; tensor '" + tensor.name + "' is " +
                                                   to_string(tensor.dtype));
    }
    if (tensor.is_constant()) widen(t, tensor.f32(), tensor.elements());
  }
  // In chunks, so that memory stays bounded however many latents there are.
  constexpr int kChunk = 250;
  std::vector<float> images;
  for (int start = 0; start < count; start += kChunk) {
    const int batch = std::min(kChunk, count - start);
    ReferenceBackend backend(model, method, batch);
    images.resize(static_cast<std::size_t>(batch) * model.image().pixels());
    backend.run(latents.data() + static_cast<std::size_t>(start) * dims, images.data());
    for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
      const Tensor& tensor = graph.tensors[t];
      if (!tensor.is_constant() && tensor.dtype == DType::float32) {
        widen(t, static_cast<const float*>(backend.buffer(static_cast<int>(t))), tensor.elements() * batch);
      }
    }
  }
  return ranges;
}

namespace detail {

int64_t reference_workspace_bytes(const Graph& graph, int /*batch*/) {
  // One multiplier per output channel of each integer op, and one step (a std::function) per op.
  int64_t bytes = 0;
  for (const Op& op : graph.ops) {
    bytes = saturating_add(bytes, 64);
    const bool weighted = is_weighted(op.kind);
    if (weighted && graph.tensors[static_cast<std::size_t>(op.inputs[0])].dtype == DType::int8) {
      bytes = saturating_add(bytes, saturating_product({graph.tensors[static_cast<std::size_t>(op.inputs[1])].shape[0], 4}));
    }
  }
  return bytes;
}

}  // namespace detail

std::unique_ptr<Backend> make_reference_backend(const Model& model, const Method& method, int batch,
                                                const BackendOptions& options) {
  if (batch < 1) {
    throw Error(ErrorCode::invalid_argument,
                "reference backend: batch size must be at least 1, got " + std::to_string(batch));
  }
  check_memory(model, plan_memory(model, method, BackendKind::reference, batch),
               "the reference backend for " + method.name + " at batch " + std::to_string(batch));
  return std::make_unique<ReferenceBackend>(model, method, batch, options.profile);
}

}  // namespace latentkit
