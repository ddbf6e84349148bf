// The XNNPACK backend: one method's graph as one XNNPACK subgraph (Debian bookworm's 2022 build,
// libxnnpack0 0.0~git20220216.ae108ef). Every XNNPACK call in latentkit lives in this folder;
// each op's nodes are defined by its own file here (<op>.cpp, listed in lowerings.cpp).
//
// Build: define one XNNPACK value per tensor the ops use (activations with the batch prepended,
// constants as static data pointing into the model's bytes), one or more nodes per op, create
// the runtime (this packs the weights) and set it up once with the backend's own input and
// output buffers. invoke() copies the inputs in, invokes the runtime and copies the outputs out.
// A backend built with BackendOptions::profile has one runtime per op instead (segments()), chained
// through buffers of ours, and reads the clock around each: this XNNPACK has no profiling API.
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
#include <chrono>
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
}  // namespace

class WorkerThreads {
 public:
  explicit WorkerThreads(int threads) : pool_(pthreadpool_create(static_cast<std::size_t>(threads))) {
    if (!pool_) {
      throw Error(ErrorCode::backend, "xnnpack backend: could not create a thread pool of " + std::to_string(threads) +
                                          " threads");
    }
  }
  pthreadpool_t get() const { return pool_.get(); }

 private:
  ThreadpoolPtr pool_;
};

namespace {

// Where the method is cut into separately run XNNPACK runtimes: [first, last) op ranges. One
// range unless profiling; then one per op, except that a ReLU stays with the op that produces its
// input when nothing else reads that (XNNPACK fuses the clamp into its producer, and timing it
// apart would measure a pass that a decode does not make), and that ops exchanging an int32
// tensor (max_pool2d's indices, which the lowerings hold as XNNPACK argmax values) stay together.
std::vector<std::pair<std::size_t, std::size_t>> segments(const Graph& graph, bool profile) {
  const std::size_t n = graph.ops.size();
  if (!profile || n == 0) return {{0, n}};
  std::vector<int> producer(graph.tensors.size(), -1), readers(graph.tensors.size(), 0),
      last_reader(graph.tensors.size(), -1);
  for (std::size_t i = 0; i < n; ++i) {
    for (int x : graph.ops[i].inputs) {
      if (x < 0) continue;
      ++readers[static_cast<std::size_t>(x)];
      last_reader[static_cast<std::size_t>(x)] = static_cast<int>(i);
    }
    for (int y : graph.ops[i].outputs) producer[static_cast<std::size_t>(y)] = static_cast<int>(i);
  }
  // cut[i]: a new runtime may begin at op i.
  std::vector<bool> cut(n, true);
  for (std::size_t i = 1; i < n; ++i) {
    const Op& op = graph.ops[i];
    const std::size_t x = static_cast<std::size_t>(op.inputs[0]);
    const bool method_output = std::find(graph.outputs.begin(), graph.outputs.end(), op.inputs[0]) != graph.outputs.end();
    if (op.kind == OpKind::relu && producer[x] == static_cast<int>(i) - 1 && readers[x] == 1 && !method_output) {
      cut[i] = false;
    }
  }
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    const Tensor& tensor = graph.tensors[t];
    if (tensor.is_constant() || tensor.dtype != DType::int32 || producer[t] < 0) continue;
    for (int i = producer[t] + 1; i <= last_reader[t]; ++i) cut[static_cast<std::size_t>(i)] = false;
  }
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0 || cut[i]) ranges.push_back({i, i});
    ranges.back().second = i + 1;
  }
  return ranges;
}

class XnnpackBackend final : public Backend {
 public:
  XnnpackBackend(const Model& model, const Method& method, int batch, const BackendOptions& options);

  void invoke(const float* const* inputs, float* const* outputs) override {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      std::memcpy(inputs_[i], inputs[i], input_bytes_[i]);
    }
    for (Segment& segment : segments_) {
      const auto start = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      // Cannot fail: the runtime was set up at build with these same buffers and sizes, and
      // invoking a set-up runtime only runs its operators. Should XNNPACK ever disagree, stop
      // loudly rather than hand back an image that was not computed.
      const xnn_status status = xnn_invoke_runtime(segment.runtime.get());
      if (status != xnn_status_success) {
        std::fprintf(stderr, "latentkit: xnn_invoke_runtime failed: %s\n", xnnpack::to_string(status));
        std::abort();
      }
      if (profile_) segment.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      std::memcpy(outputs[i], outputs_[i], output_bytes_[i]);
    }
  }

  BackendKind kind() const override { return BackendKind::xnnpack; }

  std::vector<OpTime> op_times() const override {
    std::vector<OpTime> times;
    if (!profile_) return times;
    for (const Segment& segment : segments_) {
      OpTime time;
      for (std::size_t op = segment.first_op; op < segment.end_op; ++op) time.ops.push_back(static_cast<int>(op));
      time.seconds = segment.seconds;
      times.push_back(std::move(time));
    }
    return times;
  }

 private:
  struct Segment {
    std::size_t first_op = 0, end_op = 0;
    RuntimePtr runtime;
    double seconds = 0;  // profiling
  };

  // Destruction runs bottom-up: the runtimes go first, then the pool they use, then the
  // buffers and constant data they point into.
  std::shared_ptr<const void> keep_alive_;  // static tensors point into the model's bytes
  std::vector<std::vector<float>> owned_constants_;  // static data the lowerings made at build
  // One buffer, with XNN_EXTRA_BYTES of slack, per tensor that a runtime exchanges: the method's
  // inputs and outputs, and (profiling) what passes between the runtimes. Empty for the others.
  std::vector<std::vector<float>> buffers_;
  std::vector<float*> inputs_, outputs_;  // into buffers_, in the method's order
  std::vector<std::size_t> input_bytes_, output_bytes_;
  bool profile_ = false;
  std::shared_ptr<WorkerThreads> threadpool_;  // null: the calling thread only
  std::vector<Segment> segments_;
};

