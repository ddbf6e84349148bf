// Model::load: the one place that decides whether bytes are a valid latentkit model.
//
// Order matters: nothing is read from the FlatBuffer before the Verifier has accepted it, and
// nothing is handed to a backend before every semantic check below has passed.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>

#include "latentkit/error.h"
#include "latentkit/memory_plan.h"
#include "latentkit/model.h"
#include "latentkit_generated.h"
#include "ops/op_table.h"
#include "ops/rules.h"
#include "refusal.h"
#include "saturating.h"

namespace latentkit {
namespace {

using detail::beyond_limit;
using detail::fail;
using detail::malformed;
using detail::shape_string;

// The file's bytes, 64-byte aligned so that weight buffers (16-byte aligned inside the file)
// can be used in place.
struct AlignedBytes {
  static constexpr std::align_val_t kAlignment{64};
  explicit AlignedBytes(std::size_t n)
      : data(static_cast<uint8_t*>(::operator new(n == 0 ? 1 : n, kAlignment))), size(n) {}
  ~AlignedBytes() { ::operator delete(data, kAlignment); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  uint8_t* data;
  std::size_t size;
};

}  // namespace

struct Model::State {
  std::shared_ptr<AlignedBytes> bytes;
  ModelLimits limits;
  // float32 copies of the float16, int8 and int32 constants, made once at load (Tensor::values).
  std::vector<std::vector<float>> widened;
  uint32_t format_version = 0;
  std::vector<Method> methods;
  LatentSpec latent;
  ImageSpec image;
  Provenance provenance;
};

namespace {

// The longest string (name, label, provenance field) a file may hold, all its strings together,
// and the most entries of a list of strings or metrics.
constexpr std::size_t kMaxStringBytes = 1024;
constexpr std::size_t kMaxTotalStringBytes = std::size_t{4} << 20;
constexpr uint32_t kMaxListEntries = 4096;
// Methods per file, values per method's inputs or outputs, bytes of a method's name.
constexpr uint32_t kMaxMethods = 64;
constexpr uint32_t kMaxMethodValues = 16;
constexpr std::size_t kMaxMethodNameBytes = 64;

using TensorList = flatbuffers::Vector<flatbuffers::Offset<fb::Tensor>>;
using OperatorList = flatbuffers::Vector<flatbuffers::Offset<fb::Operator>>;

// A method while it is being checked: its ops and values refer to the file's shared tensors.
struct MethodDraft {
  std::string name;
  std::string what;  // how messages name it: "the decoder graph" (version 1) or "method 'encode'"
  bool version_1 = false;  // messages about a version-1 graph read as they always have

