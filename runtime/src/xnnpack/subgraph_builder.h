// What the XNNPACK lowerings share: the SubgraphBuilder that defines values and nodes, the cost
// model of the memory plan, and the table of lowerings. Every XNNPACK call in latentkit lives in
// this folder: backend.cpp (the runtime, its allocator, the backend), subgraph_builder.cpp (values)
// and one file per op (<op>.cpp, the op's nodes and their cost, next to each other so that the
// estimate follows the builder).
//
// The XNNPACK of Debian bookworm: libxnnpack0 0.0~git20220216.ae108ef.
#pragma once

#include <xnnpack.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "latentkit/graph.h"
#include "saturating.h"

namespace latentkit::xnnpack {

// Throws Error(backend) unless `status` is success (out_of_memory for XNNPACK's out of memory);
// `what` names the call and the op.
void check(xnn_status status, const std::string& what);
const char* to_string(xnn_status status);

// "operator 3 (conv2d)", as messages name an op.
std::string op_name(int op_index, const Op& op);

// Static data XNNPACK reads gets this many floats of slack (XNN_EXTRA_BYTES).
constexpr std::size_t kExtraFloats = (XNN_EXTRA_BYTES + sizeof(float) - 1) / sizeof(float);

// The tensors a subgraph exchanges with the caller as external values: the method's inputs and
// outputs when the subgraph is the whole method, or what one part of the method reads from and
// writes for the others (the profiling backend's runtimes, one per op; backend.cpp).
struct Externals {
  std::vector<int> inputs, outputs;  // tensor indices
};

// External value ids reserved in the subgraph: the inputs, then the outputs.
inline uint32_t external_input_id(std::size_t input) { return static_cast<uint32_t>(input); }
inline uint32_t external_output_id(const Externals& externals, std::size_t output) {
  return static_cast<uint32_t>(externals.inputs.size() + output);
}

struct SubgraphDeleter {
  void operator()(xnn_subgraph_t subgraph) const { xnn_delete_subgraph(subgraph); }
};
using SubgraphPtr = std::unique_ptr<xnn_subgraph, SubgraphDeleter>;

// Translates the graph into an XNNPACK subgraph. Lives only while the backend is built. The
// graph satisfies everything graph.h promises (Model::load checked it); a lowering handles only
// what is particular to XNNPACK.
class SubgraphBuilder {
 public:
  // `owned` keeps the static data the lowerings make for as long as the backend's runtime.
  SubgraphBuilder(const Graph& graph, int batch, std::vector<std::vector<float>>* owned, Externals externals);

  // Defines the external tensors as the external values invoke() binds, so that they exist
  // whatever the ops do with them.
  void add_external_values();
  // The op's nodes, from its lowering (<op>.cpp).
  void add_op(int op_index, const Op& op);
  SubgraphPtr release() { return std::move(subgraph_); }

