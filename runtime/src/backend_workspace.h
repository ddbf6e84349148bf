// What each backend allocates beyond the activations, estimated from the graph alone (so that
// it can be checked against the limit before building). Each backend's estimate lives beside
// the code whose allocations it predicts.
#pragma once

#include <cstdint>

#include "latentkit/graph.h"

namespace latentkit::detail {

// The XNNPACK backend: packed weights, indirection buffers, the constants and intermediates of
// its lowerings, its own input and output copies. An upper bound of what XNNPACK allocates for
// the graph in this version (tests/runtime/test_memory_plan.cpp measures it).
int64_t xnnpack_workspace_bytes(const Graph& graph, int batch);

// The reference backend: its requantisation multipliers (its activations are the plan's).
int64_t reference_workspace_bytes(const Graph& graph, int batch);

}  // namespace latentkit::detail
