// The model file is untrusted input: valid files round-trip exactly; every kind of broken file
// is refused with a message that names the problem, and none of them crashes the loader.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "latentkit/error.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "runtime/random_model.h"

namespace lk = latentkit;
using lk::testing::seed000_decoder;

namespace {

std::vector<uint8_t> bytes_of(const lk::ModelDescription& d) { return lk::serialize_model(d); }

lk::Model load(const std::vector<uint8_t>& bytes) { return lk::Model::load_bytes(bytes.data(), bytes.size()); }

// The error a file is refused with; fails the test if it is accepted.
lk::Error refusal(const std::vector<uint8_t>& bytes) {
  try {
    load(bytes);
  } catch (const lk::Error& e) {
    return e;
  }
  FAIL("the file was accepted");
  return lk::Error(lk::ErrorCode::io, "");
}

lk::Error refusal(const lk::ModelDescription& d) { return refusal(bytes_of(d)); }

// Index of the first op of `kind`.
std::size_t first_op(const lk::ModelDescription& d, lk::OpKind kind) {
  for (std::size_t i = 0; i < d.ops.size(); ++i) {
    if (d.ops[i].kind == kind) return i;
  }
  FAIL("no such op");
  return 0;
}

}  // namespace

TEST_CASE("a model file round-trips through the writer and the loader") {
  lk::ModelDescription d = seed000_decoder(1, 3);
  d.provenance = {"cvae", "mnist", 12, "latentkit test", "2026-11-25T00:00:00Z",
                  {{"test_elbo_nats", -101.5}}, {"0", "1"}, "fp32"};
  const lk::Model model = load(bytes_of(d));

  CHECK(model.format_version() == lk::kFormatVersion);
  const lk::Graph& g = model.decoder();
  REQUIRE(g.tensors.size() == d.tensors.size());
  for (std::size_t i = 0; i < g.tensors.size(); ++i) {
    CAPTURE(i);
    CHECK(g.tensors[i].name == d.tensors[i].name);
    CHECK(g.tensors[i].shape == d.tensors[i].shape);
    CHECK(g.tensors[i].is_constant() == !d.tensors[i].data.empty());
    if (g.tensors[i].is_constant()) {
      REQUIRE(g.tensors[i].bytes == d.tensors[i].data.size());
      CHECK(std::memcmp(g.tensors[i].data, d.tensors[i].data.data(), g.tensors[i].bytes) == 0);
      CHECK(reinterpret_cast<uintptr_t>(g.tensors[i].data) % 16 == 0);  // usable in place
    }
  }
  REQUIRE(g.ops.size() == d.ops.size());
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    CAPTURE(i);
    CHECK(g.ops[i].kind == d.ops[i].kind);
    CHECK(g.ops[i].outputs == d.ops[i].outputs);
    CHECK(g.ops[i].window.stride_h == d.ops[i].window.stride_h);
    CHECK(g.ops[i].window.pad_top == d.ops[i].window.pad_top);
    CHECK(g.ops[i].window.adjustment_w == d.ops[i].window.adjustment_w);
  }
  CHECK(g.inputs == d.inputs);
  CHECK(g.outputs == d.outputs);
  CHECK(model.latent().dims() == 3);
  CHECK(model.latent().groups[0].kind == lk::LatentKind::gaussian);
  CHECK(model.image().height == 28);
  CHECK(model.image().channels == 1);
  CHECK(model.provenance().model_family == "cvae");
  CHECK(model.provenance().epochs == 12);
  REQUIRE(model.provenance().metrics.size() == 1);
  CHECK(model.provenance().metrics[0].value == -101.5);
  CHECK(model.provenance().labels == std::vector<std::string>{"0", "1"});
  CHECK(model.provenance().quantization == "fp32");
  REQUIRE(model.provenance().metric("test_elbo_nats") != nullptr);
  CHECK(model.provenance().metric("nothing") == nullptr);
}