XnnpackBackend::XnnpackBackend(const Model& model, const Method& method, int batch, const BackendOptions& options)
    : Backend(method, batch), keep_alive_(model.keep_alive()), profile_(options.profile) {
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

  if (options.threads > 1) {
    threadpool_ = options.worker_threads ? options.worker_threads : std::make_shared<WorkerThreads>(options.threads);
  }

  // Which op writes each tensor, and which tensors a runtime must exchange: the method's inputs
  // and outputs, and every tensor read outside the range of ops that writes it.
  const auto ranges = segments(graph, options.profile);
  std::vector<int> segment_of_writer(graph.tensors.size(), -1);
  for (std::size_t s = 0; s < ranges.size(); ++s) {
    for (std::size_t i = ranges[s].first; i < ranges[s].second; ++i) {
      for (int y : graph.ops[i].outputs) segment_of_writer[static_cast<std::size_t>(y)] = static_cast<int>(s);
    }
  }
  std::vector<bool> exchanged(graph.tensors.size(), false);
  for (int i : graph.inputs) exchanged[static_cast<std::size_t>(i)] = true;
  for (int i : graph.outputs) exchanged[static_cast<std::size_t>(i)] = true;
  for (std::size_t s = 0; s < ranges.size(); ++s) {
    for (std::size_t i = ranges[s].first; i < ranges[s].second; ++i) {
      for (int x : graph.ops[i].inputs) {
        if (x < 0 || graph.tensors[static_cast<std::size_t>(x)].is_constant()) continue;
        const int writer = segment_of_writer[static_cast<std::size_t>(x)];
        if (writer >= 0 && writer != static_cast<int>(s)) exchanged[static_cast<std::size_t>(x)] = true;
      }
    }
  }
  buffers_.resize(graph.tensors.size());
  const auto bytes_of = [&](int t) {
    const Tensor& tensor = graph.tensors[static_cast<std::size_t>(t)];
    return static_cast<std::size_t>(tensor.elements() * batch) * size_of(tensor.dtype);
  };
  for (std::size_t t = 0; t < graph.tensors.size(); ++t) {
    if (exchanged[t]) buffers_[t].assign((bytes_of(static_cast<int>(t)) + sizeof(float) - 1) / sizeof(float) + kExtraFloats, 0.0f);
  }
  for (int i : graph.inputs) {
    inputs_.push_back(buffers_[static_cast<std::size_t>(i)].data());
    input_bytes_.push_back(bytes_of(i));
  }
  for (int i : graph.outputs) {
    outputs_.push_back(buffers_[static_cast<std::size_t>(i)].data());
    output_bytes_.push_back(bytes_of(i));
  }

  for (std::size_t s = 0; s < ranges.size(); ++s) {
    xnnpack::Externals externals;
    const auto add_once = [](std::vector<int>& list, int t) {
      if (std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
    };
    for (std::size_t i = ranges[s].first; i < ranges[s].second; ++i) {
      for (int x : graph.ops[i].inputs) {
        if (x >= 0 && exchanged[static_cast<std::size_t>(x)] && segment_of_writer[static_cast<std::size_t>(x)] != static_cast<int>(s)) {
          add_once(externals.inputs, x);
        }
      }
      for (int y : graph.ops[i].outputs) {
        if (exchanged[static_cast<std::size_t>(y)]) add_once(externals.outputs, y);
      }
    }
    SubgraphBuilder builder(graph, batch, &owned_constants_, externals);
    builder.add_external_values();
    for (std::size_t i = ranges[s].first; i < ranges[s].second; ++i) {
      builder.add_op(static_cast<int>(i), graph.ops[i]);
    }
    const SubgraphPtr subgraph = builder.release();
    xnn_runtime_t runtime = nullptr;
    pthreadpool_t workers = threadpool_ ? threadpool_->get() : nullptr;
    check(xnn_create_runtime_v2(subgraph.get(), workers, /*flags=*/0, &runtime), "xnn_create_runtime_v2");
    Segment segment;
    segment.first_op = ranges[s].first;
    segment.end_op = ranges[s].second;
    segment.runtime.reset(runtime);

    std::vector<xnn_external_value> values;
    for (std::size_t i = 0; i < externals.inputs.size(); ++i) {
      values.push_back({external_input_id(i), buffers_[static_cast<std::size_t>(externals.inputs[i])].data()});
    }
    for (std::size_t i = 0; i < externals.outputs.size(); ++i) {
      values.push_back({external_output_id(externals, i), buffers_[static_cast<std::size_t>(externals.outputs[i])].data()});
    }
    check(xnn_setup_runtime(segment.runtime.get(), values.size(), values.data()), "xnn_setup_runtime");
    segments_.push_back(std::move(segment));
  }
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

std::shared_ptr<WorkerThreads> make_worker_threads(int threads) {
  return threads > 1 ? std::make_shared<WorkerThreads>(threads) : nullptr;
}

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