  // Put before an operator's description in messages.
  std::string prefix() const { return version_1 ? "" : what + ": "; }
  std::vector<Op> ops;
  std::vector<int> inputs, outputs;
  std::vector<Role> input_roles, output_roles;
};

// A string from the file, which every message and the tools print: it must be valid UTF-8
// without control characters (a file could otherwise move the cursor or rewrite a terminal's
// title through an error message), and of reasonable length. The refusal itself names the byte
// position and value, never the bytes.
std::string checked_text(const flatbuffers::String* s, const std::string& what) {
  if (s == nullptr) return {};
  if (s->size() > kMaxStringBytes) {
    malformed(what + " is " + std::to_string(s->size()) + " bytes long (limit " +
              std::to_string(kMaxStringBytes) + ")");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(s->data());
  const std::size_t n = s->size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = bytes[i];
    if (c < 0x20 || c == 0x7f) {
      malformed(what + " has control character " + std::to_string(c) + " at byte " + std::to_string(i));
    }
    // UTF-8: the lead byte says how many continuation bytes (10xxxxxx) follow; overlong forms,
    // surrogates and code points past U+10FFFF are refused, as are C1 controls (U+0080..U+009F).
    std::size_t extra = 0;
    uint32_t code = c;
    if (c >= 0xc2 && c <= 0xdf) { extra = 1; code = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { extra = 2; code = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { extra = 3; code = c & 0x07; }
    else if (c >= 0x80) malformed(what + " is not UTF-8 (byte " + std::to_string(c) + " at " + std::to_string(i) + ")");
    for (std::size_t k = 1; k <= extra; ++k) {
      if (i + k >= n || (bytes[i + k] & 0xc0) != 0x80) {
        malformed(what + " is not UTF-8 (sequence at byte " + std::to_string(i) + ")");
      }
      code = (code << 6) | (bytes[i + k] & 0x3f);
    }
    const uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (code < smallest[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ||
        (code >= 0x80 && code <= 0x9f)) {
      malformed(what + " has an invalid or control code point at byte " + std::to_string(i));
    }
    i += extra + 1;
  }
  return s->str();
}

DType dtype_of(fb::DType stored, const std::string& what) {
  switch (stored) {
    case fb::DType::FLOAT32: return DType::float32;
    case fb::DType::FLOAT16: return DType::float16;
    case fb::DType::INT8: return DType::int8;
    case fb::DType::INT32: return DType::int32;
  }
  malformed(what + " has unknown dtype " + std::to_string(static_cast<int>(stored)));
}

class Checker {
 public:
  Checker(const fb::Model& model, std::size_t bytes, const ModelLimits& limits)
      : model_(model), bytes_(bytes), limits_(limits) {}

  void run(Model::State& state) {
    state.format_version = model_.format_version();
    if (state.format_version == 0) malformed("format_version is missing or 0");
    if (state.format_version > kFormatVersion) {
      fail(ErrorCode::unsupported_model,
           "file format version " + std::to_string(state.format_version) +
               " is newer than this runtime reads (" + std::to_string(kFormatVersion) +
               "); update latentkit");
    }
    // The specs first: they are small, and the methods' inputs and outputs are checked against
    // them. Then structure; then the time and memory the file asks for, from shapes alone; only
    // then the passes over constant data (the integer-arithmetic bounds, widening).
    read_latent(state.latent);
    read_image(state.image);
    std::vector<MethodDraft> drafts = state.format_version == 1 ? read_version_1(shared_) : read_methods(shared_);
    check_every_tensor_used(drafts);
    for (MethodDraft& draft : drafts) {
      check_roles(draft, state.latent, state.image);
      check_every_value_used(draft);
      check_work(draft);
      Method method = compact(draft);
      MemoryPlan plan = plan_memory(method.graph, bytes_, BackendKind::reference, 1);
      plan.widened_bytes = widened_bytes(shared_);  // every method's constants are widened at load
      check_memory(plan, limits_.max_memory_bytes, draft.what + " at batch 1");
      check_constants(method.graph, draft);
      state.methods.push_back(std::move(method));
    }
    widen_constants(shared_, state.widened);
    // The methods' copies of the shared tensors learn where the widened values are.
    for (std::size_t m = 0; m < state.methods.size(); ++m) {
      Graph& g = state.methods[m].graph;
      for (std::size_t t = 0; t < g.tensors.size(); ++t) g.tensors[t].values = shared_[file_index_[m][t]].values;
    }
    read_provenance(state.provenance);
  }

 private:
  // Version 1: one graph with its own tensors, the model's `decode` method.
  std::vector<MethodDraft> read_version_1(std::vector<Tensor>& tensors) {
    const fb::Graph* graph = model_.decoder();
    if (graph == nullptr) malformed("the file has no decoder graph");
    read_tensors(graph->tensors(), "the decoder graph", tensors);
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
    read_ops(graph->operators(), tensors, draft);
    std::vector<MethodDraft> drafts;
    drafts.push_back(std::move(draft));
    return drafts;
  }

  std::vector<MethodDraft> read_methods(std::vector<Tensor>& tensors) {
    if (model_.decoder() != nullptr) {
      malformed("a version " + std::to_string(model_.format_version()) +
                " file keeps its graphs in methods, but this one has a version 1 decoder graph");
    }
    read_tensors(model_.tensors(), "the file", tensors);
    const auto* methods = model_.methods();
    if (methods == nullptr || methods->size() == 0) malformed("the file has no methods");
    if (methods->size() > kMaxMethods) {
      malformed("the file has " + std::to_string(methods->size()) + " methods (limit " + std::to_string(kMaxMethods) + ")");
    }
    std::vector<MethodDraft> drafts;
    for (uint32_t m = 0; m < methods->size(); ++m) {
      const fb::Method& method = *methods->Get(m);
      MethodDraft draft;
      draft.name = text(method.name(), "the name of method " + std::to_string(m));
      check_method_name(draft.name, m);
      for (const MethodDraft& earlier : drafts) {
        if (earlier.name == draft.name) malformed("the file has two methods called '" + draft.name + "'");
      }
      draft.what = "method '" + draft.name + "'";
      read_values(method.inputs(), draft.what + " input", draft.inputs, draft.input_roles);
      read_values(method.outputs(), draft.what + " output", draft.outputs, draft.output_roles);
      read_ops(method.operators(), tensors, draft);
      drafts.push_back(std::move(draft));
    }
    return drafts;
  }

  static void check_method_name(const std::string& name, uint32_t index) {
    const bool valid = !name.empty() && name.size() <= kMaxMethodNameBytes &&
                       name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
    if (!valid) {
      malformed("method " + std::to_string(index) + " is called '" + name + "'; a method's name is 1 to " +
                std::to_string(kMaxMethodNameBytes) + " of a-z, 0-9 and _");
    }
  }

  void read_values(const flatbuffers::Vector<flatbuffers::Offset<fb::MethodValue>>* values, const std::string& what,
                   std::vector<int>& tensors, std::vector<Role>& roles) const {
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

  static Role role_of(fb::Role stored, const std::string& what) {
    switch (stored) {
      case fb::Role::LATENT: return Role::latent;
      case fb::Role::IMAGE: return Role::image;
      case fb::Role::LATENT_MEAN: return Role::latent_mean;
      case fb::Role::LATENT_LOG_VARIANCE: return Role::latent_log_variance;
    }
    fail(ErrorCode::unsupported_model, what + " has role " + std::to_string(static_cast<int>(stored)) +
                                           ", unknown to this runtime (written by a newer latentkit?)");
  }

  // A method's inputs and outputs: distinct float32 activations, inputs written by no op and
  // outputs written by one of the method's ops, each of its role's shape; the reserved method
  // names have their signatures (method.h).
  void check_roles(const MethodDraft& d, const LatentSpec& latent, const ImageSpec& image) const {
    const bool v1 = d.version_1;
    auto check_value = [&](int index, Role role, const std::string& what) {
      const Tensor& t = tensor_at(shared_, index, what);
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
      for (const Op& op : d.ops) produced = produced || op.outputs[0] == d.outputs[i];
      if (!produced) malformed(what + " '" + shared_[d.outputs[i]].name + "' is not written by any operator");
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
    const Signature reserved[] = {
        {methods::decode, {Role::latent}, {Role::image}},
        {methods::encode, {Role::image}, {Role::latent_mean, Role::latent_log_variance}},
        {methods::reconstruct, {Role::image}, {Role::image}},
    };
    for (const Signature& s : reserved) {
      if (d.name == s.name && (d.input_roles != s.inputs || d.output_roles != s.outputs)) {
        malformed(d.what + " does not have the signature its name stands for (" + roles_string(s.inputs) + " -> " +
                  roles_string(s.outputs) + ")");
      }
    }
  }

  static std::string roles_string(const std::vector<Role>& roles) {
    std::string out;
    for (Role r : roles) out += (out.empty() ? "" : ", ") + std::string(to_string(r));
    return out;
  }

  // The method as backends see it: a Graph of only the tensors it uses, in the file's order.
  Method compact(const MethodDraft& d) {
    std::vector<int> renumber(shared_.size(), -1);
    auto use = [&](int i) {
      if (i >= 0) renumber[static_cast<std::size_t>(i)] = 0;
    };
    for (const Op& op : d.ops) {
      for (int i : op.inputs) use(i);
      use(op.outputs[0]);
    }
    for (int i : d.inputs) use(i);
    Method method;
    method.name = d.name;
    method.input_roles = d.input_roles;
    method.output_roles = d.output_roles;
    std::vector<std::size_t> file_index;
    for (std::size_t t = 0; t < shared_.size(); ++t) {
      if (renumber[t] == -1) continue;
      renumber[t] = static_cast<int>(method.graph.tensors.size());
      method.graph.tensors.push_back(shared_[t]);
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
    file_index_.push_back(std::move(file_index));
    return method;
  }

 private:
  int64_t checked_dim(int64_t d, const std::string& what) const {
    if (d < 1) malformed(what + " has dimension " + std::to_string(d) + " (dimensions are at least 1)");
    if (d > limits_.max_dimension) {
      beyond_limit(what + " has dimension " + std::to_string(d) + " (allowed 1.." + std::to_string(limits_.max_dimension) + ")",
                   "max_dimension");
    }
    return d;
  }

  // Quantisation parameters of an int8 tensor: present, one scale or one per channel along a
  // valid axis, every scale finite and positive, zero points in int8 range.
  static Quantization read_quantization(const fb::Tensor& t, const Tensor& tensor, const std::string& what) {
    const fb::Quantization* q = t.quantization();
    const std::size_t floats = q && q->scale() ? q->scale()->size() : 0;
    const std::size_t halves = q && q->scale_half() ? q->scale_half()->size() : 0;
    if (floats == 0 && halves == 0) {
      malformed(what + " is " + to_string(tensor.dtype) + " but has no quantization scales");
    }
    if (floats != 0 && halves != 0) {
      malformed(what + " has both float and half quantization scales; a file stores one of them");
    }
    Quantization out;
    out.axis = q->axis();
    const std::size_t scales = floats + halves;
    if (out.axis == -1) {
      if (scales != 1) malformed(what + " is quantised per tensor (axis -1) but has " + std::to_string(scales) + " scales");
    } else if (out.axis < 0 || out.axis >= static_cast<int>(tensor.shape.size())) {
      malformed(what + " has quantization axis " + std::to_string(out.axis) + " but rank " +
                std::to_string(tensor.shape.size()));
    } else if (static_cast<int64_t>(scales) != tensor.shape[out.axis]) {
      malformed(what + " is quantised per channel along axis " + std::to_string(out.axis) + " of size " +
                std::to_string(tensor.shape[out.axis]) + " but has " + std::to_string(scales) + " scales");
    }
    for (std::size_t i = 0; i < scales; ++i) {
      const auto at = static_cast<uint32_t>(i);
      const float s = floats ? q->scale()->Get(at) : half_to_float(q->scale_half()->Get(at));
      if (!(s > 0) || !std::isfinite(s)) {
        malformed(what + " has quantization scale " + std::to_string(s) + " at " + std::to_string(i) +
                  "; scales must be finite and positive");
      }
      out.scales.push_back(s);
    }
    if (q->zero_point() != nullptr && q->zero_point()->size() != 0) {
      if (q->zero_point()->size() != scales) {
        malformed(what + " has " + std::to_string(q->zero_point()->size()) + " zero points for " +
                  std::to_string(scales) + " scales");
      }
      // The verifier guarantees 4-byte alignment of a vector, not 8: read each int64 bytewise.
      const uint8_t* raw = q->zero_point()->Data();
      for (std::size_t i = 0; i < scales; ++i) {
        int64_t z;
        std::memcpy(&z, raw + i * sizeof z, sizeof z);
        z = flatbuffers::EndianScalar(z);
        if (z < -128 || z > 127) malformed(what + " has zero point " + std::to_string(z) + " outside int8");
        out.zero_points.push_back(z);
      }
    } else {
      out.zero_points.assign(scales, 0);
    }
    return out;
  }

  // float32 values of a float16, int8 or int32 constant.
  static std::vector<float> widen(const Tensor& t) {
    const int64_t n = t.elements();
    std::vector<float> values(static_cast<std::size_t>(n));
    if (t.dtype == DType::float16) {
      for (int64_t i = 0; i < n; ++i) {
        uint16_t half;
        std::memcpy(&half, static_cast<const uint8_t*>(t.data) + 2 * i, 2);
        values[i] = half_to_float(half);
      }
      return values;
    }
    // int8: the channel of element i along `axis` is (i / inner) % size.
    const Quantization& q = t.quantization;
    int64_t inner = 1, size = 1;
    if (q.axis >= 0) {
      size = t.shape[q.axis];
      for (std::size_t d = q.axis + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
    }
    for (int64_t i = 0; i < n; ++i) {
      const std::size_t c = static_cast<std::size_t>(q.axis >= 0 ? (i / inner) % size : 0);
      int64_t v;
      if (t.dtype == DType::int8) {
        v = static_cast<const int8_t*>(t.data)[i];
      } else {
        int32_t wide;
        std::memcpy(&wide, static_cast<const uint8_t*>(t.data) + 4 * i, 4);
        v = wide;
      }
      values[i] = q.scales[c] * static_cast<float>(v - q.zero_points[c]);
    }
    return values;
  }

  void read_tensors(const TensorList* tensors, const std::string& where, std::vector<Tensor>& out) {
    if (tensors == nullptr || tensors->size() == 0) malformed(where + " has no tensors");
    if (tensors->size() > static_cast<uint32_t>(limits_.max_tensors)) {
      beyond_limit(where + " has " + std::to_string(tensors->size()) + " tensors (limit " +
                       std::to_string(limits_.max_tensors) + ")", "max_tensors");
    }
    const auto* buffers = model_.buffers();
    for (uint32_t i = 0; i < tensors->size(); ++i) {
      const fb::Tensor& t = *tensors->Get(i);
      Tensor tensor;
      tensor.name = text(t.name(), "the name of tensor " + std::to_string(i));
      const std::string what = "tensor " + std::to_string(i) + " '" + tensor.name + "'";
      if (t.shape() == nullptr || t.shape()->size() == 0 || t.shape()->size() > 4) {
        malformed(what + " has rank " + std::to_string(t.shape() ? t.shape()->size() : 0) +
                  " (allowed 1..4)");
      }
      int64_t elements = 1;
      for (int32_t d : *t.shape()) {
        elements = detail::saturating_product({elements, checked_dim(d, what)});
        if (elements > limits_.max_tensor_elements) {
          beyond_limit(what + " has more than " + std::to_string(limits_.max_tensor_elements) + " elements",
                       "max_tensor_elements");
        }
        tensor.shape.push_back(d);
      }
      tensor.dtype = dtype_of(t.dtype(), what);
      // An int32 bias's scales are implied by its op (the weighted ops' rule, ops/weighted.cpp, fills them in, and compares
      // any the file states with them).
      if (tensor.dtype == DType::int8 || (tensor.dtype == DType::int32 && t.quantization() != nullptr)) {
        tensor.quantization = read_quantization(t, tensor, what);
      } else if (tensor.dtype != DType::int32 && t.quantization() != nullptr) {
        malformed(what + " is " + to_string(tensor.dtype) + " but has quantization parameters");
      }
      if (t.buffer() == 0 && tensor.dtype != DType::float32) {
        if (tensor.dtype != DType::int8) {
          fail(ErrorCode::unsupported_model,
               what + " is a " + to_string(tensor.dtype) + " activation; activations are float32 or int8");
        }
        if (tensor.quantization.axis != -1) malformed(what + " is an int8 activation quantised per channel; activations are quantised per tensor");
      }
      if (tensor.dtype == DType::int32) {
        for (int64_t z : tensor.quantization.zero_points) {
          if (z != 0) malformed(what + " is int32 with zero point " + std::to_string(z) + "; int32 biases are symmetric");
        }
      }
      if (t.buffer() != 0) {
        if (buffers == nullptr || t.buffer() >= buffers->size()) {
          malformed(what + " refers to buffer " + std::to_string(t.buffer()) + " but the file has " +
                    std::to_string(buffers ? buffers->size() : 0) + " buffers");
        }
        const auto* data = buffers->Get(t.buffer())->data();
        const uint64_t expected = static_cast<uint64_t>(elements) * size_of(tensor.dtype);
        const uint64_t found = data ? data->size() : 0;
        if (found != expected) {
          malformed(what + " of shape " + shape_string(tensor.shape) + " needs " +
                    std::to_string(expected) + " bytes but its buffer has " + std::to_string(found));
        }
        if (reinterpret_cast<uintptr_t>(data->data()) % size_of(tensor.dtype) != 0) {
          malformed(what + ": its buffer is not aligned for " + to_string(tensor.dtype));
        }
        tensor.data = data->data();
        tensor.bytes = data->size();
        // Other dtypes are widened once the ops' checks have given int32 biases their scales.
        if (tensor.dtype == DType::float32) tensor.values = static_cast<const float*>(tensor.data);
      }
      out.push_back(std::move(tensor));
    }
    if (buffers != nullptr && buffers->size() > 0 && buffers->Get(0)->data() != nullptr &&
        buffers->Get(0)->data()->size() != 0) {
      malformed("buffer 0 must be empty (it stands for 'no data')");
    }
  }

  static uint64_t widened_bytes(const std::vector<Tensor>& tensors) {
    int64_t bytes = 0;
    for (const Tensor& t : tensors) {
      if (t.is_constant() && t.dtype != DType::float32) {
        bytes = detail::saturating_add(bytes, detail::saturating_product({t.elements(), 4}));
      }
    }
    return static_cast<uint64_t>(bytes);
  }

  // The float32 copy of every float16, int8 and int32 constant; after the ops' checks, which give
  // each int32 bias its implied scales.
  static void widen_constants(std::vector<Tensor>& tensors, std::vector<std::vector<float>>& widened) {
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      Tensor& t = tensors[i];
      if (!t.is_constant() || t.dtype == DType::float32) continue;
      if (t.quantization.scales.empty() && t.dtype != DType::float16) {
        malformed("tensor " + std::to_string(i) + " '" + t.name +
                  "' is int32 but no op with int8 input and output uses it as its bias");
      }
      widened.push_back(widen(t));
      t.values = widened.back().data();
    }
  }

  static const Tensor& tensor_at(const std::vector<Tensor>& tensors, int index, const std::string& what) {
    if (index < 0 || static_cast<std::size_t>(index) >= tensors.size()) {
      malformed(what + " refers to tensor " + std::to_string(index) + " but the file has " +
                std::to_string(tensors.size()));
    }
    return tensors[static_cast<std::size_t>(index)];
  }

  static std::vector<int> indices(const flatbuffers::Vector<int32_t>* v) {
    return v ? std::vector<int>(v->begin(), v->end()) : std::vector<int>();
  }

  void read_ops(const OperatorList* ops, std::vector<Tensor>& tensors, MethodDraft& draft) {
    if (ops == nullptr || ops->size() == 0) malformed(draft.what + " has no operators");
    if (ops->size() > static_cast<uint32_t>(limits_.max_ops)) {
      beyond_limit(draft.what + " has " + std::to_string(ops->size()) + " operators (limit " +
                       std::to_string(limits_.max_ops) + ")", "max_ops");
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
      const ops::OpDef& def = read_op(op, i, parsed);
      const std::string what = prefix + "operator " + std::to_string(i) + " (" + to_string(parsed.kind) + ")";
      check_arity(parsed, what);
      for (std::size_t k = 0; k < parsed.inputs.size(); ++k) {
        int index = parsed.inputs[k];
        if (index == -1 && k == 2) continue;  // absent bias
        const Tensor& t = tensor_at(tensors, index, what + " input " + std::to_string(k));
        if (!t.is_constant() && !defined[index]) {
          malformed(what + " reads tensor " + std::to_string(index) + " '" + t.name +
                    "' before any operator writes it (operators must be in topological order)");
        }
      }
      int y = parsed.outputs[0];
      const Tensor& output = tensor_at(tensors, y, what + " output");
      if (output.is_constant() || defined[y]) {
        malformed(what + " writes tensor " + std::to_string(y) + " '" + output.name +
                  "', which is a constant or already written");
      }
      ops::expect_constant(tensors[static_cast<std::size_t>(parsed.inputs[0])], false, what, "input");
      def.check(tensors, parsed, what);  // the op's own rule (ops/<op>.cpp)
      defined[static_cast<std::size_t>(y)] = true;
      draft.ops.push_back(std::move(parsed));
    }
  }

  // The op stored in `op`, its kind and options in `parsed`; the options are its op file's to read.
  const ops::OpDef& read_op(const fb::Operator& op, uint32_t index, Op& parsed) const {
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
    def->read_options(op, index, limits_, parsed);
    return *def;
  }

  static void check_arity(const Op& op, const std::string& what) {
    const bool weighted = is_weighted(op.kind);
    const bool ok_inputs = weighted ? (op.inputs.size() == 2 || op.inputs.size() == 3)
                                    : op.inputs.size() == 1;
    if (!ok_inputs) {
      malformed(what + " has " + std::to_string(op.inputs.size()) + " inputs (expected " +
                (weighted ? "2 or 3" : "1") + ")");
    }
    if (op.outputs.size() != 1) {
      malformed(what + " has " + std::to_string(op.outputs.size()) + " outputs (expected 1)");
    }
  }

  // The passes over constant data of every op (the integer-arithmetic bounds of int8 ops), after
  // check_work has bounded them (an op's weights are at most its multiply-adds).
  static void check_constants(const Graph& g, const MethodDraft& d) {
    for (std::size_t i = 0; i < g.ops.size(); ++i) {
      const Op& op = g.ops[i];
      const ops::OpDef& def = ops::op_def(op.kind);
      if (def.check_constants == nullptr) continue;
      def.check_constants(g, op, d.prefix() + "operator " + std::to_string(i) + " (" + to_string(op.kind) + ")");
    }
  }

  // A tensor no method touches is dead data (that would be widened at load for nothing).
  void check_every_tensor_used(const std::vector<MethodDraft>& drafts) const {
    std::vector<bool> used(shared_.size(), false);
    for (const MethodDraft& d : drafts) {
      for (const Op& op : d.ops) {
        for (int i : op.inputs) {
          if (i >= 0) used[static_cast<std::size_t>(i)] = true;
        }
        used[static_cast<std::size_t>(op.outputs[0])] = true;
      }
    }
    for (std::size_t t = 0; t < shared_.size(); ++t) {
      if (!used[t]) malformed("tensor " + std::to_string(t) + " '" + shared_[t].name + "' is used by no operator");
    }
  }

  // XNNPACK aborts the process on a value that is written but never read, and such an op is dead
  // code in any case: every op's output must be read by a later op of its method or be one of
  // the method's outputs, and every input must be read.
  void check_every_value_used(const MethodDraft& d) const {
    std::vector<bool> read(shared_.size(), false), output(shared_.size(), false);
    for (const Op& op : d.ops) {
      for (int i : op.inputs) {
        if (i >= 0) read[static_cast<std::size_t>(i)] = true;
      }
    }
    for (int i : d.outputs) output[static_cast<std::size_t>(i)] = true;
    const std::string prefix = d.prefix();
    for (std::size_t i = 0; i < d.ops.size(); ++i) {
      const auto y = static_cast<std::size_t>(d.ops[i].outputs[0]);
      if (!read[y] && !output[y]) {
        malformed(prefix + "operator " + std::to_string(i) + " (" + to_string(d.ops[i].kind) + ") writes tensor " +
                  std::to_string(y) + " '" + shared_[y].name + "', which no operator reads and which is not " +
                  (d.version_1 ? std::string("the graph output") : "an output of " + d.what));
      }
    }
    for (int i : d.inputs) {
      if (!read[static_cast<std::size_t>(i)]) {
        malformed("no operator reads " + (d.version_1 ? std::string("the decoder input") : d.what + " input") +
                  " '" + shared_[static_cast<std::size_t>(i)].name + "'");
      }
    }
  }

  // The time a method takes, bounded before anything runs: a small file can describe a graph
  // that takes minutes per image.
  void check_work(const MethodDraft& d) const {
    Graph g;
    g.tensors = shared_;
    int64_t total = 0;
    for (const Op& op : d.ops) total = detail::saturating_add(total, multiply_adds(g, op));
    if (total > limits_.max_multiply_adds) {
      beyond_limit((d.version_1 ? std::string("the decoder") : d.what) + " needs " +
                       std::to_string(total) + " multiply-adds per example (limit " +
                       std::to_string(limits_.max_multiply_adds) + ")", "max_multiply_adds");
    }
  }

  // The rules of graph.h's LatentGroup: sampling, grids and the C API write exactly
  // spec.dims() values per example, group by group, so the groups must describe exactly the
  // decoder input.
  void read_latent(LatentSpec& spec) {
    // Absent in a file none of whose methods takes or gives latents (check_roles).
    const fb::LatentSpec* latent = model_.latent();
    if (latent == nullptr) return;
    if (latent->groups() == nullptr || latent->groups()->size() == 0) malformed("the file's latent spec has no groups");
    if (latent->groups()->size() > static_cast<uint32_t>(limits_.max_dimension)) {
      malformed("the latent spec has " + std::to_string(latent->groups()->size()) + " groups");
    }
    int64_t total = 0;
    for (uint32_t i = 0; i < latent->groups()->size(); ++i) {
      const fb::LatentGroup* g = latent->groups()->Get(i);
      LatentGroup group;
      const std::string what = "latent group " + std::to_string(i);
      group.name = text(g->name(), "the name of " + what);
      const std::string named = what + " '" + group.name + "'";
      if (g->kind() == fb::LatentKind::GAUSSIAN) {
        group.kind = LatentKind::gaussian;
      } else if (g->kind() == fb::LatentKind::CATEGORICAL) {
        group.kind = LatentKind::categorical;
      } else {
        fail(ErrorCode::unsupported_model, named + " has unknown kind " + std::to_string(static_cast<int>(g->kind())));
      }
      if (g->size() < 1 || g->size() > limits_.max_dimension) {
        malformed(named + " has size " + std::to_string(g->size()) + " (allowed 1.." +
                  std::to_string(limits_.max_dimension) + ")");
      }
      if (group.kind == LatentKind::gaussian && g->count() != 1) {
        malformed(named + " is Gaussian with count " + std::to_string(g->count()) +
                  "; a Gaussian group has count 1 (its size is its number of dimensions)");
      }
      if (g->count() < 1 || g->count() > limits_.max_dimension) {
        malformed(named + " has count " + std::to_string(g->count()) + " (allowed 1.." +
                  std::to_string(limits_.max_dimension) + ")");
      }
      group.size = g->size();
      group.count = g->count();
      total = detail::saturating_add(total, group.dims());
      if (total > limits_.max_dimension) {
        malformed("the latent spec has more than " + std::to_string(limits_.max_dimension) + " dimensions (at " +
                  named + ", " + std::to_string(group.size) + " x " + std::to_string(group.count) + ")");
      }
      if (g->labels() != nullptr && g->labels()->size() != 0) {
        if (group.kind == LatentKind::gaussian) malformed(named + " is Gaussian but has labels; labels name categories");
        if (g->labels()->size() != static_cast<uint32_t>(group.size)) {
          malformed(named + " has " + std::to_string(g->labels()->size()) + " labels for " +
                    std::to_string(group.size) + " categories (give one per category, or none)");
        }
        for (uint32_t k = 0; k < g->labels()->size(); ++k) {
          group.labels.push_back(text(g->labels()->Get(k), "label " + std::to_string(k) + " of " + named));
        }
      }
      spec.groups.push_back(std::move(group));
    }
  }

  void read_image(ImageSpec& spec) const {
    // Absent in a file none of whose methods takes or gives images (check_roles).
    const fb::ImageSpec* image = model_.image();
    if (image == nullptr) return;
    for (const auto& [value, name] : {std::pair{image->height(), "height"}, std::pair{image->width(), "width"},
                                      std::pair{image->channels(), "channels"}}) {
      if (value < 1 || value > limits_.max_dimension) {
        malformed(std::string("the image spec has ") + name + " " + std::to_string(value) + " (allowed 1.." +
                  std::to_string(limits_.max_dimension) + ")");
      }
    }
    spec.height = image->height();
    spec.width = image->width();
    spec.channels = image->channels();
    if (image->range() == fb::ValueRange::UNIT) {
      spec.range = ValueRange::unit;
    } else if (image->range() == fb::ValueRange::SYMMETRIC) {
      spec.range = ValueRange::symmetric;
    } else {
      malformed("the image spec has unknown value range " + std::to_string(static_cast<int>(image->range())));
    }
  }

  void read_provenance(Provenance& p) {
    const fb::Provenance* in = model_.provenance();
    if (in == nullptr) return;
    p.model_family = text(in->model_family(), "provenance model_family");
    p.dataset = text(in->dataset(), "provenance dataset");
    p.epochs = in->epochs();
    p.trainer_version = text(in->trainer_version(), "provenance trainer_version");
    p.created_utc = text(in->created_utc(), "provenance created_utc");
    p.quantization = text(in->quantization(), "provenance quantization");
    for (const auto& [count, what] : {std::pair{in->metrics() ? in->metrics()->size() : 0u, "metrics"},
                                      std::pair{in->labels() ? in->labels()->size() : 0u, "labels"}}) {
      if (count > kMaxListEntries) {
        malformed("the provenance has " + std::to_string(count) + " " + what + " (limit " +
                  std::to_string(kMaxListEntries) + ")");
      }
    }
    if (in->metrics() != nullptr) {
      for (uint32_t i = 0; i < in->metrics()->size(); ++i) {
        const fb::Metric* m = in->metrics()->Get(i);
        p.metrics.push_back({text(m->name(), "the name of provenance metric " + std::to_string(i)), m->value()});
      }
    }
    if (in->labels() != nullptr) {
      for (uint32_t i = 0; i < in->labels()->size(); ++i) {
        p.labels.push_back(text(in->labels()->Get(i), "provenance label " + std::to_string(i)));
      }
    }
  }

  // Every string the file holds, in bytes: a vector of strings can repeat one offset, so a small
  // file can name the same 1 KiB string a million times.
  std::string text(const flatbuffers::String* s, const std::string& what) {
    std::string value = checked_text(s, what);
    text_bytes_ += value.size();
    if (text_bytes_ > kMaxTotalStringBytes) {
      malformed("the file's strings add up to more than " + std::to_string(kMaxTotalStringBytes) + " bytes (at " + what + ")");
    }
    return value;
  }

  const fb::Model& model_;
  std::size_t bytes_;
  const ModelLimits& limits_;
  std::size_t text_bytes_ = 0;
  std::vector<Tensor> shared_;  // the file's tensors, which every method refers to
  std::vector<std::vector<std::size_t>> file_index_;  // per method: its tensors' indices in shared_
};

std::shared_ptr<Model::State> parse(std::shared_ptr<AlignedBytes> bytes, const ModelLimits& limits) {
  const uint8_t* data = bytes->data;
  const std::size_t size = bytes->size;
  if (size < 8) {
    malformed("the file is " + std::to_string(size) + " bytes long: too short to be a latentkit model");
  }
  if (!flatbuffers::BufferHasIdentifier(data, fb::ModelIdentifier())) {
    std::string found;
    for (int i = 4; i < 8; ++i) {
      const char c = static_cast<char>(data[i]);
      static const char hex[] = "0123456789abcdef";
      found += (c >= 32 && c < 127) ? std::string(1, c) : std::string("\\x") + hex[data[i] >> 4] + hex[data[i] & 15];
    }
    malformed("wrong file identifier '" + found + "' (expected '" + fb::ModelIdentifier() +
              "'): not a latentkit model file");
  }
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) malformed("the file is larger than FlatBuffers allows");
  flatbuffers::Verifier::Options options;
  options.max_depth = 32;
  options.max_tables = 1000000;
  flatbuffers::Verifier verifier(data, size, options);
  if (!fb::VerifyModelBuffer(verifier)) {
    malformed("the FlatBuffers verifier rejected the file (" + std::to_string(size) +
              " bytes): it is truncated or corrupt");
  }
  auto state = std::make_shared<Model::State>();
  state->limits = limits;
  Checker(*fb::GetModel(data), size, limits).run(*state);
  state->bytes = std::move(bytes);
  return state;
}

// A file larger than the memory limit is refused before its bytes are copied.
void check_file_size(uint64_t size, const ModelLimits& limits) {
  if (size > limits.max_memory_bytes) {
    fail(ErrorCode::out_of_memory, "the file is " + format_bytes(size) + ", more than the memory limit of " +
                                       format_bytes(limits.max_memory_bytes) + " (ModelLimits::max_memory_bytes)");
  }
}

}  // namespace

Model Model::load_bytes(const void* data, std::size_t size, const ModelLimits& limits) {
  try {
    check_file_size(size, limits);
    auto bytes = std::make_shared<AlignedBytes>(size);
    if (size > 0) std::memcpy(bytes->data, data, size);
    return Model(parse(std::move(bytes), limits));
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::out_of_memory, "out of memory loading a model of " + format_bytes(size));
  }
}

Model Model::load_file(const std::string& path, const ModelLimits& limits) {
  // A folder opens as a stream on Linux and reports an absurd size: say what it is.
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) fail(ErrorCode::io, "model file '" + path + "' is a folder, not a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(ErrorCode::io, "cannot open model file '" + path + "'");
  const std::streamoff size = in.tellg();
  if (size < 0) fail(ErrorCode::io, "cannot read model file '" + path + "'");
  try {
    check_file_size(static_cast<uint64_t>(size), limits);
    auto bytes = std::make_shared<AlignedBytes>(static_cast<std::size_t>(size));
    in.seekg(0);
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes->data), size)) {
      fail(ErrorCode::io, "cannot read model file '" + path + "'");
    }
    return Model(parse(std::move(bytes), limits));
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::out_of_memory, path + ": out of memory loading a model of " + format_bytes(static_cast<uint64_t>(size)));
  }
}

uint32_t Model::format_version() const { return state_->format_version; }
const std::vector<Method>& Model::methods() const { return state_->methods; }

const Method* Model::find_method(const std::string& name) const {
  for (const Method& m : state_->methods) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const Method& Model::method(const std::string& name) const {
  if (const Method* m = find_method(name)) return *m;
  std::string names;
  for (const Method& m : state_->methods) names += (names.empty() ? "" : ", ") + m.name;
  throw Error(ErrorCode::invalid_argument, "the model has no method '" + name + "' (it has: " + names + ")");
}

const Graph& Model::decoder() const { return method(methods::decode).graph; }
const LatentSpec& Model::latent() const { return state_->latent; }
const ImageSpec& Model::image() const { return state_->image; }
const Provenance& Model::provenance() const { return state_->provenance; }
std::size_t Model::file_size() const { return state_->bytes->size; }

uint64_t Model::widened_bytes() const {
  uint64_t bytes = 0;
  for (const std::vector<float>& values : state_->widened) bytes += values.size() * sizeof(float);
  return bytes;
}
const ModelLimits& Model::limits() const { return state_->limits; }
std::shared_ptr<const void> Model::keep_alive() const { return state_; }

}  // namespace latentkit