TEST_CASE("every truncation of a valid file is refused with a message") {
  const auto bytes = bytes_of(seed000_decoder(2));
  // The first and last 4 KiB byte by byte, the weights in between in strides.
  for (std::size_t size = 0; size < bytes.size(); size += (size < 4096 || size + 4096 > bytes.size()) ? 1 : 997) {
    CAPTURE(size);
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + size);
    const lk::Error e = refusal(cut);
    CHECK(e.code() == lk::ErrorCode::malformed_model);
  }
}

TEST_CASE("a file with another identifier is refused by name") {
  auto bytes = bytes_of(seed000_decoder(3));
  std::memcpy(&bytes[4], "ABCD", 4);
  const lk::Error e = refusal(bytes);
  CHECK(e.code() == lk::ErrorCode::malformed_model);
  CHECK(std::string(e.what()).find("wrong file identifier 'ABCD' (expected 'LKM1')") != std::string::npos);
}

TEST_CASE("a file from a future format version is refused, asking for an update") {
  lk::ModelDescription d = seed000_decoder(4);
  d.format_version = lk::kFormatVersion + 1;
  const lk::Error e = refusal(d);
  CHECK(e.code() == lk::ErrorCode::unsupported_model);
  CHECK(std::string(e.what()).find("newer than this runtime reads") != std::string::npos);
  d.format_version = 0;
  CHECK(refusal(d).code() == lk::ErrorCode::malformed_model);
}

TEST_CASE("inconsistent shapes are refused, naming the op and both shapes") {
  lk::ModelDescription d = seed000_decoder(5);
  const std::size_t fc = first_op(d, lk::OpKind::fully_connected);
  d.tensors[d.ops[fc].outputs[0]].shape = {1567};
  const std::string message = refusal(d).what();
  CHECK(message.find("operator " + std::to_string(fc) + " (fully_connected)") != std::string::npos);
  CHECK(message.find("has shape [1567], expected [1568]") != std::string::npos);

  lk::ModelDescription t = seed000_decoder(5);
  const std::size_t tconv = first_op(t, lk::OpKind::transpose_conv2d);
  t.ops[tconv].window.pad_top = 0;  // the declared output no longer matches the window
  CHECK(std::string(refusal(t).what()).find("expected [15,14,64]") != std::string::npos);
}

TEST_CASE("oversized dimensions are refused before any allocation") {
  lk::ModelDescription d = seed000_decoder(6);
  d.tensors[d.ops[0].outputs[0]].shape = {int64_t{1} << 30};
  CHECK(std::string(refusal(d).what()).find("has dimension 1073741824") != std::string::npos);
  CHECK(refusal(d).code() == lk::ErrorCode::unsupported_model);  // beyond ModelLimits, not corrupt

  lk::ModelDescription many = seed000_decoder(6);
  // Four dimensions each under the per-dimension limit whose product is far too large.
  many.tensors[many.ops[0].outputs[0]].shape = {60000, 60000, 60000, 60000};
  CHECK(std::string(refusal(many).what()).find("elements") != std::string::npos);

  lk::ModelDescription negative = seed000_decoder(6);
  negative.tensors[0].shape = {-2};
  CHECK(std::string(refusal(negative).what()).find("dimension -2") != std::string::npos);
}

