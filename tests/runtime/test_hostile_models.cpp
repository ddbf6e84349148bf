// Semantically hostile model files: each passes the FlatBuffers verifier, and each reached a
// defect of an earlier loader (issue #16's nine classes, found by an outside campaign under
// AddressSanitizer and UndefinedBehaviorSanitizer). Every file here is built by hand, small, and
// must now be refused at load with a message naming the field, or run without any undefined
// behaviour. The sanitizer suite (`ctest --preset asan`) runs these same tests instrumented.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "latentkit.h"
#include "latentkit/backend.h"
#include "latentkit/calibration.h"
#include "latentkit/decoder.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/memory_plan.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "runtime/random_model.h"

namespace lk = latentkit;
using lk::testing::DecoderBuilder;

namespace {

lk::Model load(const lk::ModelDescription& d, const lk::ModelLimits& limits = {}) {
  const std::vector<uint8_t> bytes = lk::serialize_model(d);
  return lk::Model::load_bytes(bytes.data(), bytes.size(), limits);
}

// The error a file is refused with; fails the test if it loads.
lk::Error refusal(const lk::ModelDescription& d, const lk::ModelLimits& limits = {}) {
  try {
    load(d, limits);
  } catch (const lk::Error& e) {
    return e;
  }
  FAIL("the file was accepted");
  return lk::Error(lk::ErrorCode::io, "");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<lk::BackendKind> backends() {
  std::vector<lk::BackendKind> kinds{lk::BackendKind::reference};
  if (lk::backend_available(lk::BackendKind::xnnpack)) kinds.push_back(lk::BackendKind::xnnpack);
  return kinds;
}

std::vector<float> identity(int n) {
  std::vector<float> w(static_cast<std::size_t>(n) * n, 0.0f);
  for (int i = 0; i < n; ++i) w[static_cast<std::size_t>(i) * n + i] = 1.0f;
  return w;
}

// latents [D] -> fully connected with identity weights -> reshape to a 1 x D x 1 image: the image
// shows the latent itself, so a test can see exactly what was decoded.
lk::ModelDescription identity_decoder(const lk::LatentSpec& spec) {
  const int dims = spec.dims();
  DecoderBuilder b(dims);
  b.fully_connected(dims, identity(dims), std::vector<float>(static_cast<std::size_t>(dims), 0.0f));
  b.reshape({1, dims, 1});
  lk::ModelDescription d = b.finish();
  d.latent = spec;
  return d;
}

lk::LatentGroup gaussian(int size, const char* name = "z") {
  lk::LatentGroup g;
  g.kind = lk::LatentKind::gaussian;
  g.name = name;
  g.size = size;
  return g;
}

lk::LatentGroup categorical(int size, int count, std::vector<std::string> labels = {}) {
  lk::LatentGroup g;
  g.kind = lk::LatentKind::categorical;
  g.name = "c";
  g.size = size;
  g.count = count;
  g.labels = std::move(labels);
  return g;
}

// latents [2] -> FC 2x4 -> reshape [1, 1, 4] -> transposed convolution (4 -> out_channels, 1x1
// kernel, the given stride) -> sigmoid, quantised to int8: the transposed convolution runs on
// int8 activations, the form XNNPACK lowers to stride_h x stride_w sub-pixel phases. The image
// is 2 x 2 x out_channels.
lk::ModelDescription int8_transpose_conv(int stride, int out_channels) {
  DecoderBuilder b(2);
  std::mt19937_64 rng(3);
  b.fully_connected(4, lk::testing::random_weights(rng, 8, 2), {0.1f, -0.2f, 0.3f, 0.05f});
  b.reshape({1, 1, 4});
  lk::Window window;
  window.stride_h = window.stride_w = stride;
  window.adjustment_h = window.adjustment_w = 1;  // a 2 x 2 output
  b.transpose_conv2d(out_channels, 1, 1, window, lk::testing::random_weights(rng, 4 * out_channels, 4),
                     std::vector<float>(static_cast<std::size_t>(out_channels), 0.1f));
  b.activation(lk::OpKind::sigmoid);
  lk::ModelDescription d = b.finish();
  const lk::Model reference = load(d);
  lk::quantize_model(d, lk::observe_ranges(reference, lk::sample_latents(reference.latent(), 50, 1)));
  return d;
}

int first_tensor_of(const lk::ModelDescription& d, lk::DType dtype, bool constant) {
  for (std::size_t i = 0; i < d.tensors.size(); ++i) {
    if (d.tensors[i].dtype == dtype && d.tensors[i].data.empty() != constant) return static_cast<int>(i);
  }
  FAIL("no such tensor");
  return -1;
}

}  // namespace

TEST_CASE("class 1: latent groups whose size x count overflows int are refused") {
  // 65536 x 65536 wraps to 0 in 32 bits: with a Gaussian group of 2 the old sum equalled the
  // decoder input, and sampling wrote 2^32 values into a buffer sized for 2.
  lk::ModelDescription d = identity_decoder({{gaussian(2)}});
  d.latent.groups = {categorical(65536, 65536), gaussian(2)};
  const lk::Error e = refusal(d);
  CHECK(e.code() == lk::ErrorCode::malformed_model);
  CHECK(contains(e.what(), "more than 65536 dimensions"));
  CHECK(contains(e.what(), "latent group 0"));
}

TEST_CASE("class 2: latent groups must say exactly what sampling writes") {
  lk::ModelDescription d = identity_decoder({{gaussian(2)}});
  SUBCASE("a Gaussian group with a count") {
    lk::LatentGroup g = gaussian(1);
    g.count = 2;  // size x count = 2 = the decoder input, but sampling drew `size` values
    d.latent.groups = {g};
    CHECK(contains(refusal(d).what(), "is Gaussian with count 2"));
  }
  SUBCASE("a categorical group with fewer labels than categories") {
    d.latent.groups = {categorical(2, 1, {"only one"})};
    CHECK(contains(refusal(d).what(), "has 1 labels for 2 categories"));
  }
  SUBCASE("a Gaussian group with labels") {
    lk::LatentGroup g = gaussian(2);
    g.labels = {"a", "b"};
    d.latent.groups = {g};
    CHECK(contains(refusal(d).what(), "is Gaussian but has labels"));
  }
  SUBCASE("groups that add up to less than the input") {
    d.latent.groups = {gaussian(1)};
    CHECK(contains(refusal(d).what(), "the latent spec has 1 dimensions"));
  }
}

TEST_CASE("classes 3 and 4: an int8 transposed convolution with huge strides is refused before allocating") {
  // Stride 65536: stride_h x stride_w overflowed int in the sub-pixel lowering (a null write);
  // stride 64 with 64 channels asked for out_channels^2 x stride^4 = 2^36 bytes (bad_alloc).
  // The lowering also multiplies the work by about stride^2 x out_channels: it is refused for
  // that first, and, with the work limit lifted, for the memory it would allocate.
  for (const auto& [stride, channels] : {std::pair{65536, 4}, std::pair{64, 64}}) {
    CAPTURE(stride);
    const lk::ModelDescription d = int8_transpose_conv(stride, channels);
    const lk::Model model = load(d);
    // The reference backend computes the op directly and needs nothing per stride.
    const std::vector<float> image = lk::Decoder(model, lk::BackendKind::reference).decode({0.5f, -0.5f}, 1);
    CHECK(image.size() == static_cast<std::size_t>(4 * channels));
    if (!lk::backend_available(lk::BackendKind::xnnpack)) continue;
    auto xnnpack_refusal = [](const lk::Model& m) {
      try {
        lk::make_backend(lk::BackendKind::xnnpack, m, 1);
      } catch (const lk::Error& e) {
        return e;
      }
      FAIL("the xnnpack backend was built");
      return lk::Error(lk::ErrorCode::io, "");
    };
    const lk::Error slow = xnnpack_refusal(model);
    CHECK(slow.code() == lk::ErrorCode::unsupported_model);
    CHECK(contains(slow.what(), "its lowering of this graph needs"));
    CHECK(contains(slow.what(), "ModelLimits::max_multiply_adds"));
    lk::ModelLimits unlimited_work;
    unlimited_work.max_multiply_adds = std::numeric_limits<int64_t>::max();
    const lk::Error big = xnnpack_refusal(load(d, unlimited_work));
    CHECK(big.code() == lk::ErrorCode::out_of_memory);
    CHECK(contains(big.what(), "the xnnpack backend for decode at batch 1 needs"));
    CHECK(contains(big.what(), "max_memory_bytes"));
    // A limit that means "no limit" does not switch the check off: a plan that saturated is
    // refused whatever the limit.
    unlimited_work.max_memory_bytes = std::numeric_limits<uint64_t>::max();
    if (stride == 65536) CHECK(xnnpack_refusal(load(d, unlimited_work)).code() == lk::ErrorCode::out_of_memory);
    // Asked for XNNPACK, a program falls back to the reference backend and says why.
    std::string why;
    CHECK(lk::choose_backend(model, lk::BackendKind::xnnpack, &why) == lk::BackendKind::reference);
    CHECK(contains(why, "its lowering of this graph needs"));
  }
  // The same form at an ordinary stride builds and agrees with the reference backend.
  const lk::Model model = load(int8_transpose_conv(2, 3));
  for (lk::BackendKind kind : backends()) CHECK(lk::Decoder(model, kind).decode({0.5f, -0.5f}, 1).size() == 2 * 2 * 3);
}

TEST_CASE("class 5: an op whose output nothing reads, or a tensor no op uses, is refused") {
  // XNNPACK asserted (and aborted the process) on such a value at the first decode.
  lk::ModelDescription d = identity_decoder({{gaussian(2)}});
  const int dead = d.add_activation("dead", {2});
  lk::Op relu;
  relu.kind = lk::OpKind::relu;
  relu.inputs = {d.ops[0].outputs[0]};
  relu.outputs = {dead};
  d.ops.insert(d.ops.begin() + 1, relu);
  const lk::Error e = refusal(d);
  CHECK(contains(e.what(), "operator 1 (relu) writes tensor"));
  CHECK(contains(e.what(), "which no operator reads"));
  // A constant no op uses would still be widened at load (and an activation allocated).
  lk::ModelDescription unused = identity_decoder({{gaussian(2)}});
  const int spare = unused.add_constant("spare", {4}, {1, 2, 3, 4});
  CHECK(contains(refusal(unused).what(), "tensor " + std::to_string(spare) + " 'spare' is used by no operator"));
}

TEST_CASE("class 6: integer arithmetic that would overflow, and NaN on the way to int8") {
  const lk::ModelDescription base = int8_transpose_conv(2, 3);
  SUBCASE("an int32 bias that overflows the accumulator") {
    lk::ModelDescription d = base;
    const int bias = first_tensor_of(d, lk::DType::int32, true);
    const int32_t extreme = std::numeric_limits<int32_t>::max();
    std::memcpy(d.tensors[static_cast<std::size_t>(bias)].data.data(), &extreme, 4);
    const lk::Error e = refusal(d);
    CHECK(contains(e.what(), "past the int32 accumulator"));
  }
  SUBCASE("a requantisation multiplier that is not finite") {
    // An output scale so small that s_x * s_w / s_y overflows float.
    lk::ModelDescription d = base;
    for (const lk::Op& op : d.ops) {
      if (op.kind == lk::OpKind::transpose_conv2d) d.tensors[static_cast<std::size_t>(op.outputs[0])].quantization.scales = {1e-44f};
    }
    CHECK(contains(refusal(d).what(), "requantisation multiplier inf"));
  }
  SUBCASE("NaN reaching a quantize op decodes without undefined behaviour") {
    // A NaN bias of the float layer before the quantize op (stored as a half), and NaN latents.
    lk::ModelDescription d = base;
    for (lk::TensorDescription& t : d.tensors) {
      if (t.dtype == lk::DType::float16 && t.shape.size() == 1) {
        const uint16_t nan = 0x7e00;
        std::memcpy(t.data.data(), &nan, 2);
      }
    }
    const lk::Model model = load(d);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (lk::BackendKind kind : backends()) {
      CAPTURE(lk::to_string(kind));
      lk::Decoder decoder(model, kind);
      CHECK(decoder.decode({0.5f, 0.5f}, 1).size() == 12);
      CHECK(decoder.decode({nan, 1.0f}, 1).size() == 12);
    }
  }
}

TEST_CASE("class 7: int64 zero points at an offset that is 4- but not 8-byte aligned") {
  // FlatBuffers verifies vectors' 4-byte alignment only. Four bytes inserted after the header
  // move every object by 4 while all their relative offsets stay valid: the same model, with
  // each int64 vector now misaligned (UndefinedBehaviorSanitizer flagged the old direct reads).
  lk::ModelDescription d = int8_transpose_conv(2, 3);
  d.provenance.metrics.clear();  // a double field would be misaligned too, and the verifier checks those
  const std::vector<uint8_t> bytes = lk::serialize_model(d);
  std::vector<uint8_t> shifted(bytes.begin(), bytes.begin() + 8);
  uint32_t root;
  std::memcpy(&root, bytes.data(), 4);
  root += 4;
  std::memcpy(shifted.data(), &root, 4);
  shifted.insert(shifted.end(), 4, 0);
  shifted.insert(shifted.end(), bytes.begin() + 8, bytes.end());
  const lk::Model moved = lk::Model::load_bytes(shifted.data(), shifted.size());
  const lk::Model original = lk::Model::load_bytes(bytes.data(), bytes.size());
  REQUIRE(moved.decoder().tensors.size() == original.decoder().tensors.size());
  bool zero_points = false;
  for (std::size_t i = 0; i < moved.decoder().tensors.size(); ++i) {
    CHECK(moved.decoder().tensors[i].quantization.zero_points == original.decoder().tensors[i].quantization.zero_points);
    for (int64_t z : original.decoder().tensors[i].quantization.zero_points) zero_points = zero_points || z != 0;
  }
  CHECK(zero_points);  // the comparison above saw non-trivial values
  const std::vector<float> z{0.3f, -0.7f};
  CHECK(lk::Decoder(moved, lk::BackendKind::reference).decode(z, 1) ==
        lk::Decoder(original, lk::BackendKind::reference).decode(z, 1));
}

TEST_CASE("class 8: files that would take gigabytes or minutes are refused before allocating") {
  SUBCASE("huge paddings: a 1x1 input padded to a 16385 x 16385 activation") {
    DecoderBuilder b(2);
    b.fully_connected(2, identity(2));
    b.reshape({1, 1, 2});
    lk::Window window;
    window.pad_top = window.pad_bottom = window.pad_left = window.pad_right = 8192;
    b.conv2d(1, 1, 1, window, {1.0f, 1.0f});
    const lk::Error e = refusal(b.finish());
    // Beyond a configurable limit, not a corrupt file: the caller could raise the limit.
    CHECK(e.code() == lk::ErrorCode::unsupported_model);
    CHECK(contains(e.what(), "has more than 67108864 elements (ModelLimits::max_tensor_elements)"));
  }
  SUBCASE("4.3 billion multiply-adds per image in a 20 KB file") {
    DecoderBuilder b(2);
    b.fully_connected(2, identity(2));
    b.reshape({1, 1, 2});
    lk::Window window;
    window.pad_top = window.pad_left = 519;
    window.pad_bottom = window.pad_right = 519;
    b.conv2d(8, 16, 16, window, std::vector<float>(8 * 16 * 16 * 2, 0.01f));
    const lk::ModelDescription d = b.finish();
    CHECK(lk::serialize_model(d).size() < 20000);
    const lk::Error e = refusal(d);
    CHECK(e.code() == lk::ErrorCode::unsupported_model);
    CHECK(contains(e.what(), "method 'decode' needs 4294967302 multiply-adds per example (limit 2147483648)"));
  }
  SUBCASE("a batch beyond the memory limit, through C++ and the C API") {
    const std::vector<uint8_t> bytes = lk::serialize_model(lk::testing::seed000_decoder(1));
    const lk::Model model = lk::Model::load_bytes(bytes.data(), bytes.size());
    for (lk::BackendKind kind : backends()) {
      CAPTURE(lk::to_string(kind));
      const lk::MemoryPlan plan = lk::plan_memory(model, kind, 100000);
      CHECK(plan.total() > model.limits().max_memory_bytes);
      try {
        lk::make_backend(kind, model, 100000);
        FAIL("built");
      } catch (const lk::Error& e) {
        CHECK(e.code() == lk::ErrorCode::out_of_memory);
        CHECK(contains(e.what(), "at batch 100000 needs " + plan.describe()));
      }
    }
    // The C API runs a batch in chunks (BackendOptions::max_chunk), which need only the chunk's
    // backend: the batch is refused when that is beyond the limit too, with the batch's figures.
    latentkit_model* c_model = nullptr;
    REQUIRE(latentkit_load_memory(bytes.data(), bytes.size(), nullptr, &c_model) == LATENTKIT_OK);
    CHECK(latentkit_prepare(c_model, 100000) == LATENTKIT_OK);
    latentkit_free(c_model);
    latentkit_options options = latentkit_default_options();
    options.max_memory_bytes = 0;
    for (lk::BackendKind kind : backends()) {
      options.max_memory_bytes = std::max(options.max_memory_bytes, lk::plan_memory(model, kind, 2).total());
    }
    for (lk::BackendKind kind : backends()) {
      REQUIRE(lk::plan_memory(model, kind, lk::BackendOptions{}.max_chunk).total() > options.max_memory_bytes);
    }
    REQUIRE(latentkit_load_memory(bytes.data(), bytes.size(), &options, &c_model) == LATENTKIT_OK);
    CHECK(latentkit_prepare(c_model, 100000) == LATENTKIT_OUT_OF_MEMORY);
    CHECK(contains(latentkit_last_error(), "at batch 100000 needs"));
    CHECK(contains(latentkit_last_error(), "GiB"));
    latentkit_free(c_model);
  }
  SUBCASE("a model beyond a tighter limit is refused at load, saying how much it needs") {
    const lk::ModelDescription d = lk::testing::seed000_decoder(1);
    lk::ModelLimits limits;
    limits.max_memory_bytes = 256 * 1024;  // the file fits, its activations do not
    const lk::Error e = refusal(d, limits);
    CHECK(e.code() == lk::ErrorCode::out_of_memory);
    CHECK(contains(e.what(), "method 'decode' at batch 1 needs"));
    CHECK(contains(e.what(), "more than the limit of 256.0 KiB"));
    const std::vector<uint8_t> bytes = lk::serialize_model(d);
    latentkit_options options = latentkit_default_options();
    options.max_memory_bytes = 256 * 1024;
    latentkit_model* c_model = nullptr;
    CHECK(latentkit_load_memory(bytes.data(), bytes.size(), &options, &c_model) == LATENTKIT_OUT_OF_MEMORY);
    CHECK(c_model == nullptr);
    options.max_memory_bytes = 0;  // the default
    REQUIRE(latentkit_load_memory(bytes.data(), bytes.size(), &options, &c_model) == LATENTKIT_OK);
    latentkit_free(c_model);
  }
}

TEST_CASE("class 9: strings with control characters or invalid UTF-8 are refused without repeating them") {
  const std::string escape = "\x1b]0;owned\x07\x1b[2J\nline";
  auto check_refused = [&](lk::ModelDescription d, const std::string& where) {
    const std::string message = refusal(d).what();
    CHECK(contains(message, where));
    for (char c : message) {
      CHECK_MESSAGE(static_cast<unsigned char>(c) >= 0x20, "control byte in the message");
    }
  };
  lk::ModelDescription d = identity_decoder({{gaussian(2)}});
  SUBCASE("a tensor name") {
    d.tensors[1].name = escape;
    check_refused(d, "the name of tensor 1 has control character 27 at byte 0");
  }
  SUBCASE("a latent group name") {
    d.latent.groups[0].name = "z\n";
    check_refused(d, "the name of latent group 0 has control character 10 at byte 1");
  }
  SUBCASE("a provenance field, invalid UTF-8") {
    d.provenance.dataset = "mnist\xff";
    check_refused(d, "provenance dataset is not UTF-8");
  }
  SUBCASE("a C1 control character in UTF-8") {
    d.provenance.labels = {"\xc2\x9b" "31m"};
    check_refused(d, "provenance label 0 has an invalid or control code point");
  }
  SUBCASE("more strings than a model needs") {
    d.provenance.labels.assign(5000, "label");
    check_refused(d, "the provenance has 5000 labels (limit 4096)");
    d.provenance.labels.assign(4096, std::string(1024, 'x'));  // 4 MiB of labels and some names
    check_refused(d, "the file's strings add up to more than 4194304 bytes");
  }
  SUBCASE("UTF-8 text is kept") {
    d.tensors[1].name = "\xce\xb6-latent";  // zeta
    d.provenance.dataset = "MNIST \xe2\x80\x94 coloured";
    const lk::Model model = load(d);
    CHECK(model.decoder().tensors[1].name == "\xce\xb6-latent");
    CHECK(model.provenance().dataset == "MNIST \xe2\x80\x94 coloured");
  }
}

TEST_CASE("a categorical latent: sampling gives one-hot groups, grids and decoding see them") {
  const lk::Model model = load(identity_decoder({{categorical(10, 2, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})}}));
  REQUIRE(model.latent().dims() == 20);
  CHECK(model.latent().groups[0].labels[7] == "7");
  const std::vector<float> z = lk::sample_latents(model.latent(), 50, 11);
  REQUIRE(z.size() == 50 * 20);
  std::vector<int> seen(10, 0);
  for (int n = 0; n < 50; ++n) {
    for (int group = 0; group < 2; ++group) {
      int ones = 0;
      for (int k = 0; k < 10; ++k) {
        const float v = z[static_cast<std::size_t>(n * 20 + group * 10 + k)];
        CHECK((v == 0.0f || v == 1.0f));
        if (v == 1.0f) {
          ++ones;
          ++seen[static_cast<std::size_t>(k)];
        }
      }
      CHECK(ones == 1);
    }
  }
  for (int count : seen) CHECK(count > 0);  // 100 draws over 10 categories reach each one
  for (lk::BackendKind kind : backends()) {
    CAPTURE(lk::to_string(kind));
    // The identity decoder shows the latents as the image, exactly.
    CHECK(lk::Decoder(model, kind).decode(z, 50) == z);
  }
  // A grid needs two Gaussian dimensions first: refused with a message.
  try {
    lk::grid_latents(model.latent(), 2, 2, {-1, 1}, {-1, 1});
    FAIL("a grid was made");
  } catch (const lk::Error& e) {
    CHECK(contains(e.what(), "at least 2 Gaussian dimensions"));
  }
  // The C API writes exactly the latent size per sample.
  const std::vector<uint8_t> bytes = lk::serialize_model(identity_decoder({{categorical(10, 2)}}));
  latentkit_model* c_model = nullptr;
  REQUIRE(latentkit_load_memory(bytes.data(), bytes.size(), nullptr, &c_model) == LATENTKIT_OK);
  std::vector<float> latents(3 * 20), images(3 * 20);
  CHECK(latentkit_sample_decode(c_model, 3, 11, latents.data(), latents.size(), images.data(), images.size()) ==
        LATENTKIT_OK);
  CHECK(latents == std::vector<float>(z.begin(), z.begin() + 60));
  CHECK(images == latents);
  CHECK(latentkit_sample(c_model, 3, 11, latents.data(), latents.size() - 1) == LATENTKIT_INVALID_ARGUMENT);
  latentkit_free(c_model);
}

