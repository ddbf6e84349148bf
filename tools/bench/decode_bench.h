// `latentkit-sample FILE bench`: what a user of TensorFlow Lite's benchmark_model expects to see
// for a model file on this device. Per batch size: the time to build the backend, the first
// decode (cold caches, lazy work), then the warm decodes' median, p90, min and max per call and
// per image, and the allocations per warm decode (counted, alloc_counter.h); for the process:
// the model's load time and the peak resident set (getrusage). With `profile`, each batch is run
// again on a backend built with BackendOptions::profile and the time is split by op.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/model.h"

namespace latentkit::cli {

struct BenchSettings {
  std::string model_path;
  BackendKind kind = BackendKind::xnnpack;
  int threads = 1;
  int max_chunk = BackendOptions{}.max_chunk;  // 0: every batch whole, to compare with chunking
  std::vector<int> batches{1, 25, 256};
  int runs = 50;              // timed decodes per batch, at most
  int warmup = 5;             // untimed decodes after the first one
  double max_seconds = 10.0;  // stop a batch's timed decodes once they have taken this long
  bool profile = false;
  bool json = false;
  double load_ms = 0;  // Model::load_file, timed by the caller
};

// "1,25,256": batch sizes from 1 to max_batch, at most 16 of them; raises Error(invalid_argument)
// naming the item otherwise.
std::vector<int> parse_batches(const std::string& text, int max_batch);

// Runs the benchmark on the model's `decode` method and writes a table (or one JSON object).
void run_decode_bench(const Model& model, const BenchSettings& settings, std::ostream& out);

}  // namespace latentkit::cli
