// One way of running one method of a model (decode, encode, ...).
//
// A backend is built for one method of one model and one batch size: building does every check,
// every allocation and every weight repacking; invoke() then only computes. Two implementations exist:
// - reference: portable C++ loops, the oracle for tests and the fallback for targets without
//   XNNPACK;
// - xnnpack:   the product path, through XNNPACK's subgraph API.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "latentkit/model.h"

namespace latentkit {

enum class BackendKind { reference, xnnpack };

const char* to_string(BackendKind kind);
// Parses "reference" or "xnnpack"; raises Error(invalid_argument) otherwise.
BackendKind parse_backend_kind(const std::string& name);
// False when the runtime was built with LATENTKIT_WITH_XNNPACK=OFF.
bool backend_available(BackendKind kind);

// XNNPACK's worker threads (a pthreadpool), which backends that never run at the same time can
// share: make_worker_threads.
class WorkerThreads;

struct BackendOptions {
  int threads = 1;  // worker threads for backends that can use them (XNNPACK); 1 or less: the
                    // calling thread only
  // Time every op of every invoke(), for op_times(); for measuring, not for production. The
  // reference backend reads the clock around each op's kernel. The XNNPACK of Debian bookworm
  // (2022) has no profiling API, so a profiling XNNPACK backend gives each op its own XNNPACK
  // runtime and times those: a ReLU stays in its producer's runtime (XNNPACK fuses it there), and
  // ops that exchange a tensor XNNPACK holds in another form (max_pool2d's indices) share one.
  // What crosses between runtimes goes through memory, so the sum is a little above a decode.
  bool profile = false;
  // MethodRunner (so Decoder and the C API too) runs a batch larger than this as consecutive
  // chunks of max_chunk examples, and the remainder, through backends built for those batch
  // sizes; 0: every batch whole. A backend computes op after op over its whole batch, so at a
  // large batch an op's activations no longer fit in the CPU's cache and every op goes through
  // memory: the seed-000 decoder has 320 KiB of activations per image (MemoryPlan), 80 MiB at
  // batch 256, 5 MiB at 16. Measured on it (XNNPACK, 1 thread, a 2-core EPYC with 32 MiB of
  // L3, medians of 9 runs): 0.083 ms/image whole at batch 256, 0.069 in chunks of 32, 0.063 in
  // chunks of 16, with batches of 20 and 25 unchanged; chunks of 64 gained least. The reference
  // backend's loops are bound by arithmetic, not memory: chunks neither help nor hurt it, and
  // both backends chunk alike. Every op computes each example on its own, so the outputs are the
  // same bit for bit on x86 (measured); on ARM XNNPACK's kernels depend on the batch size and
  // the outputs agree to float rounding. Only the chunk's and the remainder's backends are kept, so a
  // large batch also needs less memory. A Backend itself always runs its whole batch.
  int max_chunk = 16;
  // The XNNPACK backend's worker threads when threads > 1; null: it makes its own. After a run
  // XNNPACK's workers spin for a while before they sleep, so two backends with pools of their
  // own that run in turn (a chunk's and a remainder's) take the cores from each other: measured,
  // 2 threads at batch 100 in chunks of 32 ran twice as slow as whole. MethodRunner gives its
  // backends one set.
  std::shared_ptr<WorkerThreads> worker_threads = nullptr;
};

// `threads` workers for backends that never run at the same time; null when threads <= 1 or
// without XNNPACK. Raises Error(backend) if the threads cannot be made.
std::shared_ptr<WorkerThreads> make_worker_threads(int threads);

// Time spent in one op, or in ops the backend could only time together, since it was built.
struct OpTime {
  std::vector<int> ops;  // indices into the method's graph.ops, in order
  double seconds = 0;    // summed over every invoke()
};

class Backend {
 public:
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // inputs[i] holds batch() x the method's input i, outputs[i] receives batch() x its output i
  // (float32, row-major; images HWC), in the order of Method::input_roles / output_roles; no
  // two overlap, and no slack is needed past their ends. Must not fail and must not allocate.
  virtual void invoke(const float* const* inputs, float* const* outputs) = 0;
  // For a method of one input and one output: decode (latents -> images), reconstruct.
  void run(const float* input, float* output) { invoke(&input, &output); }

  virtual BackendKind kind() const = 0;
  // Built with BackendOptions::profile: every op of the method once, in graph order, with its
  // time so far (read it before and after the invokes to measure). Otherwise empty.
  virtual std::vector<OpTime> op_times() const { return {}; }
  int batch() const { return batch_; }
  const Method& method() const { return method_; }

 protected:
  Backend(const Method& method, int batch) : method_(method), batch_(batch) {}

 private:
  const Method& method_;  // the model's, which the backend keeps alive
  int batch_;
};

// A backend for `model`'s method called `method`; raises Error(invalid_argument) if there is
// none. The first form builds the `decode` method.
std::unique_ptr<Backend> make_backend(BackendKind kind, const Model& model, int batch,
                                      const BackendOptions& options = {});
std::unique_ptr<Backend> make_backend(BackendKind kind, const Model& model, const std::string& method,
                                      int batch, const BackendOptions& options = {});

// `preferred` if it is built in and can run the method at batch 1 within the model's memory
// limit, else the reference backend, which runs every valid model that loaded; `why`, if given,
// receives the reason for falling back (empty otherwise). The first form asks about `decode`.
BackendKind choose_backend(const Model& model, BackendKind preferred, std::string* why = nullptr);
BackendKind choose_backend(const Model& model, const std::string& method, BackendKind preferred,
                           std::string* why = nullptr);
std::unique_ptr<Backend> make_reference_backend(const Model& model, const Method& method, int batch,
                                                const BackendOptions& options = {});
std::unique_ptr<Backend> make_xnnpack_backend(const Model& model, const Method& method, int batch,
                                              const BackendOptions& options);

}  // namespace latentkit
