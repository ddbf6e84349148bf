// A batch larger than BackendOptions::max_chunk runs as chunks and a remainder (MethodRunner).
//
// Chunking must not change the results: every op computes each example on its own, so the
// outputs of a chunked batch equal those of the whole batch and of each example run alone (bit
// for bit on x86 and on the reference backend; on ARM XNNPACK's kernels depend on the batch size
// and agree to float rounding: chunk_tolerance). The
// inputs differ from example to example and the outputs start as NaN with a sentinel example
// past their end, so that a chunk read from or written to the wrong place, an example left
// unwritten or a write past the end fails the comparison.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/decoder.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/memory_plan.h"
#include "latentkit/method_runner.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "runtime/autoencoder_model.h"
#include "runtime/random_model.h"

namespace lk = latentkit;

namespace {

constexpr int kChunk = 32;
constexpr float kSentinel = -12345.0f;

std::vector<lk::BackendKind> available_backends() {
  std::vector<lk::BackendKind> kinds{lk::BackendKind::reference};
  if (lk::backend_available(lk::BackendKind::xnnpack)) kinds.push_back(lk::BackendKind::xnnpack);
  return kinds;
}

lk::Model load(const lk::ModelDescription& d, const lk::ModelLimits& limits = {}) {
  const std::vector<uint8_t> bytes = lk::serialize_model(d);
  return lk::Model::load_bytes(bytes.data(), bytes.size(), limits);
}

lk::BackendOptions chunks_of(int max_chunk) {
  lk::BackendOptions options;
  options.max_chunk = max_chunk;
  return options;
}

// batch x elements values in [-2, 2), different for every example.
std::vector<std::vector<float>> random_inputs(const lk::Method& method, int batch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<float>> inputs;
  for (std::size_t i = 0; i < method.graph.inputs.size(); ++i) {
    inputs.emplace_back(static_cast<std::size_t>(batch * method.input_elements(i)));
    for (float& v : inputs.back()) v = static_cast<float>(lk::testing::uniform(rng, -2.0, 2.0));
  }
  return inputs;
}

// Runs `runner` on `batch` examples through run_into, into buffers of NaN with one example of
// kSentinel past their end, which must come back untouched.
std::vector<std::vector<float>> run_guarded(lk::MethodRunner& runner, const std::vector<std::vector<float>>& inputs,
                                            int batch) {
  const lk::Method& method = runner.method();
  std::vector<const float*> in;
  for (const auto& input : inputs) in.push_back(input.data());
  std::vector<std::vector<float>> outputs;
  std::vector<float*> out;
  for (std::size_t i = 0; i < method.graph.outputs.size(); ++i) {
    const auto elements = static_cast<std::size_t>(method.output_elements(i));
    outputs.emplace_back(static_cast<std::size_t>(batch) * elements, std::numeric_limits<float>::quiet_NaN());
    outputs.back().resize(outputs.back().size() + elements, kSentinel);
    out.push_back(outputs.back().data());
  }
  runner.run_into(in.data(), batch, out.data());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto elements = static_cast<std::size_t>(method.output_elements(i));
    for (std::size_t k = 0; k < elements; ++k) {
      REQUIRE_MESSAGE(outputs[i][static_cast<std::size_t>(batch) * elements + k] == kSentinel,
                      "output " << i << " written past its end");
    }
    outputs[i].resize(static_cast<std::size_t>(batch) * elements);
  }
  return outputs;
}

// The first example whose bits differ, or -1.
// The first example whose outputs differ by more than `tolerance` (relative to the value, 0: bit
// for bit), or -1.
int first_difference(const std::vector<float>& a, const std::vector<float>& b, int64_t elements, float tolerance = 0) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool same = tolerance == 0 ? std::memcmp(&a[i], &b[i], sizeof(float)) == 0
                                     : std::fabs(a[i] - b[i]) <= tolerance * std::max(1.0f, std::fabs(b[i]));
    if (!same) return static_cast<int>(static_cast<int64_t>(i) / elements);
  }
  return -1;
}