TEST_CASE("Gaussian and categorical groups mixed: sample, grid and decode") {
  const lk::Model model = load(identity_decoder({{gaussian(2), categorical(3, 1, {"red", "green", "blue"})}}));
  REQUIRE(model.latent().dims() == 5);
  const std::vector<float> z = lk::sample_latents(model.latent(), 40, 5);
  bool gaussian_values = false;
  for (int n = 0; n < 40; ++n) {
    const float* v = &z[static_cast<std::size_t>(n) * 5];
    gaussian_values = gaussian_values || (v[0] != 0.0f && v[0] != 1.0f);
    CHECK(v[2] + v[3] + v[4] == 1.0f);
    for (int k = 2; k < 5; ++k) CHECK((v[k] == 0.0f || v[k] == 1.0f));
  }
  CHECK(gaussian_values);
  // The grid sweeps the two Gaussian dimensions and keeps the colour on its first category.
  const std::vector<float> grid = lk::grid_latents(model.latent(), 2, 3, {-1, 1}, {-2, 2});
  REQUIRE(grid.size() == 2 * 3 * 5);
  const std::vector<float> top_left{-1, 2, 1, 0, 0}, bottom_right{1, -2, 1, 0, 0};
  CHECK(std::vector<float>(grid.begin(), grid.begin() + 5) == top_left);
  CHECK(std::vector<float>(grid.end() - 5, grid.end()) == bottom_right);
  for (lk::BackendKind kind : backends()) {
    CAPTURE(lk::to_string(kind));
    lk::Decoder decoder(model, kind);
    CHECK(decoder.decode(z, 40) == z);
    CHECK(decoder.decode(grid, 6) == grid);
  }
}

