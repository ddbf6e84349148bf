// The XNNPACK backend: one method's graph as one XNNPACK subgraph (Debian bookworm's 2022 build,
// libxnnpack0 0.0~git20220216.ae108ef). Every XNNPACK call in latentkit lives in this folder;
// each op's nodes are defined by its own file here (<op>.cpp, listed in lowerings.cpp).
//
// Build: define one XNNPACK value per tensor the ops use (activations with the batch prepended,
// constants as static data pointing into the model's bytes), one or more nodes per op, create
// the runtime (this packs the weights) and set it up once with the backend's own input and
// output buffers. invoke() copies the inputs in, invokes the runtime and copies the outputs out.
//
// Why own buffers and a single xnn_setup_runtime at build, instead of setting up the caller's
// pointers on every run:
// - XNNPACK may read up to XNN_EXTRA_BYTES past the end of an input array, and backend.h does
//   not ask callers for that slack; our input buffer has it.
// - xnn_setup_runtime returns a status and, in this XNNPACK version, (re)allocates the
//   convolution and deconvolution indirection buffers whenever the sizes differ from the last
//   setup (src/operators/{convolution,deconvolution}-nhwc.c). Done once at build, all of that
//   happens where failing is allowed; run() is left with xnn_invoke_runtime, which cannot fail
//   on a runtime that was set up successfully, and two copies that are small next to the
//   convolutions.
//
// int8 activations (QuantMode::int8 files) run natively in XNNPACK's int8 kernels; each op's
// file says how (an int8 fully connected layer is a 1x1 convolution, an int8 transposed
// convolution a sub-pixel convolution). Everything is integer arithmetic with the same rounding
// as the reference backend, whose output it matches (tests/runtime/test_quantize.cpp).
#include <pthreadpool.h>
#include <xnnpack.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/error.h"
#include "latentkit/graph.h"
#include "latentkit/memory_plan.h"
#include "latentkit/model.h"
#include "backend_workspace.h"
#include "saturating.h"
#include "xnnpack/subgraph_builder.h"

namespace latentkit {
using detail::saturating_add;
using xnnpack::check;
using xnnpack::CostModel;
using xnnpack::external_input_id;
using xnnpack::external_output_id;
using xnnpack::kExtraFloats;
using xnnpack::SubgraphBuilder;
using xnnpack::SubgraphPtr;
namespace {

// XNNPACK's allocations, counted: the bytes it holds are what the memory plan's workspace
// estimate must cover (tests/runtime/test_memory_plan.cpp compares them). malloc and free as
// XNNPACK's default allocator uses, so that memory allocated before or after another user of
// XNNPACK in the process (libtorch calls xnn_initialize too) is freed correctly either way.
std::atomic<int64_t> xnnpack_bytes{0};

std::size_t usable_size(void* p) {
#ifdef __GLIBC__
  return malloc_usable_size(p);
#else
  (void)p;
  return 0;  // not counted where the C library cannot say
#endif
}

void* counted(void* p) {
  if (p != nullptr) xnnpack_bytes += static_cast<int64_t>(usable_size(p));
  return p;
}

void* xnn_allocate(void*, std::size_t size) { return counted(std::malloc(size)); }

void xnn_deallocate(void*, void* pointer);

void* xnn_reallocate(void* context, void* pointer, std::size_t size) {
  if (size == 0) {  // glibc's realloc(p, 0) frees p
    xnn_deallocate(context, pointer);
    return nullptr;
  }
  const std::size_t before = pointer != nullptr ? usable_size(pointer) : 0;
  void* moved = std::realloc(pointer, size);
  if (moved != nullptr) xnnpack_bytes += static_cast<int64_t>(usable_size(moved)) - static_cast<int64_t>(before);
  return moved;
}

void xnn_deallocate(void*, void* pointer) {
  if (pointer == nullptr) return;
  xnnpack_bytes -= static_cast<int64_t>(usable_size(pointer));
  std::free(pointer);
}

void* xnn_aligned_allocate(void*, std::size_t alignment, std::size_t size) {
  void* p = nullptr;
  return posix_memalign(&p, alignment, size) == 0 ? counted(p) : nullptr;
}

const xnn_allocator kCountingAllocator = {nullptr, xnn_allocate, xnn_reallocate, xnn_deallocate,
                                          xnn_aligned_allocate, xnn_deallocate};

// xnn_initialize once per process (a function-local static is initialised thread-safely). It
// is never undone: XNNPACK's state lives as long as the process, as for every other user.
void initialize_xnnpack() {
  static const xnn_status status = xnn_initialize(&kCountingAllocator);
  check(status, "xnn_initialize");
}

struct RuntimeDeleter {
  void operator()(xnn_runtime_t runtime) const { xnn_delete_runtime(runtime); }
};
struct ThreadpoolDeleter {
  void operator()(pthreadpool_t threadpool) const { pthreadpool_destroy(threadpool); }
};
using RuntimePtr = std::unique_ptr<xnn_runtime, RuntimeDeleter>;
using ThreadpoolPtr = std::unique_ptr<pthreadpool, ThreadpoolDeleter>;

class XnnpackBackend final : public Backend {
 public:
  XnnpackBackend(const Model& model, const Method& method, int batch, const BackendOptions& options);

