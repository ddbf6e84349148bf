// The parts of Model::load (model_loader.cpp), one file each:
//   text.cpp       strings: UTF-8 without control characters, bounded one by one and in all
//   specs.cpp      the latent and image specs, the provenance
//   tensors.cpp    tensors: shapes, dtypes, buffers, quantisation; widening constants to float32
//   operators.cpp  a method's operators: kind and options, arity, topological order, then each
//                  op's own rule (ops/<op>.cpp); the work they ask for; their constant-data passes
//   methods.cpp    methods: names, inputs and outputs, roles and signatures, every tensor and
//                  value used, and the compact Graph each method becomes
// model_loader.cpp reads the buffer (identifier, verifier) and runs them in an order that is a
// security property: structure first, then the time and memory the file asks for (from shapes
// alone), then the passes over constant data, then widening, so that a hostile file is refused
// before anything is allocated for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/graph.h"
#include "latentkit/method.h"
#include "latentkit/model.h"
#include "latentkit_generated.h"

namespace latentkit::loader {

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

// One load in progress: the verified file and what has been read of it so far.
struct Context {
  const fb::Model& model;
  std::size_t bytes;  // of the file
  const ModelLimits& limits;
  std::size_t text_bytes = 0;  // every string read so far
  std::vector<Tensor> shared;  // the file's tensors, which every method refers to
  std::vector<std::vector<std::size_t>> file_index;  // per method: its tensors' indices in shared

  // A string of the file (checked_text), counted against kMaxTotalStringBytes: a vector of
  // strings can repeat one offset, so a small file can name the same 1 KiB string a million times.
  std::string text(const flatbuffers::String* s, const std::string& what);
};

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

// text.cpp
std::string checked_text(const flatbuffers::String* s, const std::string& what);

// specs.cpp
void read_latent(Context& c, LatentSpec& spec);
void read_image(Context& c, ImageSpec& spec);
void read_provenance(Context& c, Provenance& p);

// tensors.cpp
void read_tensors(Context& c, const TensorList* tensors, const std::string& where, std::vector<Tensor>& out);
const Tensor& tensor_at(const std::vector<Tensor>& tensors, int index, const std::string& what);
uint64_t widened_bytes(const std::vector<Tensor>& tensors);
void widen_constants(std::vector<Tensor>& tensors, std::vector<std::vector<float>>& widened);

// operators.cpp
std::vector<int> indices(const flatbuffers::Vector<int32_t>* v);
void read_ops(Context& c, const OperatorList* ops, std::vector<Tensor>& tensors, MethodDraft& draft);
void check_work(Context& c, const MethodDraft& d);
void check_constants(const Graph& g, const MethodDraft& d);

// methods.cpp
std::vector<MethodDraft> read_version_1(Context& c, std::vector<Tensor>& tensors);
std::vector<MethodDraft> read_methods(Context& c, std::vector<Tensor>& tensors);
void check_every_tensor_used(Context& c, const std::vector<MethodDraft>& drafts);
void check_roles(Context& c, const MethodDraft& d, const LatentSpec& latent, const ImageSpec& image);
void check_every_value_used(Context& c, const MethodDraft& d);
Method compact(Context& c, const MethodDraft& d);

}  // namespace latentkit::loader