// Mixture priors (issue #23): not one of #16's classes, but the same kind of file, whose values
// sampling would otherwise read out of bounds or turn into NaN latents.
namespace {
// A Gaussian group of 2 dimensions with a two-component mixture prior, all of it valid.
lk::LatentGroup mixture_group() {
  lk::LatentGroup g = gaussian(2);
  g.mixture.weights = {0.25f, 0.75f};
  g.mixture.means = {-1, 1, 2, 0};
  g.mixture.variances = {0.5f, 1, 2, 0.25f};
  return g;
}
}  // namespace

TEST_CASE("a mixture prior that sampling cannot draw from is refused, naming the value") {
  lk::ModelDescription d = identity_decoder({{mixture_group()}});
  lk::GaussianMixture& m = d.latent.groups[0].mixture;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::string expected;
  SUBCASE("weights that do not sum to 1") {
    m.weights = {0.25f, 0.5f};
    expected = "latent group 0 'z''s mixture weights sum to 0.750000, not 1";
  }
  SUBCASE("a zero weight") {
    m.weights = {0, 1};
    expected = "latent group 0 'z''s mixture weight 0 is 0.000000 (must be finite and positive)";
  }
  SUBCASE("a negative variance") {
    m.variances[3] = -1;
    expected = "latent group 0 'z''s mixture variance 3 is -1.000000 (must be finite and positive)";
  }
  SUBCASE("a NaN variance") {
    m.variances[1] = nan;
    expected = "latent group 0 'z''s mixture variance 1 is nan (must be finite and positive)";
  }
  SUBCASE("an infinite mean") {
    m.means[2] = -inf;
    expected = "latent group 0 'z''s mixture mean 2 is -inf (must be finite)";
  }
  SUBCASE("means for another number of dimensions") {
    m.means.pop_back();
    expected = "latent group 0 'z''s mixture has 3 means for 2 components of 2 dimensions (needs 4)";
  }
  SUBCASE("variances for another number of components") {
    m.variances.insert(m.variances.end(), {1, 1});
    expected = "latent group 0 'z''s mixture has 6 variances for 2 components of 2 dimensions (needs 4)";
  }
  const lk::Error e = refusal(d);
  const std::string message = e.what();
  CAPTURE(message);
  CHECK(e.code() == lk::ErrorCode::malformed_model);
  CHECK(contains(message, expected));
}

