// Methods: names, inputs and outputs typed by role, the signatures of the reserved names, every
// tensor and value used, and the self-contained Graph each method becomes.
#include <algorithm>

#include "loader/loader.h"
#include "refusal.h"

namespace latentkit::loader {

using detail::beyond_limit;
using detail::fail;
using detail::malformed;
using detail::shape_string;

namespace {

void check_method_name(const std::string& name, uint32_t index) {
  const bool valid = !name.empty() && name.size() <= kMaxMethodNameBytes &&
                     name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!valid) {
    malformed("method " + std::to_string(index) + " is called '" + name + "'; a method's name is 1 to " +
              std::to_string(kMaxMethodNameBytes) + " of a-z, 0-9 and _");
  }
}

Role role_of(fb::Role stored, const std::string& what) {
  switch (stored) {
    case fb::Role::LATENT: return Role::latent;
    case fb::Role::IMAGE: return Role::image;
    case fb::Role::LATENT_MEAN: return Role::latent_mean;
    case fb::Role::LATENT_LOG_VARIANCE: return Role::latent_log_variance;
  }
  fail(ErrorCode::unsupported_model, what + " has role " + std::to_string(static_cast<int>(stored)) +
                                         ", unknown to this runtime (written by a newer latentkit?)");
}

void read_values(const flatbuffers::Vector<flatbuffers::Offset<fb::MethodValue>>* values, const std::string& what,
                 std::vector<int>& tensors, std::vector<Role>& roles) {
  const uint32_t count = values ? values->size() : 0;
  if (count == 0 || count > kMaxMethodValues) {
    malformed(what + "s: " + std::to_string(count) + " (a method has 1 to " + std::to_string(kMaxMethodValues) + ")");
  }
  for (uint32_t i = 0; i < count; ++i) {
    const fb::MethodValue& value = *values->Get(i);
    tensors.push_back(value.tensor());
    roles.push_back(role_of(value.role(), what + " " + std::to_string(i)));
  }
}

std::string roles_string(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) out += (out.empty() ? "" : ", ") + std::string(to_string(r));
  return out;
}

}  // namespace

// Version 1: one graph with its own tensors, the model's `decode` method.
std::vector<MethodDraft> read_version_1(Context& c, std::vector<Tensor>& tensors) {
  const fb::Graph* graph = c.model.decoder();
  if (graph == nullptr) malformed("the file has no decoder graph");
  read_tensors(c, graph->tensors(), "the decoder graph", tensors);
  MethodDraft draft;
  draft.name = methods::decode;
  draft.what = "the decoder graph";
  draft.version_1 = true;
  draft.inputs = indices(graph->inputs());
  draft.outputs = indices(graph->outputs());
  if (draft.inputs.size() != 1 || draft.outputs.size() != 1) {
    malformed("a decoder graph has one input and one output; this one has " +
              std::to_string(draft.inputs.size()) + " and " + std::to_string(draft.outputs.size()));
  }
  draft.input_roles = {Role::latent};
  draft.output_roles = {Role::image};
  read_ops(c, graph->operators(), tensors, draft);
  std::vector<MethodDraft> drafts;
  drafts.push_back(std::move(draft));
  return drafts;
}

std::vector<MethodDraft> read_methods(Context& c, std::vector<Tensor>& tensors) {
  if (c.model.decoder() != nullptr) {
    malformed("a version " + std::to_string(c.model.format_version()) +
              " file keeps its graphs in methods, but this one has a version 1 decoder graph");
  }
  read_tensors(c, c.model.tensors(), "the file", tensors);
  const auto* methods = c.model.methods();
  if (methods == nullptr || methods->size() == 0) malformed("the file has no methods");
  if (methods->size() > kMaxMethods) {
    malformed("the file has " + std::to_string(methods->size()) + " methods (limit " + std::to_string(kMaxMethods) + ")");
  }
  std::vector<MethodDraft> drafts;
  for (uint32_t m = 0; m < methods->size(); ++m) {
    const fb::Method& method = *methods->Get(m);
    MethodDraft draft;
    draft.name = c.text(method.name(), "the name of method " + std::to_string(m));
    check_method_name(draft.name, m);
    for (const MethodDraft& earlier : drafts) {
      if (earlier.name == draft.name) malformed("the file has two methods called '" + draft.name + "'");
    }
    draft.what = "method '" + draft.name + "'";
    read_values(method.inputs(), draft.what + " input", draft.inputs, draft.input_roles);
    read_values(method.outputs(), draft.what + " output", draft.outputs, draft.output_roles);
    read_ops(c, method.operators(), tensors, draft);
    drafts.push_back(std::move(draft));
  }
  return drafts;
}

