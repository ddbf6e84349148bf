// One way of running a model's decoder graph.
//
// A backend is built for one model and one batch size: building does every check, every
// allocation and every weight repacking; run() then only computes. Two implementations exist:
// - reference: portable C++ loops, the oracle for tests and the fallback for targets without
//   XNNPACK;
// - xnnpack:   the product path, through XNNPACK's subgraph API.
#pragma once

#include <memory>
#include <string>

#include "latentkit/model.h"

namespace latentkit {

enum class BackendKind { reference, xnnpack };

const char* to_string(BackendKind kind);
// Parses "reference" or "xnnpack"; raises Error(invalid_argument) otherwise.
BackendKind parse_backend_kind(const std::string& name);
// False when the runtime was built with LATENTKIT_WITH_XNNPACK=OFF.
bool backend_available(BackendKind kind);

struct BackendOptions {
  int threads = 1;  // worker threads for backends that can use them (XNNPACK); 1 or less: the
                    // calling thread only
};

class Backend {
 public:
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // latents: batch() x latent dims; images: batch() x image pixels (HWC), both row-major, not
  // overlapping, with no slack needed past their ends. Must not fail and must not allocate.
  virtual void run(const float* latents, float* images) = 0;

  virtual BackendKind kind() const = 0;
  int batch() const { return batch_; }

 protected:
  explicit Backend(int batch) : batch_(batch) {}

 private:
  int batch_;
};

std::unique_ptr<Backend> make_backend(BackendKind kind, const Model& model, int batch,
                                      const BackendOptions& options = {});

// `preferred` if it is built in and can run `model` at batch 1 within the model's memory limit,
// else the reference backend, which runs every valid model that loaded; `why`, if given,
// receives the reason for falling back (empty otherwise).
BackendKind choose_backend(const Model& model, BackendKind preferred, std::string* why = nullptr);
std::unique_ptr<Backend> make_reference_backend(const Model& model, int batch);
std::unique_ptr<Backend> make_xnnpack_backend(const Model& model, int batch,
                                              const BackendOptions& options);

}  // namespace latentkit
