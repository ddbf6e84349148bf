// A verified latentkit model file.
//
// Loading is where all the checking happens: the FlatBuffers verifier first (the bytes are
// untrusted), then semantic checks (indices in range, shapes consistent op to op, buffer sizes
// equal to shape x dtype, no integer overflow, sane limits). A Model that exists is valid; a
// file that is not valid raises latentkit::Error naming what is wrong.
//
// A Model is cheap to copy: copies share the same immutable bytes, which the backends keep
// alive for as long as they point into them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "latentkit/graph.h"
#include "latentkit/method.h"

namespace latentkit {

// The newest file format version this runtime reads and the version latentkit writes. Version 1
// files (one decoder graph) load as a model with one method, `decode`.
constexpr uint32_t kFormatVersion = 2;

// Limits that keep a hostile file from asking for absurd amounts of memory or time. Every one is
// checked at load, before anything the file describes is allocated; max_memory_bytes is checked
// again whenever a backend is built for a batch size (MemoryPlan, memory_plan.h). The defaults
// admit models far larger than the families latentkit trains (the seed-000 decoder needs about
// 1.5 MB at batch 1 and 0.6 M multiply-adds per image); tighten them for a device, or for a
// fuzzer that must answer in milliseconds.
struct ModelLimits {
  int64_t max_dimension = 1 << 16;          // any single dimension, stride, padding, latent size
  int64_t max_tensor_elements = 1LL << 26;  // per tensor, per example
  int max_tensors = 4096;
  int max_ops = 4096;
  // Multiply-adds of one example through the whole graph: bounds the time of a decode.
  int64_t max_multiply_adds = 1LL << 31;
  // What a backend at a given batch size may need in all: the model's bytes, widened constants,
  // activations and the backend's own workspace (MemoryPlan::total).
  uint64_t max_memory_bytes = uint64_t{1} << 30;
};

class Model {
 public:
  static Model load_file(const std::string& path, const ModelLimits& limits = {});
  static Model load_bytes(const void* data, std::size_t size, const ModelLimits& limits = {});

  uint32_t format_version() const;
  // Every method, in the file's order.
  const std::vector<Method>& methods() const;
  // The method called `name`, or nullptr.
  const Method* find_method(const std::string& name) const;
  // The method called `name`; raises Error(invalid_argument) naming the methods the model has.
  const Method& method(const std::string& name) const;
  // The graph of the `decode` method (raises as method() does if the model has none).
  const Graph& decoder() const;
  const LatentSpec& latent() const;
  const ImageSpec& image() const;
  const Provenance& provenance() const;
  std::size_t file_size() const;
  // The float32 copies of the float16, int8 and int32 constants of every method, made at load.
  uint64_t widened_bytes() const;
  // The limits the model was loaded with; backends built for it respect them too.
  const ModelLimits& limits() const;

  // Keeps the model's bytes alive; backends hold one so that their constant tensors stay valid.
  std::shared_ptr<const void> keep_alive() const;

  struct State;  // opaque: defined by the loader

 private:
  explicit Model(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace latentkit
