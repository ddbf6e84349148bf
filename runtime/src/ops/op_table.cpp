#include "ops/op_table.h"

#include <iterator>
#include <type_traits>

namespace latentkit {
namespace ops {

// Defined in the op's own file.
extern const OpDef fully_connected_op;
extern const OpDef reshape_op;
extern const OpDef conv2d_op;
extern const OpDef transpose_conv2d_op;
extern const OpDef relu_op;
extern const OpDef sigmoid_op;
extern const OpDef tanh_op;
extern const OpDef quantize_op;
extern const OpDef dequantize_op;
extern const OpDef max_pool2d_op;
extern const OpDef max_unpool2d_op;
extern const OpDef upsample_nearest2d_op;

// Without a default branch, a new OpKind that is missing here is a compiler warning (-Wswitch).
const OpDef& op_def(OpKind kind) {
  switch (kind) {
    case OpKind::fully_connected: return fully_connected_op;
    case OpKind::reshape: return reshape_op;
    case OpKind::conv2d: return conv2d_op;
    case OpKind::transpose_conv2d: return transpose_conv2d_op;
    case OpKind::relu: return relu_op;
    case OpKind::sigmoid: return sigmoid_op;
    case OpKind::tanh: return tanh_op;
    case OpKind::quantize: return quantize_op;
    case OpKind::dequantize: return dequantize_op;
    case OpKind::max_pool2d: return max_pool2d_op;
    case OpKind::max_unpool2d: return max_unpool2d_op;
    case OpKind::upsample_nearest2d: return upsample_nearest2d_op;
  }
  return relu_op;  // not reached for a valid OpKind
}

namespace {

// Every op, in the order of the schema's OpOptions union. The schema's union and this list must
// have the same ops: an op added to the schema and not here fails to compile.
constexpr OpKind kAllOpKinds[] = {
    OpKind::fully_connected, OpKind::reshape,    OpKind::conv2d,       OpKind::transpose_conv2d,   OpKind::relu,
    OpKind::sigmoid,         OpKind::tanh,       OpKind::quantize,     OpKind::dequantize,         OpKind::max_pool2d,
    OpKind::max_unpool2d,    OpKind::upsample_nearest2d,
};
constexpr std::size_t kSchemaOps = std::extent_v<std::remove_reference_t<decltype(fb::EnumValuesOpOptions())>> - 1;
static_assert(std::size(kAllOpKinds) == kSchemaOps,
              "schema/latentkit.fbs and the op table list different numbers of ops");

}  // namespace

const OpDef* find_op(fb::OpOptions type) {
  for (OpKind kind : kAllOpKinds) {
    if (op_def(kind).options_type == type) return &op_def(kind);
  }
  return nullptr;
}

void no_options(const fb::Operator&, uint32_t, const ModelLimits&, Op&) {}
std::string no_description(const Op&) { return {}; }
int64_t one_per_element(const Graph& graph, const Op& op) {
  return graph.tensors[static_cast<std::size_t>(op.outputs[0])].elements();
}

}  // namespace ops

const std::vector<OpKind>& all_op_kinds() {
  static const std::vector<OpKind> kinds(std::begin(ops::kAllOpKinds), std::end(ops::kAllOpKinds));
  return kinds;
}

const char* to_string(OpKind kind) { return ops::op_def(kind).name; }
bool is_weighted(OpKind kind) { return ops::op_def(kind).weighted; }
int64_t multiply_adds(const Graph& graph, const Op& op) { return ops::op_def(op.kind).multiply_adds(graph, op); }
std::string describe_options(const Op& op) { return ops::op_def(op.kind).describe_options(op); }

}  // namespace latentkit