  void invoke(const float* const* inputs, float* const* outputs) override {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      std::memcpy(inputs_[i].data(), inputs[i], sizeof(float) * input_counts_[i]);
    }
    // Cannot fail: the runtime was set up at build with these same buffers and sizes, and
    // invoking a set-up runtime only runs its operators. Should XNNPACK ever disagree, stop
    // loudly rather than hand back an image that was not computed.
    const xnn_status status = xnn_invoke_runtime(runtime_.get());
    if (status != xnn_status_success) {
      std::fprintf(stderr, "latentkit: xnn_invoke_runtime failed: %s\n", xnnpack::to_string(status));
      std::abort();
    }
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      std::memcpy(outputs[i], outputs_[i].data(), sizeof(float) * output_counts_[i]);
    }
  }

  BackendKind kind() const override { return BackendKind::xnnpack; }

 private:
  // Destruction runs bottom-up: the runtime goes first, then the pool it uses, then the
  // buffers and constant data it points into.
  std::shared_ptr<const void> keep_alive_;  // static tensors point into the model's bytes
  std::vector<std::vector<float>> owned_constants_;  // static data the lowerings made at build
  std::vector<std::vector<float>> inputs_, outputs_;  // with XNN_EXTRA_BYTES of slack
  std::vector<std::size_t> input_counts_, output_counts_;
  ThreadpoolPtr threadpool_;
  RuntimePtr runtime_;
};