// A method's inputs and outputs: distinct float32 activations, inputs written by no op and
// outputs written by one of the method's ops, each of its role's shape; the reserved method
// names have their signatures (method.h).
void check_roles(Context& c, const MethodDraft& d, const LatentSpec& latent, const ImageSpec& image) {
  const bool v1 = d.version_1;
  auto check_value = [&](int index, Role role, const std::string& what) {
    const Tensor& t = tensor_at(c.shared, index, what);
    if (t.is_constant()) malformed(what + " '" + t.name + "' must not be a constant");
    if (t.dtype != DType::float32) {
      malformed(what + " '" + t.name + "' must be float32 (quantize and dequantize inside the graph), not " +
                to_string(t.dtype));
    }
    std::vector<int64_t> expected;
    switch (role) {
      case Role::latent:
      case Role::latent_mean:
      case Role::latent_log_variance:
        if (latent.groups.empty()) malformed(what + " '" + t.name + "' is a " + to_string(role) + " but the file has no latent spec");
        if (t.shape.size() != 1) {
          malformed(what + " '" + t.name + "' must be a latent vector, not shape " + shape_string(t.shape));
        }
        if (latent.dims() != t.shape[0]) {
          malformed("the latent spec has " + std::to_string(latent.dims()) + " dimensions but " + what + " '" +
                    t.name + "' has shape " + shape_string(t.shape));
        }
        return;
      case Role::image:
        if (image.height == 0) malformed(what + " '" + t.name + "' is an image but the file has no image spec");
        expected = {image.height, image.width, image.channels};
        if (t.shape != expected) {
          malformed("the image spec says " + shape_string(expected) + " (height, width, channels) but " + what +
                    " '" + t.name + "' has shape " + shape_string(t.shape));
        }
        return;
    }
  };
  const std::string input = v1 ? "the decoder input" : d.what + " input";
  const std::string output = v1 ? "the decoder output" : d.what + " output";
  for (std::size_t i = 0; i < d.inputs.size(); ++i) {
    check_value(d.inputs[i], d.input_roles[i], v1 ? input : input + " " + std::to_string(i));
  }
  for (std::size_t i = 0; i < d.outputs.size(); ++i) {
    const std::string what = v1 ? output : output + " " + std::to_string(i);
    check_value(d.outputs[i], d.output_roles[i], what);
    bool produced = false;
    for (const Op& op : d.ops) {
      produced = produced || std::find(op.outputs.begin(), op.outputs.end(), d.outputs[i]) != op.outputs.end();
    }
    if (!produced) malformed(what + " '" + c.shared[d.outputs[i]].name + "' is not written by any operator");
  }
  std::vector<int> all = d.inputs;
  all.insert(all.end(), d.outputs.begin(), d.outputs.end());
  std::sort(all.begin(), all.end());
  if (std::adjacent_find(all.begin(), all.end()) != all.end()) {
    malformed(d.what + " names a tensor twice among its inputs and outputs");
  }
  struct Signature {
    const char* name;
    std::vector<Role> inputs, outputs;
  };
  // A name may stand for more than one signature: a VAE's encoder gives its posterior, a plain
  // autoencoder's its code.
  const Signature reserved[] = {
      {methods::decode, {Role::latent}, {Role::image}},
      {methods::encode, {Role::image}, {Role::latent_mean, Role::latent_log_variance}},
      {methods::encode, {Role::image}, {Role::latent}},
      {methods::reconstruct, {Role::image}, {Role::image}},
  };
  bool reserved_name = false, matches = false;
  std::string expected;
  for (const Signature& s : reserved) {
    if (d.name != s.name) continue;
    reserved_name = true;
    matches = matches || (d.input_roles == s.inputs && d.output_roles == s.outputs);
    expected += std::string(expected.empty() ? "" : " or ") + roles_string(s.inputs) + " -> " + roles_string(s.outputs);
  }
  if (reserved_name && !matches) {
    malformed(d.what + " does not have the signature its name stands for (" + expected + ")");
  }
}

