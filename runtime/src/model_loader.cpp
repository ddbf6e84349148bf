// Model::load: the one place that decides whether bytes are a valid latentkit model.
//
// Order matters: nothing is read from the FlatBuffer before the Verifier has accepted it, and
// nothing is handed to a backend before every semantic check has passed. The checks are in
// loader/ (one file per part of the file, loader/loader.h) and, for each op's own rule, in
// ops/<op>.cpp; this file reads the bytes and runs them in order.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>

#include "latentkit/error.h"
#include "latentkit/memory_plan.h"
#include "latentkit/model.h"
#include "latentkit_generated.h"
#include "loader/loader.h"
#include "refusal.h"

namespace latentkit {
namespace {

using detail::fail;
using detail::malformed;

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

using namespace loader;

// Every check of the file, in the order that keeps a hostile file from making us allocate (see
// loader/loader.h); the parts are in loader/ and, for each op's rule, ops/.
void check_model(loader::Context& c, Model::State& state) {
  state.format_version = c.model.format_version();
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
  read_latent(c, state.latent);
  read_image(c, state.image);
  std::vector<MethodDraft> drafts = state.format_version == 1 ? read_version_1(c, c.shared) : read_methods(c, c.shared);
  check_every_tensor_used(c, drafts);
  for (MethodDraft& draft : drafts) {
    check_roles(c, draft, state.latent, state.image);
    check_every_value_used(c, draft);
    check_work(c, draft);
    Method method = compact(c, draft);
    MemoryPlan plan = plan_memory(method.graph, c.bytes, BackendKind::reference, 1);
    plan.widened_bytes = widened_bytes(c.shared);  // every method's constants are widened at load
    check_memory(plan, c.limits.max_memory_bytes, draft.what + " at batch 1");
    check_constants(method.graph, draft);
    state.methods.push_back(std::move(method));
  }
  widen_constants(c.shared, state.widened);
  // The methods' copies of the shared tensors learn where the widened values are.
  for (std::size_t m = 0; m < state.methods.size(); ++m) {
    Graph& g = state.methods[m].graph;
    for (std::size_t t = 0; t < g.tensors.size(); ++t) g.tensors[t].values = c.shared[c.file_index[m][t]].values;
  }
  read_provenance(c, state.provenance);
}

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
  loader::Context context{*fb::GetModel(data), size, limits, 0, {}, {}};
  check_model(context, *state);
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