XnnpackBackend::XnnpackBackend(const Model& model, const Method& method, int batch, const BackendOptions& options)
    : Backend(method, batch), keep_alive_(model.keep_alive()) {
  const Graph& graph = method.graph;
  for (const Tensor& t : graph.tensors) {
    if (!t.is_constant() && t.elements() > std::numeric_limits<int32_t>::max() / batch) {
      throw Error(ErrorCode::invalid_argument,
                  "xnnpack backend: batch size " + std::to_string(batch) +
                      " is too large for tensor '" + t.name + "' of " +
                      std::to_string(t.elements()) + " elements");
    }
  }

  initialize_xnnpack();

  SubgraphBuilder builder(graph, batch, &owned_constants_);
  builder.add_external_values();
  for (std::size_t i = 0; i < graph.ops.size(); ++i) {
    builder.add_op(static_cast<int>(i), graph.ops[i]);
  }
  const SubgraphPtr subgraph = builder.release();

  if (options.threads > 1) {
    threadpool_.reset(pthreadpool_create(static_cast<std::size_t>(options.threads)));
    if (!threadpool_) {
      throw Error(ErrorCode::backend, "xnnpack backend: could not create a thread pool of " +
                                          std::to_string(options.threads) + " threads");
    }
  }
  xnn_runtime_t runtime = nullptr;
  check(xnn_create_runtime_v2(subgraph.get(), threadpool_.get(), /*flags=*/0, &runtime),
        "xnn_create_runtime_v2");
  runtime_.reset(runtime);

  std::vector<xnn_external_value> externals;
  for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
    input_counts_.push_back(static_cast<std::size_t>(graph.tensors[static_cast<std::size_t>(graph.inputs[i])].elements() * batch));
    inputs_.emplace_back(input_counts_.back() + kExtraFloats, 0.0f);
    externals.push_back({external_input_id(i), inputs_.back().data()});
  }
  for (std::size_t i = 0; i < graph.outputs.size(); ++i) {
    output_counts_.push_back(static_cast<std::size_t>(graph.tensors[static_cast<std::size_t>(graph.outputs[i])].elements() * batch));
    outputs_.emplace_back(output_counts_.back() + kExtraFloats, 0.0f);
    externals.push_back({external_output_id(graph, i), outputs_.back().data()});
  }
  check(xnn_setup_runtime(runtime_.get(), externals.size(), externals.data()), "xnn_setup_runtime");
}

}  // namespace

namespace detail {

// Follows SubgraphBuilder op by op: each op's cost is its lowering's (xnnpack/<op>.cpp), next to
// the nodes it estimates.
XnnpackCost xnnpack_cost(const Graph& graph, int batch) {
  CostModel model;
  model.batch = batch;
  // Our own copies of the inputs and outputs, with XNNPACK's slack.
  int64_t bytes = 0;
  for (const std::vector<int>* list : {&graph.inputs, &graph.outputs}) {
    for (int i : *list) {
      bytes = saturating_add(bytes, model.values(graph.tensors[static_cast<std::size_t>(i)].elements(), 4));
      bytes = saturating_add(bytes, XNN_EXTRA_BYTES);
    }
  }
  bytes = saturating_add(bytes, 4 * CostModel::kNodeBytes);  // and the runtime itself
  int64_t work = 0;
  for (const Op& op : graph.ops) {
    const xnnpack::OpCost cost = xnnpack::lowering(op.kind).cost(model, graph, op);
    bytes = saturating_add(bytes, cost.bytes);
    work = saturating_add(work, cost.work);
  }
  return {bytes, work};
}

}  // namespace detail

uint64_t xnnpack_bytes_in_use() { return static_cast<uint64_t>(std::max<int64_t>(0, xnnpack_bytes.load())); }

std::unique_ptr<Backend> make_xnnpack_backend(const Model& model, const Method& method, int batch,
                                              const BackendOptions& options) {
  if (batch < 1) {
    throw Error(ErrorCode::invalid_argument,
                "xnnpack backend: batch size must be at least 1, got " + std::to_string(batch));
  }
  // Time before memory: a lowering that multiplies the work is a reason to use the reference
  // backend (choose_backend falls back on unsupported_model), not a memory question.
  const int64_t work = detail::xnnpack_cost(method.graph, 1).multiply_adds;
  if (work > model.limits().max_multiply_adds) {
    throw Error(ErrorCode::unsupported_model,
                "xnnpack backend: its lowering of this graph needs " + std::to_string(work) +
                    " multiply-adds per example (limit " + std::to_string(model.limits().max_multiply_adds) +
                    ", ModelLimits::max_multiply_adds); the reference backend computes the graph directly");
  }
  check_memory(model, plan_memory(model, method, BackendKind::xnnpack, batch),
               "the xnnpack backend for " + method.name + " at batch " + std::to_string(batch));
  return std::make_unique<XnnpackBackend>(model, method, batch, options);
}

}  // namespace latentkit