TEST_CASE("broken references and orders are refused") {
  SUBCASE("a buffer shorter than shape x dtype") {
    lk::ModelDescription d = seed000_decoder(7);
    auto& weights = d.tensors[d.ops[0].inputs[1]].data;
    weights.resize(weights.size() - 4);
    CHECK(std::string(refusal(d).what()).find("needs 12544 bytes but its buffer has 12540") != std::string::npos);
  }
  SUBCASE("a tensor index out of range") {
    lk::ModelDescription d = seed000_decoder(7);
    d.ops[1].inputs[0] = 99;
    CHECK(std::string(refusal(d).what()).find("refers to tensor 99") != std::string::npos);
  }
  SUBCASE("ops out of topological order") {
    lk::ModelDescription d = seed000_decoder(7);
    std::swap(d.ops[0], d.ops[1]);
    CHECK(std::string(refusal(d).what()).find("before any operator writes it") != std::string::npos);
  }
  SUBCASE("an op writing a constant") {
    lk::ModelDescription d = seed000_decoder(7);
    d.ops[1].outputs[0] = d.ops[0].inputs[1];
    CHECK(std::string(refusal(d).what()).find("which is a constant or already written") != std::string::npos);
  }
  SUBCASE("a latent spec that disagrees with the input") {
    lk::ModelDescription d = seed000_decoder(7);
    d.latent.groups[0].size = 5;
    CHECK(std::string(refusal(d).what()).find("latent spec has 5 dimensions") != std::string::npos);
  }
  SUBCASE("an image spec that disagrees with the output") {
    lk::ModelDescription d = seed000_decoder(7);
    d.image.width = 27;
    CHECK(std::string(refusal(d).what()).find("image spec says [28,27,1]") != std::string::npos);
  }
  SUBCASE("int32 weights") {
    lk::ModelDescription d = seed000_decoder(7);
    d.tensors[d.ops[0].inputs[1]].dtype = lk::DType::int32;
    const lk::Error e = refusal(d);
    CHECK(e.code() == lk::ErrorCode::malformed_model);
    CHECK(std::string(e.what()).find("are int32; weights are float32, float16 or int8") != std::string::npos);
  }
  SUBCASE("an int32 bias of a float op") {
    lk::ModelDescription d = seed000_decoder(7);
    d.tensors[d.ops[0].inputs[2]].dtype = lk::DType::int32;
    CHECK(std::string(refusal(d).what()).find("an int32 bias belongs to an op with int8 input and output") !=
          std::string::npos);
  }
  SUBCASE("a transposed convolution adjustment not below its stride") {
    lk::ModelDescription d = seed000_decoder(7);
    d.ops[first_op(d, lk::OpKind::transpose_conv2d)].window.adjustment_h = 2;
    CHECK(std::string(refusal(d).what()).find("smaller than the stride") != std::string::npos);
  }
}

TEST_CASE("random corruption is refused or accepted, never a crash") {
  const auto bytes = bytes_of(seed000_decoder(8));
  std::mt19937_64 rng(8);
  int refused = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto broken = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    // Corrupt the structure (the first and last KiB hold tables and vtables), not only weights.
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = (rng() % 2) ? rng() % 1024 : broken.size() - 1 - rng() % 1024;
      broken[at] ^= static_cast<uint8_t>(1 + rng() % 255);
    }
    try {
      const lk::Model model = load(broken);
      CHECK(model.methods().front().graph.ops.size() > 0);  // accepted means fully checked
    } catch (const lk::Error& e) {
      ++refused;
      CHECK(std::strlen(e.what()) > 0);
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("load_file names the path on failure") {
  try {
    lk::Model::load_file("/nonexistent/model.lkm");
    FAIL("loaded a missing file");
  } catch (const lk::Error& e) {
    CHECK(e.code() == lk::ErrorCode::io);
    CHECK(std::string(e.what()).find("/nonexistent/model.lkm") != std::string::npos);
  }
  const auto path = std::filesystem::temp_directory_path() / "latentkit_test_bad.lkm";
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not a model";
  }
  try {
    lk::Model::load_file(path.string());
    FAIL("loaded a text file");
  } catch (const lk::Error& e) {
    CHECK(std::string(e.what()).find(path.string() + ": wrong file identifier") != std::string::npos);
  }
  std::filesystem::remove(path);
}

TEST_CASE("write_file_atomically leaves the previous file when it cannot write") {
  const auto dir = std::filesystem::temp_directory_path() / "latentkit_atomic_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "model.lkm").string();
  lk::write_file_atomically(path, {1, 2, 3});
  CHECK(std::filesystem::file_size(path) == 3);
  CHECK_THROWS_AS(lk::write_file_atomically((dir / "missing" / "x.lkm").string(), {4}), lk::Error);
  CHECK(std::filesystem::file_size(path) == 3);
  CHECK(!std::filesystem::exists(path + ".tmp"));
  std::filesystem::remove_all(dir);
}
