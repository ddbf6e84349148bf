#include "latentkit/backend.h"

#include <new>
#include <string>

#include "latentkit/error.h"
#include "latentkit/memory_plan.h"

namespace latentkit {

const char* to_string(BackendKind kind) {
  return kind == BackendKind::xnnpack ? "xnnpack" : "reference";
}

BackendKind parse_backend_kind(const std::string& name) {
  if (name == "reference") return BackendKind::reference;
  if (name == "xnnpack") return BackendKind::xnnpack;
  throw Error(ErrorCode::invalid_argument,
              "unknown backend '" + name + "' (expected 'xnnpack' or 'reference')");
}

bool backend_available(BackendKind kind) {
#ifdef LATENTKIT_WITH_XNNPACK
  (void)kind;
  return true;
#else
  return kind == BackendKind::reference;
#endif
}

BackendKind choose_backend(const Model& model, BackendKind preferred, std::string* why) {
  return choose_backend(model, methods::decode, preferred, why);
}

BackendKind choose_backend(const Model& model, const std::string& method, BackendKind preferred, std::string* why) {
  if (why != nullptr) why->clear();
  const Method& chosen = model.method(method);  // a missing method is the caller's error, not a fallback
  if (preferred == BackendKind::reference) return preferred;
  try {
    make_backend(preferred, model, chosen.name, 1);
    return preferred;
  } catch (const Error& e) {
    // Out of memory at batch 1 is XNNPACK's lowering (the reference backend needs nothing beyond
    // the activations, which the loader has checked at batch 1).
    if (e.code() != ErrorCode::unsupported_model && e.code() != ErrorCode::backend &&
        e.code() != ErrorCode::out_of_memory) {
      throw;
    }
    if (why != nullptr) *why = e.what();
    return BackendKind::reference;
  }
}

std::unique_ptr<Backend> make_backend(BackendKind kind, const Model& model, int batch,
                                      const BackendOptions& options) {
  return make_backend(kind, model, methods::decode, batch, options);
}

std::unique_ptr<Backend> make_backend(BackendKind kind, const Model& model, const std::string& method,
                                      int batch, const BackendOptions& options) {
  const Method& chosen = model.method(method);
  if (batch <= 0) {
    throw Error(ErrorCode::invalid_argument,
                "batch size must be positive, got " + std::to_string(batch));
  }
  try {
    if (kind == BackendKind::reference) return make_reference_backend(model, chosen, batch, options);
    return make_xnnpack_backend(model, chosen, batch, options);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::out_of_memory, std::string("out of memory building the ") + to_string(kind) +
                                              " backend for " + chosen.name + " at batch " + std::to_string(batch));
  }
}

#ifndef LATENTKIT_WITH_XNNPACK
uint64_t xnnpack_bytes_in_use() { return 0; }

std::shared_ptr<WorkerThreads> make_worker_threads(int) { return nullptr; }

// Built without XNNPACK (LATENTKIT_WITH_XNNPACK=OFF, e.g. for ARMv6 boards): asking for it is an
// error that says what to do instead.
std::unique_ptr<Backend> make_xnnpack_backend(const Model&, const Method&, int, const BackendOptions&) {
  throw Error(ErrorCode::backend,
              "this runtime was built without XNNPACK (LATENTKIT_WITH_XNNPACK=OFF); use the reference backend");
}
#endif

}  // namespace latentkit