TEST_CASE("a category prior that sampling cannot draw from is refused, naming the value") {
  lk::LatentGroup c = categorical(3, 2);
  c.category_weights = {0.5f, 0.5f, 0, 0.25f, 0.25f, 0.5f};
  lk::ModelDescription d = identity_decoder({{c}});
  CHECK_NOTHROW(lk::Model::load_bytes(lk::serialize_model(d).data(), lk::serialize_model(d).size()));
  std::vector<float>& w = d.latent.groups[0].category_weights;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::string expected;
  SUBCASE("one variable's weights do not sum to 1") {
    w[5] = 0.25f;
    expected = "latent group 0 'c''s category weights of variable 1 sum to 0.750000, not 1";
  }
  SUBCASE("a negative weight") {
    w[1] = -0.5f;
    expected = "latent group 0 'c''s category weight 1 is -0.500000 (must be finite and not negative)";
  }
  SUBCASE("a NaN weight") {
    w[4] = nan;
    expected = "latent group 0 'c''s category weight 4 is nan (must be finite and not negative)";
  }
  SUBCASE("weights for one variable of two") {
    w.resize(3);
    expected = "latent group 0 'c' has 3 category weights for 2 variable(s) of 3 categories (needs 6)";
  }
  SUBCASE("weights on a Gaussian group") {
    d = identity_decoder({{gaussian(6)}});
    d.latent.groups[0].category_weights = {1, 0, 0, 0, 0, 0};
    expected = "latent group 0 'z' is Gaussian but has category weights";
  }
  const lk::Error e = refusal(d);
  const std::string message = e.what();
  CAPTURE(message);
  CHECK(e.code() == lk::ErrorCode::malformed_model);
  CHECK(contains(message, expected));
}

