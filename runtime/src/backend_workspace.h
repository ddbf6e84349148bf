// What each backend allocates beyond the activations, estimated from the graph alone (so that
// it can be checked against the limit before building). Each backend's estimate lives beside
// the code whose allocations it predicts.
#pragma once

#include <cstdint>

#include "latentkit/graph.h"

namespace latentkit::detail {

// The XNNPACK backend at a batch size:
// - workspace_bytes: packed weights, indirection buffers, the constants and intermediates of its
//   lowerings, its own input and output copies. Meant as an upper bound; what XNNPACK itself
//   allocates is measured against it in tests/runtime/test_memory_plan.cpp (the builder's own
//   constants are not measured there);
// - multiply_adds: per example, of the nodes the lowerings define (an int8 transposed
//   convolution becomes three convolutions, tanh four element-wise nodes).
struct XnnpackCost {
  int64_t workspace_bytes = 0;
  int64_t multiply_adds = 0;
};
// The sum of each op's cost, which its lowering gives (xnnpack/<op>.cpp).
XnnpackCost xnnpack_cost(const Graph& graph, int batch);

// The reference backend: its requantisation multipliers (its activations are the plan's).
int64_t reference_workspace_bytes(const Graph& graph, int batch);

}  // namespace latentkit::detail
