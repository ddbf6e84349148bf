// BackendOptions::profile: a profiling backend computes what the ordinary one does (the XNNPACK
// one runs each op as its own runtime, chained through buffers of its own, so this is a real
// question) and reports every op of the method once, in order, with its time.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "runtime/autoencoder_model.h"
#include "runtime/random_model.h"

namespace lk = latentkit;

namespace {

lk::Model load(const lk::ModelDescription& description) {
  const std::vector<uint8_t> bytes = lk::serialize_model(description);
  return lk::Model::load_bytes(bytes.data(), bytes.size());
}

// Runs `method` at `batch` on the backend; inputs uniform in [-2, 2] (images in [0, 1]) from
// `seed`, the same for every backend.
std::vector<std::vector<float>> run(lk::Backend& backend, const lk::Method& method, int batch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<float>> inputs, outputs;
  for (std::size_t i = 0; i < method.graph.inputs.size(); ++i) {
    std::vector<float> values(static_cast<std::size_t>(method.input_elements(i) * batch));
    const bool image = method.input_roles[i] == lk::Role::image;
    for (float& v : values) v = static_cast<float>(lk::testing::uniform(rng, image ? 0.0 : -2.0, image ? 1.0 : 2.0));
    inputs.push_back(std::move(values));
  }
  for (std::size_t i = 0; i < method.graph.outputs.size(); ++i) {
    outputs.emplace_back(static_cast<std::size_t>(method.output_elements(i) * batch));
  }
  std::vector<const float*> in;
  std::vector<float*> out;
  for (auto& v : inputs) in.push_back(v.data());
  for (auto& v : outputs) out.push_back(v.data());
  backend.invoke(in.data(), out.data());
  return outputs;
}

void check_profiling(const lk::Model& model, const std::string& name, lk::BackendKind kind, int batch, uint64_t seed) {
  INFO(lk::to_string(kind), " backend, method ", name, ", batch ", batch);
  const lk::Method& method = model.method(name);
  lk::BackendOptions plain, profiled;
  profiled.profile = true;
  const auto ordinary = lk::make_backend(kind, model, name, batch, plain);
  const auto profiling = lk::make_backend(kind, model, name, batch, profiled);
  CHECK(ordinary->op_times().empty());
  const auto expected = run(*ordinary, method, batch, seed);
  const auto actual = run(*profiling, method, batch, seed);
  // The same operators with the same parameters: the same numbers, bit for bit.
  REQUIRE(expected.size() == actual.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("output ", i);
    CHECK(expected[i] == actual[i]);
  }
  const std::vector<lk::OpTime> times = profiling->op_times();
  REQUIRE(!times.empty());
  int next = 0;
  double total = 0;
  for (const lk::OpTime& t : times) {
    REQUIRE(!t.ops.empty());
    for (int op : t.ops) CHECK(op == next++);
    CHECK(t.seconds >= 0);
    total += t.seconds;
  }
  CHECK(next == static_cast<int>(method.graph.ops.size()));
  CHECK(total > 0);
  if (kind == lk::BackendKind::reference) CHECK(times.size() == method.graph.ops.size());
  // Times add up over invokes.
  run(*profiling, method, batch, seed);
  double again = 0;
  for (const lk::OpTime& t : profiling->op_times()) again += t.seconds;
  CHECK(again > total);
}

std::vector<lk::BackendKind> kinds() {
  std::vector<lk::BackendKind> k{lk::BackendKind::reference};
  if (lk::backend_available(lk::BackendKind::xnnpack)) k.push_back(lk::BackendKind::xnnpack);
  return k;
}

}  // namespace

TEST_CASE("profiling backends compute what the ordinary ones do, and time every op once") {
  for (lk::BackendKind kind : kinds()) {
    check_profiling(load(lk::testing::seed000_decoder(1)), "decode", kind, 3, 11);
    // Random decoders use every float op, max pooling with indices into max unpooling among them
    // (XNNPACK's profiling keeps those in one runtime), and the int8 ones the integer ops.
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      INFO("random model ", seed);
      check_profiling(load(lk::testing::random_model(seed)), "decode", kind, 2, seed);
      check_profiling(load(lk::testing::random_int8_model(seed)), "decode", kind, 2, seed);
    }
    // Several methods, two outputs, a method output that later ops read (reconstruct's mean).
    const lk::Model autoencoder = load(lk::testing::small_autoencoder(3));
    for (const char* method : {"encode", "decode", "reconstruct"}) check_profiling(autoencoder, method, kind, 4, 5);
  }
}

TEST_CASE("XNNPACK's profiling keeps a ReLU with its producer, as XNNPACK fuses it") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  const lk::Model model = load(lk::testing::seed000_decoder(2));
  lk::BackendOptions options;
  options.profile = true;
  const auto backend = lk::make_backend(lk::BackendKind::xnnpack, model, "decode", 1, options);
  std::vector<float> z(2, 0.5f), image(28 * 28);
  backend->run(z.data(), image.data());
  // fc+relu, reshape, tconv+relu, tconv+relu, tconv, sigmoid.
  const std::vector<std::vector<int>> expected = {{0, 1}, {2}, {3, 4}, {5, 6}, {7}, {8}};
  std::vector<std::vector<int>> actual;
  for (const lk::OpTime& t : backend->op_times()) actual.push_back(t.ops);
  CHECK(actual == expected);
}
