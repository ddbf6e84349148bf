// Models with several methods (format version 2) and the version-1 files that came before.
//
// A small autoencoder (runtime/autoencoder_model.h): encode (image -> mean, log-variance),
// decode (latent -> image) and reconstruct (image -> decode of the mean) over shared weights. Its methods run on
// every backend, reconstruct equals decode after encode, and each rule the loader applies to
// methods refuses a broken file with a message naming the method.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/decoder.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/method_runner.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "runtime/autoencoder_model.h"
#include "runtime/random_model.h"

namespace lk = latentkit;

namespace {

constexpr int kLatent = 2;
constexpr int kSide = 3;  // 3 x 3 x 1 images
constexpr int kPixels = kSide * kSide;

std::vector<lk::BackendKind> available_backends() {
  std::vector<lk::BackendKind> kinds{lk::BackendKind::reference};
  if (lk::backend_available(lk::BackendKind::xnnpack)) kinds.push_back(lk::BackendKind::xnnpack);
  return kinds;
}

lk::Op op(lk::OpKind kind, std::vector<int> inputs, int output) {
  lk::Op o;
  o.kind = kind;
  o.inputs = std::move(inputs);
  o.outputs = {output};
  return o;
}

lk::ModelDescription autoencoder(uint64_t seed) { return lk::testing::small_autoencoder(seed); }

lk::Model load(const lk::ModelDescription& d) {
  const std::vector<uint8_t> bytes = lk::serialize_model(d);
  return lk::Model::load_bytes(bytes.data(), bytes.size());
}

std::string refusal(const lk::ModelDescription& d) {
  try {
    load(d);
  } catch (const lk::Error& e) {
    return e.what();
  }
  FAIL("the file was accepted");
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<float> random_images(uint64_t seed, int batch) {
  std::mt19937_64 rng(seed);
  std::vector<float> images(static_cast<std::size_t>(batch) * kPixels);
  for (float& v : images) v = static_cast<float>(lk::testing::uniform(rng, 0.0, 1.0));
  return images;
}

float max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

lk::MethodDescription* find(lk::ModelDescription& d, const char* name) {
  for (auto& m : d.methods) {
    if (m.name == name) return &m;
  }
  FAIL("no method " << name);
  return nullptr;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> read_floats(const std::string& path) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

}  // namespace

TEST_CASE("a model's methods load with their signatures, over shared weights") {
  const lk::Model model = load(autoencoder(1));
  REQUIRE(model.methods().size() == 3);
  CHECK(model.method("encode").signature() == "encode(image[3,3,1]) -> latent_mean[2], latent_log_variance[2]");
  CHECK(model.method("decode").signature() == "decode(latent[2]) -> image[3,3,1]");
  CHECK(model.method("reconstruct").signature() == "reconstruct(image[3,3,1]) -> image[3,3,1]");
  // Each method's graph holds only its own tensors, pointing at the same constant bytes.
  const lk::Graph& decode = model.method("decode").graph;
  const lk::Graph& reconstruct = model.method("reconstruct").graph;
  CHECK(decode.tensors.size() == 5);  // z, dec_w, logits, probs, image
  auto constant = [](const lk::Graph& g, const std::string& name) -> const void* {
    for (const lk::Tensor& t : g.tensors) {
      if (t.name == name) return t.data;
    }
    return nullptr;
  };
  REQUIRE(constant(decode, "dec_w") != nullptr);
  CHECK(constant(decode, "dec_w") == constant(reconstruct, "dec_w"));
  try {
    model.method("translate");
    FAIL("an absent method was found");
  } catch (const lk::Error& e) {
    CHECK(e.code() == lk::ErrorCode::invalid_argument);
    CHECK(contains(e.what(), "no method 'translate' (it has: encode, decode, reconstruct)"));
  }
}

TEST_CASE("reconstruct equals decode of the encoder's mean, on every backend and batch") {
  const lk::Model model = load(autoencoder(2));
  for (lk::BackendKind kind : available_backends()) {
    for (int batch : {1, 3, 8}) {
      INFO(lk::to_string(kind) << ", batch " << batch);
      const std::vector<float> images = random_images(10 + batch, batch);
      lk::MethodRunner encoder(model, "encode", kind);
      lk::MethodRunner reconstructor(model, "reconstruct", kind);
      lk::Decoder decoder(model, kind);
      const auto posterior = encoder.run({images}, batch);
      REQUIRE(posterior.size() == 2);
      CHECK(posterior[0].size() == static_cast<std::size_t>(batch) * kLatent);
      CHECK(posterior[0] != posterior[1]);  // two different heads
      const std::vector<float> via_decoder = decoder.decode(posterior[0], batch);
      const auto reconstructed = reconstructor.run({images}, batch);
      CHECK(max_abs_difference(reconstructed[0], via_decoder) <= 1e-6f);
      // The images depend on the input: reconstructions of different images differ.
      if (batch > 1) CHECK(max_abs_difference(std::vector<float>(via_decoder.begin(), via_decoder.begin() + kPixels),
                                              std::vector<float>(via_decoder.begin() + kPixels,
                                                                 via_decoder.begin() + 2 * kPixels)) > 1e-4f);
    }
  }
}

TEST_CASE("the backends agree on every method") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  const lk::Model model = load(autoencoder(3));
  for (const lk::Method& method : model.methods()) {
    INFO(method.name);
    const int batch = 5;
    std::vector<std::vector<float>> inputs;
    for (std::size_t i = 0; i < method.graph.inputs.size(); ++i) {
      inputs.push_back(random_images(20 + i, batch));
      inputs.back().resize(static_cast<std::size_t>(batch * method.input_elements(i)));
    }
    const auto expected = lk::MethodRunner(model, method.name, lk::BackendKind::reference).run(inputs, batch);
    const auto actual = lk::MethodRunner(model, method.name, lk::BackendKind::xnnpack).run(inputs, batch);
    REQUIRE(expected.size() == actual.size());
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(max_abs_difference(expected[i], actual[i]) <= 1e-5f);
  }
}

TEST_CASE("a runner refuses inputs of the wrong size, naming the input") {
  const lk::Model model = load(autoencoder(4));
  lk::MethodRunner encoder(model, "encode", lk::BackendKind::reference);
  try {
    encoder.run({std::vector<float>(kPixels * 2 - 1)}, 2);
    FAIL("accepted");
  } catch (const lk::Error& e) {
    CHECK(e.code() == lk::ErrorCode::invalid_argument);
    CHECK(contains(e.what(), "encode: got 17 values for input 0 (image) at batch 2; expected 18"));
  }
  CHECK_THROWS_AS(lk::MethodRunner(model, "translate", lk::BackendKind::reference), lk::Error);
}

TEST_CASE("version-1 files load as one decode method and decode as they did") {
  const std::string dir = LATENTKIT_FIXTURES_DIR "/format-v1/";
  const std::vector<float> latents = read_floats(dir + "latents-seed11.f32");
  for (const char* quantization : {"fp32", "int8"}) {
    INFO(quantization);
    const lk::Model model = lk::Model::load_file(dir + "cvae-" + quantization + ".lkm");
    CHECK(model.format_version() == 1);
    REQUIRE(model.methods().size() == 1);
    CHECK(model.methods()[0].signature() == "decode(latent[2]) -> image[28,28,1]");
    const int n = static_cast<int>(latents.size() / 2);
    REQUIRE(n == 4);
    // The same latents as the sampler gives today: the seed's stream has not moved either.
    CHECK(lk::sample_latents(model.latent(), n, 11) == latents);
    const std::vector<float> expected = read_floats(dir + "cvae-" + quantization + ".reference.f32");
    const std::vector<float> reference = lk::Decoder(model, lk::BackendKind::reference).decode(latents, n);
    CHECK(max_abs_difference(reference, expected) <= 1e-6f);
    float mean = 0;
    for (float v : expected) mean += v / static_cast<float>(expected.size());
    CHECK(mean > 0.02f);  // digits, not an empty picture
    if (lk::backend_available(lk::BackendKind::xnnpack)) {
      const std::vector<float> xnnpack = lk::Decoder(model, lk::BackendKind::xnnpack).decode(latents, n);
      // int8: XNNPACK's requantisation may round a value the other way, one step of the
      // output's int8 scale before the final sigmoid.
      CHECK(max_abs_difference(xnnpack, expected) <= (std::string(quantization) == "fp32" ? 1e-5f : 2e-2f));
    }
  }
}

TEST_CASE("the version-1 layout is still written and read") {
  lk::ModelDescription d = lk::testing::seed000_decoder(5);
  d.format_version = 1;
  const lk::Model v1 = load(d);
  d.format_version = lk::kFormatVersion;
  const lk::Model v2 = load(d);
  CHECK(v1.format_version() == 1);
  CHECK(v2.format_version() == 2);
  const std::vector<float> z = lk::sample_latents(v1.latent(), 3, 7);
  CHECK(lk::Decoder(v1, lk::BackendKind::reference).decode(z, 3) ==
        lk::Decoder(v2, lk::BackendKind::reference).decode(z, 3));
}

TEST_CASE("broken methods are refused, naming the method") {
  SUBCASE("no methods") {
    lk::ModelDescription d = autoencoder(6);
    d.methods.clear();
    d.ops.clear();
    d.inputs.clear();
    d.outputs.clear();
    // all_methods() turns an empty description into an empty decode method
    CHECK(contains(refusal(d), "method 'decode'"));
  }
  SUBCASE("two methods of one name") {
    lk::ModelDescription d = autoencoder(6);
    d.methods[2].name = "encode";
    CHECK(contains(refusal(d), "two methods called 'encode'"));
  }
  SUBCASE("a name outside [a-z0-9_]") {
    lk::ModelDescription d = autoencoder(6);
    d.methods[1].name = "Decode!";
    CHECK(contains(refusal(d), "method 1 is called 'Decode!'"));
  }
  SUBCASE("a reserved name with another signature") {
    lk::ModelDescription d = autoencoder(6);
    lk::MethodDescription* encode = find(d, "encode");
    encode->outputs.pop_back();
    encode->output_roles.pop_back();
    encode->ops.pop_back();
    d.methods.push_back(*encode);
    d.methods.back().name = "encode_mean";  // keeps enc_w_logvar in use
    d.methods.back().ops.push_back(op(lk::OpKind::fully_connected, {5, 7, -1}, 9));
    d.methods.back().outputs.push_back(9);
    d.methods.back().output_roles.push_back(lk::Role::latent_log_variance);
    CHECK(contains(refusal(d), "method 'encode' does not have the signature its name stands for (image -> "
                               "latent_mean, latent_log_variance) or (image -> latent)"));
  }
  SUBCASE("an output no op of the method writes") {
    lk::ModelDescription d = autoencoder(6);
    lk::MethodDescription* decode = find(d, "decode");
    decode->ops.pop_back();  // the reshape to the image
    decode->ops.pop_back();
    CHECK(contains(refusal(d), "method 'decode' output 0 'image' is not written by any operator"));
  }
  SUBCASE("an input no op reads") {
    lk::ModelDescription d = autoencoder(6);
    lk::MethodDescription* decode = find(d, "decode");
    decode->inputs = {9};  // logvar, which nothing in decode reads
    CHECK(contains(refusal(d), "method 'decode'"));
  }
  SUBCASE("an op whose output is neither read nor a method output") {
    lk::ModelDescription d = autoencoder(6);
    lk::MethodDescription* reconstruct = find(d, "reconstruct");
    reconstruct->ops.push_back(op(lk::OpKind::fully_connected, {5, 7, -1}, 9));  // logvar, read by nothing here
    CHECK(contains(refusal(d), "method 'reconstruct': operator 7 (fully_connected) writes tensor 9 'logvar', which no "
                               "operator reads and which is not an output of method 'reconstruct'"));
  }
  SUBCASE("a tensor no method uses") {
    lk::ModelDescription d = autoencoder(6);
    d.add_activation("spare", {4});
    CHECK(contains(refusal(d), "tensor 15 'spare' is used by no operator"));
  }
  SUBCASE("an output of the wrong shape for its role") {
    lk::ModelDescription d = autoencoder(6);
    find(d, "decode")->output_roles = {lk::Role::latent};
    CHECK(contains(refusal(d), "method 'decode' output 0 'image' must be a latent vector, not shape [3,3,1]"));
  }
  SUBCASE("a tensor both input and output") {
    lk::ModelDescription d = autoencoder(6);
    lk::MethodDescription* decode = find(d, "decode");
    decode->outputs.push_back(decode->inputs[0]);
    decode->output_roles.push_back(lk::Role::latent);
    CHECK(contains(refusal(d), "method 'decode'"));
  }
  SUBCASE("an op writing a method input") {
    lk::ModelDescription d = autoencoder(6);
    lk::MethodDescription* reconstruct = find(d, "reconstruct");
    reconstruct->inputs.push_back(4);  // enc_h, which the fully connected op writes
    reconstruct->input_roles.push_back(lk::Role::latent);
    CHECK(contains(refusal(d), "method 'reconstruct'"));
  }
  SUBCASE("a role this runtime does not know") {
    lk::ModelDescription d = autoencoder(6);
    find(d, "decode")->output_roles = {static_cast<lk::Role>(9)};
    const std::string message = refusal(d);
    CHECK(contains(message, "method 'decode' output 0 has role 9, unknown to this runtime"));
  }
  SUBCASE("an image spec without a size") {
    lk::ModelDescription d = autoencoder(6);
    d.image.height = 0;
    CHECK(contains(refusal(d), "the image spec has height 0 (allowed 1..65536)"));
  }
  SUBCASE("a latent spec without groups") {
    lk::ModelDescription d = autoencoder(6);
    d.latent.groups.clear();
    CHECK(contains(refusal(d), "the file's latent spec has no groups"));
  }
  SUBCASE("too many inputs") {
    lk::ModelDescription d = autoencoder(6);
    lk::MethodDescription* decode = find(d, "decode");
    decode->inputs.assign(17, decode->inputs[0]);
    decode->input_roles.assign(17, lk::Role::latent);
    CHECK(contains(refusal(d), "method 'decode' inputs: 17 (a method has 1 to 16)"));
  }
}