// How close a chunked batch must be to the whole one. The reference backend computes each example
// alone, so it is exact. XNNPACK picks its kernels by batch size: on x86 (measured) the chunks'
// kernels accumulate each output in the same order and the outputs are bit for bit the same; on
// ARM (measured under qemu, aarch64) they may not, and the outputs differ by float rounding.
float chunk_tolerance(lk::BackendKind kind) {
#if defined(__x86_64__) || defined(__i386__)
  (void)kind;
  return 0;
#else
  return kind == lk::BackendKind::reference ? 0.0f : 1e-5f;
#endif
}

// Every method of `model` at each batch: chunked (kChunk) against the whole batch (max_chunk 0)
// and against each example run alone.
void check_chunked_equals_whole(const lk::Model& model, const std::vector<int>& batches) {
  for (lk::BackendKind kind : available_backends()) {
    for (const lk::Method& method : model.methods()) {
      lk::MethodRunner chunked(model, method.name, kind, chunks_of(kChunk));
      lk::MethodRunner whole(model, method.name, kind, chunks_of(0));
      for (int batch : batches) {
        INFO(lk::to_string(kind) << ", " << method.name << ", batch " << batch);
        const auto inputs = random_inputs(method, batch, static_cast<uint64_t>(batch));
        const auto expected = run_guarded(whole, inputs, batch);
        const auto actual = run_guarded(chunked, inputs, batch);
        REQUIRE(actual.size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
          INFO("output " << i);
          CHECK(first_difference(actual[i], expected[i], method.output_elements(i), chunk_tolerance(kind)) == -1);
          // Not vacuous: the examples' outputs differ from each other (so a chunk run on the
          // wrong examples shows), and none is NaN (so an example left unwritten shows).
          CHECK(first_difference(std::vector<float>(expected[i].begin(), expected[i].begin() + method.output_elements(i)),
                                 std::vector<float>(expected[i].end() - method.output_elements(i), expected[i].end()),
                                 method.output_elements(i)) == 0);
          for (float v : actual[i]) REQUIRE(!std::isnan(v));
        }
        // Each example alone, at batch 1.
        for (int example = 0; example < batch; ++example) {
          std::vector<std::vector<float>> one;
          for (std::size_t i = 0; i < inputs.size(); ++i) {
            const auto elements = static_cast<std::size_t>(method.input_elements(i));
            one.emplace_back(inputs[i].begin() + static_cast<std::ptrdiff_t>(example * elements),
                             inputs[i].begin() + static_cast<std::ptrdiff_t>((example + 1) * elements));
          }
          const auto alone = run_guarded(whole, one, 1);
          for (std::size_t i = 0; i < alone.size(); ++i) {
            const auto elements = static_cast<std::size_t>(method.output_elements(i));
            const std::vector<float> part(actual[i].begin() + static_cast<std::ptrdiff_t>(example * elements),
                                          actual[i].begin() + static_cast<std::ptrdiff_t>((example + 1) * elements));
            if (first_difference(part, alone[i], method.output_elements(i), chunk_tolerance(kind)) != -1) {
              FAIL_CHECK("example " << example << " output " << i << " differs from the example run alone");
              break;
            }
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("a chunked batch gives the whole batch's outputs bit for bit: random decoders") {
  // 70: two chunks and a remainder of 6; 64: two chunks, no remainder; 33: a remainder of 1.
  for (uint64_t seed : {1, 2, 3}) {
    INFO("random model " << seed);
    check_chunked_equals_whole(load(lk::testing::random_model(seed)), {70, 64, 33, 5});
  }
}

TEST_CASE("a chunked batch gives the whole batch's outputs bit for bit: every method of an autoencoder") {
  // encode has two outputs (means and log-variances), each advanced on its own.
  const lk::Model model = load(lk::testing::small_autoencoder(7));
  REQUIRE(model.method("encode").graph.outputs.size() == 2);
  check_chunked_equals_whole(model, {70, 64, 33});
}

TEST_CASE("prepare builds the chunk's and the remainder's backends, so that the first run builds nothing") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  const lk::Model model = load(lk::testing::seed000_decoder(4));
  lk::Decoder decoder(model, lk::BackendKind::xnnpack, chunks_of(kChunk));
  const std::vector<float> z = lk::sample_latents(model.latent(), 70, 5);
  std::vector<float> images(static_cast<std::size_t>(70) * decoder.image_pixels());
  const uint64_t before = lk::xnnpack_bytes_in_use();
  decoder.prepare(70);
  const uint64_t prepared = lk::xnnpack_bytes_in_use();
  CHECK(prepared > before);
  decoder.decode_into(z.data(), 70, images.data());
  CHECK(lk::xnnpack_bytes_in_use() == prepared);
  // And a batch of 2 chunks and 6 again, or of 1 chunk, builds nothing new either.
  decoder.decode_into(z.data(), 38, images.data());
  decoder.decode_into(z.data(), 32, images.data());
  CHECK(lk::xnnpack_bytes_in_use() == prepared);
}

uint64_t backend_bytes(const lk::MemoryPlan& plan) { return plan.activation_bytes + plan.workspace_bytes; }

TEST_CASE("a chunked batch needs only its chunk's and remainder's memory") {
  const lk::ModelDescription d = lk::testing::seed000_decoder(6);
  const lk::Model unlimited = load(d);
  for (lk::BackendKind kind : available_backends()) {
    INFO(lk::to_string(kind));
    // Room for the backends of 32 and 6 together, not for the one of 70.
    const lk::MemoryPlan chunk = lk::plan_memory(unlimited, kind, kChunk), remainder = lk::plan_memory(unlimited, kind, 6);
    lk::ModelLimits limits;
    limits.max_memory_bytes = chunk.total() + backend_bytes(remainder);
    REQUIRE(lk::plan_memory(unlimited, kind, 70).total() > limits.max_memory_bytes);
    const lk::Model model = load(d, limits);
    const std::vector<float> z = lk::sample_latents(model.latent(), 70, 8);
    lk::MethodRunner chunked(model, "decode", kind, chunks_of(kChunk));
    CHECK(chunked.run({z}, 70) == lk::MethodRunner(unlimited, "decode", kind, chunks_of(0)).run({z}, 70));
    CHECK(chunked.backend_bytes() == backend_bytes(chunk) + backend_bytes(remainder));
    try {
      lk::MethodRunner(model, "decode", kind, chunks_of(0)).run({z}, 70);
      FAIL("the whole batch was built beyond the limit");
    } catch (const lk::Error& e) {
      CHECK(e.code() == lk::ErrorCode::out_of_memory);
      CHECK(std::string(e.what()).find("at batch 70 needs") != std::string::npos);
    }
  }
}

TEST_CASE("a batch whose chunk and remainder do not fit together runs whole") {
  // Two backends hold two copies of what does not grow with the batch (the reference backend's
  // workspace, XNNPACK's packed weights): at 40 = 32 + 8, under a limit that the batch's own
  // backend just fits.
  const lk::ModelDescription d = lk::testing::seed000_decoder(9);
  const lk::Model unlimited = load(d);
  for (lk::BackendKind kind : available_backends()) {
    INFO(lk::to_string(kind));
    const lk::MemoryPlan whole = lk::plan_memory(unlimited, kind, 40);
    const lk::MemoryPlan chunk = lk::plan_memory(unlimited, kind, kChunk), remainder = lk::plan_memory(unlimited, kind, 8);
    REQUIRE(chunk.total() + backend_bytes(remainder) > whole.total());
    lk::ModelLimits limits;
    limits.max_memory_bytes = whole.total();
    const lk::Model model = load(d, limits);
    const std::vector<float> z = lk::sample_latents(model.latent(), 40, 10);
    lk::MethodRunner runner(model, "decode", kind, chunks_of(kChunk));
    CHECK(runner.run({z}, 40) == lk::MethodRunner(unlimited, "decode", kind, chunks_of(0)).run({z}, 40));
    CHECK(runner.backend_bytes() == backend_bytes(whole));
  }
}

TEST_CASE("a negative chunk size is refused") {
  const lk::Model model = load(lk::testing::small_autoencoder(1));
  try {
    lk::MethodRunner(model, "decode", lk::BackendKind::reference, chunks_of(-1));
    FAIL("accepted");
  } catch (const lk::Error& e) {
    CHECK(e.code() == lk::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()) == "BackendOptions::max_chunk must be 0 (never chunk) or positive, got -1");
  }
}
