// The memory plan: what a model needs at a batch size, computed before allocating. Its
// activation figure is exact; its XNNPACK workspace is an estimate that must cover what XNNPACK
// really allocates (counted by the allocator latentkit hands to XNNPACK).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/calibration.h"
#include "latentkit/decoder.h"
#include "latentkit/latents.h"
#include "latentkit/memory_plan.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "runtime/random_model.h"

namespace lk = latentkit;

namespace {

lk::Model load(const lk::ModelDescription& d) {
  const std::vector<uint8_t> bytes = lk::serialize_model(d);
  return lk::Model::load_bytes(bytes.data(), bytes.size());
}

lk::ModelDescription int8_of(const lk::ModelDescription& fp32) {
  const lk::Model reference = load(fp32);
  lk::ModelDescription d = fp32;
  lk::quantize_model(d, lk::observe_ranges(reference, lk::sample_latents(reference.latent(), 30, 1)));
  return d;
}

}  // namespace

TEST_CASE("the plan counts the file, the widened constants and every activation at the batch size") {
  const lk::ModelDescription d = lk::testing::seed000_decoder(2);
  const lk::Model model = load(d);
  // latents 2, dense 1568 + relu 1568 + reshape 1568, 14x14x64 twice, 28x28x32 twice, 28x28x1 twice
  const uint64_t per_example = 4 * (2 + 3 * 1568 + 2 * 14 * 14 * 64 + 2 * 28 * 28 * 32 + 2 * 28 * 28);
  for (int batch : {1, 7, 250}) {
    CAPTURE(batch);
    const lk::MemoryPlan plan = lk::plan_memory(model, lk::BackendKind::reference, batch);
    CHECK(plan.model_bytes == model.file_size());
    CHECK(plan.widened_bytes == 0);
    CHECK(plan.activation_bytes == per_example * static_cast<uint64_t>(batch));
    CHECK(plan.total() >= plan.model_bytes + plan.activation_bytes);
  }
  // fp16 weights are widened to float32 once at load: 4 bytes per weight and bias.
  lk::ModelDescription half = d;
  lk::quantize_weights(half, lk::QuantMode::fp16);
  uint64_t constants = 0;
  for (const lk::TensorDescription& t : half.tensors) {
    if (!t.data.empty()) constants += t.data.size() / 2 * 4;
  }
  CHECK(lk::plan_memory(load(half), lk::BackendKind::reference, 1).widened_bytes == constants);
  CHECK(lk::format_bytes(1536) == "1.5 KiB");
  CHECK(lk::format_bytes(12) == "12 B");
}

TEST_CASE("the XNNPACK workspace estimate covers what XNNPACK allocates") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  std::vector<lk::ModelDescription> models{lk::testing::seed000_decoder(1), int8_of(lk::testing::seed000_decoder(1))};
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    models.push_back(lk::testing::random_model(seed));
    if (seed % 4 == 0) models.push_back(int8_of(models.back()));
  }
  lk::make_backend(lk::BackendKind::xnnpack, load(models[0]), 1);  // XNNPACK's one-time set-up
  double worst = 0, closest = 1e9;
  for (std::size_t m = 0; m < models.size(); ++m) {
    const lk::Model model = load(models[m]);
    for (int batch : {1, 9}) {
      CAPTURE(m);
      CAPTURE(batch);
      const uint64_t before = lk::xnnpack_bytes_in_use();
      uint64_t used = 0;
      {
        const auto backend = lk::make_backend(lk::BackendKind::xnnpack, model, batch);
        used = lk::xnnpack_bytes_in_use() - before;
      }
      CHECK(lk::xnnpack_bytes_in_use() == before);  // all of it is released with the backend
      const lk::MemoryPlan plan = lk::plan_memory(model, lk::BackendKind::xnnpack, batch);
      const uint64_t estimate = plan.activation_bytes + plan.workspace_bytes;
      CHECK(used > 0);
      CHECK(used <= estimate);
      const double ratio = static_cast<double>(estimate) / static_cast<double>(used);
      worst = std::max(worst, ratio);
      closest = std::min(closest, ratio);
    }
  }
  MESSAGE("estimate / XNNPACK's bytes over " << models.size() << " models at batch 1 and 9: " << closest << " to "
                                             << worst);
  CHECK(worst < 8);  // an upper bound, but not a vacuous one (measured 1.29 to 5.5)
}

TEST_CASE("a decoder keeps the backends of several batch sizes within the memory limit together") {
  const std::vector<uint8_t> bytes = lk::serialize_model(lk::testing::seed000_decoder(3));
  lk::ModelLimits limits;
  const lk::Model unlimited = lk::Model::load_bytes(bytes.data(), bytes.size());
  const lk::BackendKind kind = lk::backend_available(lk::BackendKind::xnnpack) ? lk::BackendKind::xnnpack
                                                                                : lk::BackendKind::reference;
  // Room for the batch-16 backend alone, not for it and the batch-12 one together.
  const lk::MemoryPlan big = lk::plan_memory(unlimited, kind, 16), other = lk::plan_memory(unlimited, kind, 12);
  limits.max_memory_bytes = big.total() + other.activation_bytes / 2;
  const lk::Model model = lk::Model::load_bytes(bytes.data(), bytes.size(), limits);
  lk::Decoder decoder(model, kind);
  const std::vector<float> z16 = lk::sample_latents(model.latent(), 16, 1);
  const std::vector<float> z12(z16.begin(), z16.begin() + 12 * 2);
  const uint64_t before = lk::xnnpack_bytes_in_use();
  const std::vector<float> first = decoder.decode(z16, 16);
  const uint64_t one_backend = lk::xnnpack_bytes_in_use() - before;
  // Each switch of batch size replaces the other backend instead of adding to it, and the
  // images stay the same.
  for (int round = 0; round < 3; ++round) {
    const std::vector<float> part = decoder.decode(z12, 12);
    CHECK(std::vector<float>(part.begin(), part.end()) == std::vector<float>(first.begin(), first.begin() + part.size()));
    CHECK(decoder.decode(z16, 16) == first);
    // (malloc's usable sizes vary by a few bytes with the heap's state; two backends would be
    // 1.75 times one)
    if (kind == lk::BackendKind::xnnpack) CHECK(lk::xnnpack_bytes_in_use() - before <= one_backend + one_backend / 10);
  }
  // With room for both, both stay.
  lk::Decoder roomy(unlimited, kind);
  roomy.decode(z16, 16);
  const uint64_t with_one = lk::xnnpack_bytes_in_use();
  roomy.decode(z12, 12);
  if (kind == lk::BackendKind::xnnpack) CHECK(lk::xnnpack_bytes_in_use() > with_one);
}