TEST_CASE("a mixture with no components is refused") {
  // The writer leaves out a mixture without components, so the file is made by hand: the one
  // weight's vector (length 1, then 1.0f) gets length 0 and keeps the GAUSSIAN_MIXTURE kind.
  lk::LatentGroup g = gaussian(2);
  g.mixture.weights = {1};
  g.mixture.means = {0.5f, 0.5f};
  g.mixture.variances = {2, 2};
  std::vector<uint8_t> bytes = lk::serialize_model(identity_decoder({{g}}));
  const uint8_t one_weight[] = {1, 0, 0, 0, 0x00, 0x00, 0x80, 0x3f};
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i + sizeof one_weight <= bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, one_weight, sizeof one_weight) == 0) at.push_back(i);
  }
  REQUIRE(at.size() == 1);
  CHECK_NOTHROW(lk::Model::load_bytes(bytes.data(), bytes.size()));
  bytes[at[0]] = 0;
  try {
    lk::Model::load_bytes(bytes.data(), bytes.size());
    FAIL("the file was accepted");
  } catch (const lk::Error& e) {
    CHECK(contains(e.what(), "latent group 0 'z' is a Gaussian mixture with no components"));
  }
}

TEST_CASE("a mixture prior round-trips through the writer and the loader, and sampling uses it") {
  lk::ModelDescription d = identity_decoder({{mixture_group(), categorical(3, 1, {"a", "b", "c"})}});
  const lk::Model model = load(d);
  REQUIRE(model.latent().groups.size() == 2);
  const lk::GaussianMixture& m = model.latent().groups[0].mixture;
  CHECK(m.components() == 2);
  CHECK(m.weights == d.latent.groups[0].mixture.weights);
  CHECK(m.means == d.latent.groups[0].mixture.means);
  CHECK(m.variances == d.latent.groups[0].mixture.variances);
  CHECK(model.latent().groups[1].mixture.components() == 0);
  CHECK(lk::sample_latents(model.latent(), 10, 5) == lk::sample_latents(d.latent, 10, 5));
  // Without the mixture the same seed gives other latents: the file's prior is what is sampled.
  lk::LatentSpec plain = d.latent;
  plain.groups[0].mixture = {};
  CHECK(lk::sample_latents(model.latent(), 10, 5) != lk::sample_latents(plain, 10, 5));

  latentkit_model* c_model = nullptr;
  const std::vector<uint8_t> bytes = lk::serialize_model(d);
  REQUIRE(latentkit_load_memory(bytes.data(), bytes.size(), nullptr, &c_model) == LATENTKIT_OK);
  int components = -1;
  CHECK(latentkit_latent_group_components(c_model, 0, &components) == LATENTKIT_OK);
  CHECK(components == 2);
  CHECK(latentkit_latent_group_components(c_model, 1, &components) == LATENTKIT_OK);
  CHECK(components == 0);
  CHECK(latentkit_latent_group_components(c_model, 2, &components) == LATENTKIT_INVALID_ARGUMENT);
  latentkit_free(c_model);
}