// The method as backends see it: a Graph of only the tensors it uses, in the file's order.
Method compact(Context& c, const MethodDraft& d) {
  std::vector<int> renumber(c.shared.size(), -1);
  auto use = [&](int i) {
    if (i >= 0) renumber[static_cast<std::size_t>(i)] = 0;
  };
  for (const Op& op : d.ops) {
    for (int i : op.inputs) use(i);
    for (int i : op.outputs) use(i);
  }
  for (int i : d.inputs) use(i);
  Method method;
  method.name = d.name;
  method.input_roles = d.input_roles;
  method.output_roles = d.output_roles;
  std::vector<std::size_t> file_index;
  for (std::size_t t = 0; t < c.shared.size(); ++t) {
    if (renumber[t] == -1) continue;
    renumber[t] = static_cast<int>(method.graph.tensors.size());
    method.graph.tensors.push_back(c.shared[t]);
    file_index.push_back(t);
  }
  auto renumbered = [&](std::vector<int> list) {
    for (int& i : list) {
      if (i >= 0) i = renumber[static_cast<std::size_t>(i)];
    }
    return list;
  };
  for (Op op : d.ops) {
    op.inputs = renumbered(op.inputs);
    op.outputs = renumbered(op.outputs);
    method.graph.ops.push_back(std::move(op));
  }
  method.graph.inputs = renumbered(d.inputs);
  method.graph.outputs = renumbered(d.outputs);
  c.file_index.push_back(std::move(file_index));
  return method;
}

// A tensor no method touches is dead data (that would be widened at load for nothing).
void check_every_tensor_used(Context& c, const std::vector<MethodDraft>& drafts) {
  std::vector<bool> used(c.shared.size(), false);
  for (const MethodDraft& d : drafts) {
    for (const Op& op : d.ops) {
      for (int i : op.inputs) {
        if (i >= 0) used[static_cast<std::size_t>(i)] = true;
      }
      for (int i : op.outputs) used[static_cast<std::size_t>(i)] = true;
    }
  }
  for (std::size_t t = 0; t < c.shared.size(); ++t) {
    if (!used[t]) malformed("tensor " + std::to_string(t) + " '" + c.shared[t].name + "' is used by no operator");
  }
}

// XNNPACK aborts the process on a value that is written but never read, and such an op is dead
// code in any case: every op's output must be read by a later op of its method or be one of
// the method's outputs, and every input must be read.
void check_every_value_used(Context& c, const MethodDraft& d) {
  std::vector<bool> read(c.shared.size(), false), output(c.shared.size(), false);
  for (const Op& op : d.ops) {
    for (int i : op.inputs) {
      if (i >= 0) read[static_cast<std::size_t>(i)] = true;
    }
  }
  for (int i : d.outputs) output[static_cast<std::size_t>(i)] = true;
  const std::string prefix = d.prefix();
  for (std::size_t i = 0; i < d.ops.size(); ++i) {
    for (int written : d.ops[i].outputs) {  // every output: max_pool2d's indices too
      const auto y = static_cast<std::size_t>(written);
      if (!read[y] && !output[y]) {
        malformed(prefix + "operator " + std::to_string(i) + " (" + to_string(d.ops[i].kind) + ") writes tensor " +
                  std::to_string(y) + " '" + c.shared[y].name + "', which no operator reads and which is not " +
                  (d.version_1 ? std::string("the graph output") : "an output of " + d.what));
      }
    }
  }
  for (int i : d.inputs) {
    if (!read[static_cast<std::size_t>(i)]) {
      malformed("no operator reads " + (d.version_1 ? std::string("the decoder input") : d.what + " input") +
                " '" + c.shared[static_cast<std::size_t>(i)].name + "'");
    }
  }
}

}  // namespace latentkit::loader
