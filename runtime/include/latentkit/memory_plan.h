// How much memory a model needs at a batch size, computed before anything is allocated.
//
// Model::load refuses a file whose plan at batch 1 exceeds ModelLimits::max_memory_bytes, and
// make_backend refuses a batch size whose plan does, with a message giving the figures: on a
// device the answer to "can I decode 256 at once?" is an error, not the OOM killer.
// Every figure is computed in 64 bits from sizes the loader has bounded, and saturates rather
// than wraps.
#pragma once

#include <cstdint>
#include <string>

#include "latentkit/backend.h"
#include "latentkit/model.h"

namespace latentkit {

struct MemoryPlan {
  uint64_t model_bytes = 0;       // the file's bytes, held for the model's lifetime
  uint64_t widened_bytes = 0;     // float32 copies of float16, int8 and int32 constants
  uint64_t activation_bytes = 0;  // every activation tensor at the batch size
  uint64_t workspace_bytes = 0;   // the backend's own: packed weights, indirection buffers,
                                  // the constants of its lowerings, its input/output copies

  uint64_t total() const;
  // "12.3 MiB (model 170 KiB, widened 0 B, activations 9.8 MiB, backend 2.3 MiB)"
  std::string describe() const;
};

// The plan for running `method` on `kind` at `batch` (>= 1). Model::load checks the reference
// backend's plan of every method at batch 1 (the least any use of the model needs) before it
// widens a constant. The first form plans the `decode` method.
MemoryPlan plan_memory(const Model& model, BackendKind kind, int batch);
MemoryPlan plan_memory(const Model& model, const Method& method, BackendKind kind, int batch);
// The same for a method's graph that Model::load has checked up to its constants (the loader's
// own use).
MemoryPlan plan_memory(const Graph& graph, uint64_t model_bytes, BackendKind kind, int batch);

// Throws Error(out_of_memory) naming the figures if `plan` exceeds `limit`, or if any figure
// saturated (a limit of 2^63 or more does not switch the check off).
void check_memory(const MemoryPlan& plan, uint64_t limit, const std::string& what);
// The same with the model's ModelLimits::max_memory_bytes.
void check_memory(const Model& model, const MemoryPlan& plan, const std::string& what);

// The bytes XNNPACK holds now (every backend built, with its packed weights and arenas), counted
// by the allocator latentkit gives XNNPACK; 0 without XNNPACK or where the C library cannot tell
// an allocation's size (it counts with glibc's malloc_usable_size). For tests and benchmarks of
// the memory plan.
uint64_t xnnpack_bytes_in_use();

// "1.5 GiB", "170 KiB", "12 B".
std::string format_bytes(uint64_t bytes);

}  // namespace latentkit
