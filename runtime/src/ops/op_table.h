// The ops of the runtime, one entry each: everything about an op that is not XNNPACK's.
//
// Each op lives in one file of this folder (fully_connected.cpp, conv2d.cpp, relu.cpp, ...),
// as TensorFlow Lite Micro's kernels and ExecuTorch's portable ops do: how its options are read
// from and written to the file's Operator table, the rule the loader applies to it (shapes,
// dtypes, quantisation), its work, and its reference kernel. That file defines the op's OpDef;
// op_table.cpp lists them, and op_def() maps an OpKind to its entry through a switch without a
// default, so that the compiler names an op that is missing. Its XNNPACK lowering is the file of
// the same name in ../xnnpack/.
//
// Adding an op: its table in schema/latentkit.fbs (OpOptions union) and its OpKind in graph.h;
// its file here and its line in op_table.cpp; its file in ../xnnpack/ and its line in
// ../xnnpack/lowerings.cpp; both files in runtime/CMakeLists.txt; its test; the exporter's
// mapping. (max_pool2d, max_unpool2d and upsample_nearest2d were added this way: see their files.) The compiler names a missing line (switches without a default; a static_assert ties
// the table's length to the schema's union), and tests/runtime/test_backends_agree.cpp fails
// until the random decoders use the op. Nothing else enumerates ops: the loader, the writer,
// quantisation, the backends, the tools and the tests take them from here (all_op_kinds()).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "latentkit/graph.h"
#include "latentkit/model.h"
#include "latentkit_generated.h"

namespace latentkit::ops {

// What a reference backend is made of while it is built: one buffer per activation tensor
// (batch x elements of its dtype, in floats so that any dtype is aligned) and the steps that
// invoke() runs in order. An op's build_reference resolves every size and pointer and appends
// its step; the step then only computes.
struct ReferenceProgram {
  const Graph* graph = nullptr;
  int batch = 1;
  std::vector<std::vector<float>> buffers;
  std::vector<std::vector<float>> kept;  // data the steps read: requantisation multipliers
  std::vector<std::function<void()>> steps;

  const Tensor& tensor(int index) const { return graph->tensors[static_cast<std::size_t>(index)]; }
  template <typename T = float>
  T* activation(int index) {
    return reinterpret_cast<T*>(buffers[static_cast<std::size_t>(index)].data());
  }
};

// How quantize_model (quantize.cpp) turns an op of a float model into its int8 form.
enum class Int8Form {
  float_only,      // stays float: its input is dequantized first (sigmoid, tanh)
  keeps_encoding,  // int8 when its input is, with the input's scale and zero point (relu, reshape)
  weighted,        // int8 activations, per-channel int8 weights and an int32 bias
  conversion,      // quantize, dequantize: what quantize_model inserts
};

struct OpDef {
  OpKind kind;
  const char* name;              // to_string(OpKind), and how messages name the op
  fb::OpOptions options_type;    // its table in the file's OpOptions union
  // Inputs: [x, weights, bias (optional)] when weighted, else `inputs` activations, x first.
  bool weighted;
  int inputs;       // when not weighted: 1, or 2 (max_unpool2d: values and indices)
  int max_outputs;  // 1, or 2 (max_pool2d: values and, optionally, indices); the first is required
  Int8Form int8;
  // Reads the options table into op.window and refuses values out of range; `index` is the
  // operator's position, which refusals name. The table is present (the loader checked).
  void (*read_options)(const fb::Operator& op, uint32_t index, const ModelLimits& limits, Op& parsed);
  flatbuffers::Offset<void> (*write_options)(flatbuffers::FlatBufferBuilder& builder, const Op& op);
  // The op's rule, once its arity and tensor indices are known good and its input is an
  // activation: dtypes, quantisation, shapes. May complete the op (an absent bias becomes -1)
  // and the tensors (an int32 bias receives its implied scales). `what` names the op.
  void (*check)(std::vector<Tensor>& tensors, Op& op, const std::string& what);
  // A pass over the op's constant data, run after the graph's work and memory are bounded (an
  // int8 op's accumulator bounds); null when the op has none.
  void (*check_constants)(const Graph& graph, const Op& op, const std::string& what);
  // Per example; see multiply_adds() in graph.h.
  int64_t (*multiply_adds)(const Graph& graph, const Op& op);
  void (*build_reference)(ReferenceProgram& program, const Op& op);
  // ", stride 2x2, ..." for tools that print a graph; empty for ops without options.
  std::string (*describe_options)(const Op& op);
};

const OpDef& op_def(OpKind kind);
// The op stored as `type` in a file, or null for NONE and values this runtime does not know.
const OpDef* find_op(fb::OpOptions type);

// Shared by the entries of ops without options.
void no_options(const fb::Operator& op, uint32_t index, const ModelLimits& limits, Op& parsed);
std::string no_description(const Op& op);
// One per output element: what the element-wise ops and reshape count as their work.
int64_t one_per_element(const Graph& graph, const Op& op);

}  // namespace latentkit::ops