  // For the lowerings.
  xnn_subgraph_t subgraph() const { return subgraph_.get(); }
  int batch() const { return batch_; }
  const Tensor& tensor(int index) const { return graph_.tensors[static_cast<std::size_t>(index)]; }
  // The value of an activation tensor (inputs and outputs are external), defined on first use.
  uint32_t activation(int op_index, const Op& op, int tensor_index) {
    return define_activation(tensor_index, op_name(op_index, op));
  }
  // A float32 constant of the graph, as static data read in place.
  uint32_t constant(int op_index, const Op& op, int tensor_index);
  // A float32 value that exists only inside XNNPACK: an intermediate of a decomposed op, or
  // (with data) static data the lowering made.
  uint32_t internal_value(int op_index, const Op& op, const std::vector<std::size_t>& dims, const float* data);
  // An int8 intermediate with the scale and zero point of `like`.
  uint32_t int8_value(int op_index, const Op& op, const std::vector<std::size_t>& dims, const Tensor& like);
  uint32_t channelwise_weights(int op_index, const Op& op, const std::vector<std::size_t>& dims, const int8_t* data,
                               const std::vector<float>& scales);
  uint32_t channelwise_bias(int op_index, const Op& op, const int32_t* data, const std::vector<float>& scales);
  // The op's int32 bias with the scales the loader implied for it (s_x * s_w[c]), or none.
  uint32_t integer_bias(int op_index, const Op& op);
  // The tensor's shape with the batch in front.
  std::vector<std::size_t> batched_dims(const Tensor& t) const;
  // The op of the graph that writes the tensor, or null (a method input or a constant).
  const Op* producer(int tensor_index) const;
  // XNNPACK values that stand for a tensor XNNPACK holds in another form: max_pool2d's indices
  // are argmax index values, one per axis (xnnpack/max_pool2d.cpp). The producer's lowering sets
  // them, its readers' lowerings read them (empty if never set).
  void set_parts(int tensor_index, std::vector<uint32_t> ids) { parts_[static_cast<std::size_t>(tensor_index)] = std::move(ids); }
  const std::vector<uint32_t>& parts(int tensor_index) const { return parts_[static_cast<std::size_t>(tensor_index)]; }
  // Zeroed static data of `count` T, with XNNPACK's slack, kept as long as the runtime.
  template <typename T>
  T* own(std::size_t count) {
    std::vector<float>& storage =
        owned_->emplace_back((count * sizeof(T) + sizeof(float) - 1) / sizeof(float) + kExtraFloats, 0.0f);
    return reinterpret_cast<T*>(storage.data());
  }

 private:
  uint32_t define_activation(int tensor_index, const std::string& context);

  const Graph& graph_;
  int batch_;
  std::vector<std::vector<float>>* owned_;
  Externals externals_;
  std::vector<uint32_t> values_;  // XNNPACK value id per tensor, once defined
  std::vector<std::vector<uint32_t>> parts_;  // per tensor, see set_parts
  SubgraphPtr subgraph_;
};

// The bias is the optional third input of a weighted op; -1 means none.
inline bool has_bias(const Op& op) { return op.inputs[2] != -1; }

// Per output channel scales of int8 weights (a per-tensor scale repeated).
std::vector<float> weight_scales(const Tensor& w);

// What the backend costs, estimated from the graph alone (backend_workspace.h): every product
// saturates (a file can ask for anything).
//
// Memory: XNNPACK 2022 packs weights in tiles of up to 16 output channels with the bias in front
// of each channel's taps, and gives each convolution an indirection buffer of one pointer per
// kernel tap per output pixel; its runtime holds every value we define (activations and
// intermediates) in one arena. Work: the multiply-adds of the nodes we define, which differ from
// the graph's own count (multiply_adds) where an op is lowered to several nodes.
struct CostModel {
  // What one XNNPACK node costs beyond its data: the operator object, the runtime's per-node
  // record and the subgraph's value records (measured: 3 to 4 KiB per node in this version).
  static constexpr int64_t kNodeBytes = 4096;

  int batch = 1;

  static int64_t tile(int64_t channels) { return (channels + 15) / 16 * 16; }
  static int64_t packed(int64_t out, int64_t taps, int64_t element_bytes) {
    return detail::saturating_product({tile(out), detail::saturating_add(taps, 1), element_bytes == 1 ? 4 : element_bytes});
  }
  int64_t indirection(int64_t pixels, int64_t taps) const {
    return detail::saturating_product({batch, pixels + 16, taps, static_cast<int64_t>(sizeof(void*))});
  }
  int64_t values(int64_t elements, int64_t element_bytes) const {
    return detail::saturating_product({batch, elements, element_bytes});
  }
};

// An op's cost: the bytes of its nodes and data, the multiply-adds of its nodes per example.
struct OpCost {
  int64_t bytes = CostModel::kNodeBytes;
  int64_t work = 0;
};

// How one op kind becomes XNNPACK nodes, and what they cost. One file per op defines its own.
struct Lowering {
  void (*define)(SubgraphBuilder& builder, int op_index, const Op& op);
  OpCost (*cost)(const CostModel& model, const Graph& graph, const Op& op);
};
const Lowering& lowering(OpKind kind);

// The cost of an op lowered to one node: a node, and the graph's multiply-adds.
OpCost one_node(const CostModel& model, const Graph& graph, const Op& op);

}  // namespace latentkit::xnnpack
