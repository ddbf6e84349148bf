// A method's operators: their kind and options (from the op table), arity, tensor indices in
// topological order, and each op's own rule (ops/<op>.cpp); the work they ask for; the passes
// over their constant data.
#include "loader/loader.h"
#include "ops/op_table.h"
#include "ops/rules.h"
#include "refusal.h"
#include "saturating.h"

namespace latentkit::loader {

using detail::beyond_limit;
using detail::fail;
using detail::malformed;
using detail::shape_string;

namespace {

// The op stored in `op`, its kind and options in `parsed`; the options are its op file's to read.
const ops::OpDef& read_op(Context& c, const fb::Operator& op, uint32_t index, Op& parsed) {
  // The verifier accepts a union whose type is set but whose table is absent.
  if (op.options_type() != fb::OpOptions::NONE && op.options() == nullptr) {
    malformed("operator " + std::to_string(index) + " has op type " +
              fb::EnumNameOpOptions(op.options_type()) + " but no options table");
  }
  if (op.options_type() == fb::OpOptions::NONE) malformed("operator " + std::to_string(index) + " has no op options");
  const ops::OpDef* def = ops::find_op(op.options_type());
  if (def == nullptr) {
    // A value outside the schema's union.
    fail(ErrorCode::unsupported_model,
         "operator " + std::to_string(index) + " has op type " + std::to_string(static_cast<int>(op.options_type())) +
             ", unknown to this runtime (written by a newer latentkit?)");
  }
  parsed.kind = def->kind;
  def->read_options(op, index, c.limits, parsed);
  return *def;
}

void check_arity(const ops::OpDef& def, const Op& op, const std::string& what) {
  const std::size_t inputs = op.inputs.size(), outputs = op.outputs.size();
  const auto wanted = static_cast<std::size_t>(def.inputs);
  const bool ok_inputs = def.weighted ? (inputs == 2 || inputs == 3) : inputs == wanted;
  if (!ok_inputs) {
    malformed(what + " has " + std::to_string(inputs) + " inputs (expected " +
              (def.weighted ? "2 or 3" : std::to_string(wanted)) + ")");
  }
  if (outputs < 1 || outputs > static_cast<std::size_t>(def.max_outputs)) {
    malformed(what + " has " + std::to_string(outputs) + " outputs (expected " +
              (def.max_outputs == 1 ? std::string("1") : "1 to " + std::to_string(def.max_outputs)) + ")");
  }
}

}  // namespace

std::vector<int> indices(const flatbuffers::Vector<int32_t>* v) {
  return v ? std::vector<int>(v->begin(), v->end()) : std::vector<int>();
}

void read_ops(Context& c, const OperatorList* ops, std::vector<Tensor>& tensors, MethodDraft& draft) {
  if (ops == nullptr || ops->size() == 0) malformed(draft.what + " has no operators");
  if (ops->size() > static_cast<uint32_t>(c.limits.max_ops)) {
    beyond_limit(draft.what + " has " + std::to_string(ops->size()) + " operators (limit " +
                     std::to_string(c.limits.max_ops) + ")", "max_ops");
  }
  // An activation is usable once it is a method input or an earlier op's output: this is what
  // makes the stored order topological.
  std::vector<bool> defined(tensors.size(), false);
  for (int i : draft.inputs) {
    tensor_at(tensors, i, draft.version_1 ? "graph input" : draft.what + " input");
    defined[static_cast<std::size_t>(i)] = true;
  }
  for (int i : draft.outputs) tensor_at(tensors, i, draft.version_1 ? "graph output" : draft.what + " output");
  const std::string prefix = draft.prefix();
  for (uint32_t i = 0; i < ops->size(); ++i) {
    const fb::Operator& op = *ops->Get(i);
    Op parsed;
    parsed.inputs = indices(op.inputs());
    parsed.outputs = indices(op.outputs());
    const ops::OpDef& def = read_op(c, op, i, parsed);
    const std::string what = prefix + "operator " + std::to_string(i) + " (" + to_string(parsed.kind) + ")";
    check_arity(def, parsed, what);
    for (std::size_t k = 0; k < parsed.inputs.size(); ++k) {
      int index = parsed.inputs[k];
      if (index == -1 && k == 2) continue;  // absent bias
      const Tensor& t = tensor_at(tensors, index, what + " input " + std::to_string(k));
      if (!t.is_constant() && !defined[index]) {
        malformed(what + " reads tensor " + std::to_string(index) + " '" + t.name +
                  "' before any operator writes it (operators must be in topological order)");
      }
    }
    // Each output once: an op with two outputs (max_pool2d's values and indices) may not name
    // one tensor twice.
    std::vector<bool> written(tensors.size(), false);
    for (std::size_t k = 0; k < parsed.outputs.size(); ++k) {
      const int y = parsed.outputs[k];
      const Tensor& output = tensor_at(tensors, y, what + " output" + (k == 0 ? "" : " " + std::to_string(k)));
      if (output.is_constant() || defined[static_cast<std::size_t>(y)] || written[static_cast<std::size_t>(y)]) {
        malformed(what + " writes tensor " + std::to_string(y) + " '" + output.name +
                  "', which is a constant or already written");
      }
      written[static_cast<std::size_t>(y)] = true;
    }
    ops::expect_constant(tensors[static_cast<std::size_t>(parsed.inputs[0])], false, what, "input");
    def.check(tensors, parsed, what);  // the op's own rule (ops/<op>.cpp)
    for (int y : parsed.outputs) defined[static_cast<std::size_t>(y)] = true;
    draft.ops.push_back(std::move(parsed));
  }
}

// The passes over constant data of every op (the integer-arithmetic bounds of int8 ops), after
// check_work has bounded them (an op's weights are at most its multiply-adds).
void check_constants(const Graph& g, const MethodDraft& d) {
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    const ops::OpDef& def = ops::op_def(op.kind);
    if (def.check_constants == nullptr) continue;
    def.check_constants(g, op, d.prefix() + "operator " + std::to_string(i) + " (" + to_string(op.kind) + ")");
  }
}

// The time a method takes, bounded before anything runs: a small file can describe a graph
// that takes minutes per image.
void check_work(Context& c, const MethodDraft& d) {
  Graph g;
  g.tensors = c.shared;
  int64_t total = 0;
  for (const Op& op : d.ops) total = detail::saturating_add(total, multiply_adds(g, op));
  if (total > c.limits.max_multiply_adds) {
    beyond_limit((d.version_1 ? std::string("the decoder") : d.what) + " needs " +
                     std::to_string(total) + " multiply-adds per example (limit " +
                     std::to_string(c.limits.max_multiply_adds) + ")", "max_multiply_adds");
  }
}

}  // namespace latentkit::loader
