// The reference backend against hand-computed results, and the XNNPACK backend against the
// reference on random decoders, the seed-000 decoder shape, batch 1 and odd batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/error.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "runtime/random_model.h"

namespace lk = latentkit;
using lk::testing::DecoderBuilder;

namespace {

// Weights are scaled to keep activations O(1); this bounds XNNPACK's float rounding (and its
// sigmoid approximation) against the double-accumulating reference.
constexpr float kTolerance = 1e-5f;

lk::Model load(const lk::ModelDescription& description) {
  const std::vector<uint8_t> bytes = lk::serialize_model(description);
  return lk::Model::load_bytes(bytes.data(), bytes.size());
}

std::vector<float> random_latents(uint64_t seed, std::size_t count) {
  std::mt19937_64 rng(seed);
  std::vector<float> latents(count);
  for (float& z : latents) z = static_cast<float>(lk::testing::uniform(rng, -2.0, 2.0));
  return latents;
}

std::size_t image_size(const lk::Model& model) {
  return static_cast<std::size_t>(model.image().pixels());
}

std::vector<float> decode(lk::Backend& backend, const lk::Model& model,
                          const std::vector<float>& latents) {
  std::vector<float> images(image_size(model) * static_cast<std::size_t>(backend.batch()));
  backend.run(latents.data(), images.data());
  return images;
}

float max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;  // NaN propagates as the worst difference
  }
  return worst;
}

std::vector<lk::BackendKind> available_backends() {
  std::vector<lk::BackendKind> kinds{lk::BackendKind::reference};
  if (lk::backend_available(lk::BackendKind::xnnpack)) kinds.push_back(lk::BackendKind::xnnpack);
  return kinds;
}

// Runs a 1-example model on every backend and compares with values known exactly.
void check_exact(const lk::ModelDescription& description, const std::vector<float>& latents,
                 const std::vector<float>& expected) {
  const lk::Model model = load(description);
  for (lk::BackendKind kind : available_backends()) {
    INFO("backend: " << std::string(lk::to_string(kind)));
    const auto backend = lk::make_backend(kind, model, 1);
    const std::vector<float> image = decode(*backend, model, latents);
    REQUIRE(image.size() == expected.size());
    for (std::size_t i = 0; i < image.size(); ++i) {
      INFO("value " << i);
      CHECK(image[i] == doctest::Approx(expected[i]).epsilon(1e-6));
    }
  }
}

// Compares XNNPACK with the reference at the given batch sizes.
void check_agreement(const lk::ModelDescription& description, uint64_t latent_seed,
                     const std::vector<int>& batches, const lk::BackendOptions& options = {}) {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;  // a reference-only build
  INFO("model:\n" << lk::testing::describe(description));
  const lk::Model model = load(description);
  for (int batch : batches) {
    INFO("batch " << batch << ", threads " << options.threads);
    const std::vector<float> latents = random_latents(
        latent_seed + static_cast<uint64_t>(batch),
        static_cast<std::size_t>(model.latent().dims()) * static_cast<std::size_t>(batch));
    const auto reference = lk::make_reference_backend(model, model.method("decode"), batch);
    const auto xnnpack = lk::make_xnnpack_backend(model, model.method("decode"), batch, options);
    const std::vector<float> expected = decode(*reference, model, latents);
    const std::vector<float> actual = decode(*xnnpack, model, latents);
    for (float v : expected) REQUIRE(std::isfinite(v));
    CHECK(max_abs_difference(expected, actual) <= kTolerance);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The reference (and XNNPACK) against results computed by hand.

TEST_CASE("fully connected with bias, then reshape: hand-computed") {
  // y = W x + b with x = [1, 2], W = [[1, 2], [3, 4], [-1, 0.5]], b = [0.5, 0, -1].
  DecoderBuilder b(2);
  b.fully_connected(3, {1, 2, 3, 4, -1, 0.5f}, {0.5f, 0, -1});
  b.reshape({1, 1, 3});
  check_exact(b.finish(), {1, 2}, {5.5f, 11, -1});
}

TEST_CASE("fully connected without bias: hand-computed") {
  DecoderBuilder b(3);
  b.fully_connected(2, {1, 0, -1, 0.25f, 0.5f, 1});
  b.reshape({2, 1, 1});
  check_exact(b.finish(), {4, 8, 2}, {2, 7});
}

namespace {

// latents 1..9 as a 3x3 one-channel image; kernel 2x2 [[1, 10], [100, 1000]], so that each
// output's digits say which inputs reached it through which tap.
lk::ModelDescription conv_3x3(const lk::Window& window, const std::vector<float>& bias = {}) {
  DecoderBuilder b(9);
  b.reshape({3, 3, 1});
  b.conv2d(1, 2, 2, window, {1, 10, 100, 1000}, bias);
  return b.finish();
}

const std::vector<float> kOneToNine{1, 2, 3, 4, 5, 6, 7, 8, 9};

}  // namespace

TEST_CASE("conv2d: hand-computed windows") {
  SUBCASE("stride 1, no padding") {
    // out[0][0] = 1*1 + 2*10 + 4*100 + 5*1000 and so on.
    check_exact(conv_3x3({}), kOneToNine, {5421, 6532, 8754, 9865});
  }
  SUBCASE("bias") {
    check_exact(conv_3x3({}, {0.5f}), kOneToNine, {5421.5f, 6532.5f, 8754.5f, 9865.5f});
  }
  SUBCASE("dilation 2") {
    lk::Window w;
    w.dilation_h = w.dilation_w = 2;
    // The four corners: 1*1 + 3*10 + 7*100 + 9*1000.
    check_exact(conv_3x3(w), kOneToNine, {9731});
  }
  SUBCASE("stride 2, asymmetric padding (top 1, right 1)") {
    lk::Window w;
    w.stride_h = w.stride_w = 2;
    w.pad_top = 1;
    w.pad_right = 1;
    // Padded rows -1..2, columns 0..3. out[0][0] = 1*100 + 2*1000; out[0][1] = 3*100;
    // out[1][0] = 4*1 + 5*10 + 7*100 + 8*1000; out[1][1] = 6*1 + 9*100.
    check_exact(conv_3x3(w), kOneToNine, {2100, 300, 8754, 906});
  }
  SUBCASE("stride 3 rows, 1 column, padding bottom 1") {
    lk::Window w;
    w.stride_h = 3;
    w.pad_bottom = 1;
    // (3 + 1 - 2) / 3 + 1 = 1 row, from rows 0 and 1; 2 columns, as with stride 1.
    check_exact(conv_3x3(w), kOneToNine, {5421, 6532});
  }
}

TEST_CASE("conv2d: channels are OHWI") {
  // A 1x1 convolution mixes channels: y[co] = sum over ci of W[co][0][0][ci] x[ci] + b[co].
  DecoderBuilder b(2);
  b.reshape({1, 1, 2});
  b.conv2d(3, 1, 1, {}, {1, 2, 3, 4, -1, 0}, {0.5f, -0.5f, 0});
  check_exact(b.finish(), {1, 10}, {21.5f, 42.5f, -1});
}

namespace {

// latents 1..4 as a 2x2 one-channel image; kernel 2x2 [[1, 10], [100, 1000]].
lk::ModelDescription transpose_conv_2x2(const lk::Window& window,
                                        const std::vector<float>& bias = {}) {
  DecoderBuilder b(4);
  b.reshape({2, 2, 1});
  b.transpose_conv2d(1, 2, 2, window, {1, 10, 100, 1000}, bias);
  return b.finish();
}

const std::vector<float> kOneToFour{1, 2, 3, 4};

}  // namespace

TEST_CASE("transpose_conv2d: hand-computed windows") {
  SUBCASE("stride 1: overlapping taps add up") {
    // Input (y, x) scatters x[y][x] * k[ky][kx] into (y + ky, x + kx).
    check_exact(transpose_conv_2x2({}), kOneToFour,
                {1, 12, 20, 103, 1234, 2040, 300, 3400, 4000});
  }
  SUBCASE("stride 1, asymmetric padding (top 1, right 1) crops") {
    lk::Window w;
    w.pad_top = 1;
    w.pad_right = 1;
    check_exact(transpose_conv_2x2(w), kOneToFour, {103, 1234, 300, 3400});
  }
  SUBCASE("stride 1, padding 1 all round leaves the centre") {
    lk::Window w;
    w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = 1;
    check_exact(transpose_conv_2x2(w), kOneToFour, {1234});
  }
  SUBCASE("stride 2: taps do not overlap; adjustment 1 adds a row and a column of bias") {
    lk::Window w;
    w.stride_h = w.stride_w = 2;
    w.adjustment_h = w.adjustment_w = 1;
    const float b = 0.5f;
    // 5x5: out[2y + ky][2x + kx] = x[y][x] * k[ky][kx] + b; row 4 and column 4 are b alone.
    check_exact(transpose_conv_2x2(w, {b}), kOneToFour,
                {1 + b,   10 + b,   2 + b,   20 + b,   b,  //
                 100 + b, 1000 + b, 200 + b, 2000 + b, b,  //
                 3 + b,   30 + b,   4 + b,   40 + b,   b,  //
                 300 + b, 3000 + b, 400 + b, 4000 + b, b,  //
                 b,       b,        b,       b,        b});
  }
  SUBCASE("stride 3 rows, 2 columns, padding top 1, adjustment 2 rows") {
    lk::Window w;
    w.stride_h = 3;
    w.stride_w = 2;
    w.pad_top = 1;
    w.adjustment_h = 2;
    // Rows: 3*(2-1) + 2 - 1 + 2 = 6; columns: 2*(2-1) + 2 = 4. Uncropped row r = 3y + ky,
    // shown row r - 1: rows 0: ky=1 of y=0; 1: nothing (r=2); 2: ky=0 of y=1; 3: ky=1 of y=1;
    // 4, 5: adjustment (zero, no bias).
    check_exact(transpose_conv_2x2(w), kOneToFour,
                {100, 1000, 200, 2000,  //
                 0,   0,    0,   0,     //
                 3,   30,   4,   40,    //
                 300, 3000, 400, 4000,  //
                 0,   0,    0,   0,     //
                 0,   0,    0,   0});
  }
}

TEST_CASE("transpose_conv2d: channels are OHWI") {
  // A 1x1 transposed convolution is the same channel mix as a 1x1 convolution.
  DecoderBuilder b(2);
  b.reshape({1, 1, 2});
  b.transpose_conv2d(3, 1, 1, {}, {1, 2, 3, 4, -1, 0}, {0.5f, -0.5f, 0});
  check_exact(b.finish(), {1, 10}, {21.5f, 42.5f, -1});
}

TEST_CASE("activations: hand-computed") {
  const std::vector<float> x{-3, -0.5f, 0, 0.25f, 2};
  const auto model = [&](lk::OpKind kind) {
    DecoderBuilder b(5);
    b.reshape({1, 5, 1});
    b.activation(kind);
    return b.finish();
  };
  SUBCASE("relu") { check_exact(model(lk::OpKind::relu), x, {0, 0, 0, 0.25f, 2}); }
  SUBCASE("sigmoid") {
    // 1 / (1 + e^-x), to 9 digits.
    check_exact(model(lk::OpKind::sigmoid), x,
                {0.0474258732f, 0.377540669f, 0.5f, 0.562176501f, 0.880797078f});
  }
  SUBCASE("tanh") {
    check_exact(model(lk::OpKind::tanh), x,
                {-0.995054754f, -0.462117157f, 0.0f, 0.244918662f, 0.964027580f});
  }
}

// ---------------------------------------------------------------------------------------------
// XNNPACK against the reference.

TEST_CASE("random decoders: xnnpack agrees with the reference at batch 1 and 3") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    INFO("seed " << seed);
    check_agreement(lk::testing::random_model(seed), 1000 + seed, {1, 3});
  }
}

TEST_CASE("random decoders: xnnpack with 2 threads agrees with the reference") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  lk::BackendOptions options;
  options.threads = 2;
  for (uint64_t seed = 17; seed <= 20; ++seed) {
    INFO("seed " << seed);
    check_agreement(lk::testing::random_model(seed), 2000 + seed, {5}, options);
  }
}

TEST_CASE("xnnpack: transposed convolutions with an output smaller than the stride") {
  // Debian's XNNPACK writes out of bounds when a subconvolution starts past the end of the
  // output (see xnnpack_backend.cpp); the backend works around it. Height 1 from stride 3,
  // width 1 from stride 3, and both, with padding so that the slices start at every offset.
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  std::mt19937_64 rng(99);
  struct Case {
    int h, w, kh, kw, sh, sw, pt, pl, pb, pr, ah, aw;
  };
  const Case cases[] = {
      {1, 5, 3, 4, 3, 2, 1, 3, 2, 1, 1, 1},  // the random model that found it: 1 x 9 output
      {1, 1, 3, 3, 3, 3, 1, 1, 1, 1, 0, 0},  // 1 x 1 output
      {2, 3, 4, 3, 3, 3, 3, 1, 3, 1, 2, 0},  // 3 x 7: no slice starts past the end (control)
      {1, 2, 5, 4, 4, 4, 2, 2, 2, 2, 0, 1},  // 1 x 5 from stride 4
  };
  for (const Case& c : cases) {
    INFO("input " << c.h << "x" << c.w << " kernel " << c.kh << "x" << c.kw << " stride "
                  << c.sh << "x" << c.sw);
    DecoderBuilder b(c.h * c.w * 2);
    b.reshape({c.h, c.w, 2});
    lk::Window win;
    win.stride_h = c.sh;
    win.stride_w = c.sw;
    win.pad_top = c.pt;
    win.pad_left = c.pl;
    win.pad_bottom = c.pb;
    win.pad_right = c.pr;
    win.adjustment_h = c.ah;
    win.adjustment_w = c.aw;
    b.transpose_conv2d(3, c.kh, c.kw, win, lk::testing::random_weights(rng, 3 * c.kh * c.kw * 2, 2),
                       {0.25f, -0.5f, 1});
    b.activation(lk::OpKind::tanh);
    check_agreement(b.finish(), 4000, {1, 3});
  }
}

TEST_CASE("random int8 decoders: xnnpack agrees with the reference within one step") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    INFO("seed " << seed);
    const lk::ModelDescription description = lk::testing::random_int8_model(seed);
    INFO("model:\n" << lk::testing::describe(description));
    const lk::Model model = load(description);
    // One step of the last int8 tensor, the input of the last dequantize.
    float step = 0;
    for (const lk::Op& op : model.decoder().ops) {
      if (op.kind == lk::OpKind::dequantize) step = model.decoder().tensors[op.inputs[0]].quantization.scales[0];
    }
    REQUIRE(step > 0);
    for (int batch : {1, 3}) {
      INFO("batch " << batch);
      const std::vector<float> latents = random_latents(
          5000 + seed + static_cast<uint64_t>(batch),
          static_cast<std::size_t>(model.latent().dims()) * static_cast<std::size_t>(batch));
      const auto reference = lk::make_reference_backend(model, model.method("decode"), batch);
      const auto xnnpack = lk::make_xnnpack_backend(model, model.method("decode"), batch, {});
      const std::vector<float> expected = decode(*reference, model, latents);
      for (float v : expected) REQUIRE(std::isfinite(v));
      CHECK(max_abs_difference(expected, decode(*xnnpack, model, latents)) <= step * (1 + 1e-6f));
    }
  }
}

TEST_CASE("random decoders cover every op kind and the odd window parameters") {
  // The op kinds come from the runtime (all_op_kinds), not from this test: a new op that the
  // random decoders do not use fails here, so it is compared on both backends by the tests
  // above (float models at seeds 1..16, their int8 forms at the same seeds).
  REQUIRE(!lk::all_op_kinds().empty());
  const std::set<lk::OpKind> every(lk::all_op_kinds().begin(), lk::all_op_kinds().end());
  REQUIRE(every.size() == lk::all_op_kinds().size());  // listed once each
  std::set<lk::OpKind> kinds;
  bool stride_3 = false, dilation_2 = false, adjustment_1 = false, asymmetric_padding = false;
  bool non_square_kernel = false, with_bias = false, without_bias = false;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const lk::ModelDescription d = lk::testing::random_model(seed);
    std::set<lk::OpKind> model_kinds;
    for (const lk::Op& op : d.ops) {
      model_kinds.insert(op.kind);
      if (op.kind != lk::OpKind::conv2d && op.kind != lk::OpKind::transpose_conv2d) continue;
      const lk::Window& w = op.window;
      const auto& k = d.tensors[static_cast<std::size_t>(op.inputs[1])].shape;
      stride_3 |= w.stride_h == 3 || w.stride_w == 3;
      dilation_2 |= w.dilation_h == 2 || w.dilation_w == 2;
      adjustment_1 |= w.adjustment_h > 0 || w.adjustment_w > 0;
      asymmetric_padding |= w.pad_top != w.pad_bottom || w.pad_left != w.pad_right;
      non_square_kernel |= k[1] != k[2];
      const bool bias = op.inputs.size() == 3 && op.inputs[2] != -1;
      with_bias |= bias;
      without_bias |= !bias;
    }
    for (const lk::Op& op : lk::testing::random_int8_model(seed).ops) model_kinds.insert(op.kind);
    INFO("seed " << seed);
    for (lk::OpKind kind : lk::all_op_kinds()) {
      INFO("op " << lk::to_string(kind));
      CHECK(model_kinds.count(kind) == 1);  // every seed's float and int8 models use every op kind
    }
    kinds.insert(model_kinds.begin(), model_kinds.end());
  }
  CHECK(kinds == every);
  CHECK(stride_3);
  CHECK(dilation_2);
  CHECK(adjustment_1);
  CHECK(asymmetric_padding);
  CHECK(non_square_kernel);
  CHECK(with_bias);
  CHECK(without_bias);
}

TEST_CASE("the seed-000 decoder: xnnpack agrees with the reference") {
  const lk::ModelDescription description = lk::testing::seed000_decoder(7);
  const lk::Model model = load(description);
  CHECK(model.image().height == 28);
  CHECK(model.image().width == 28);
  CHECK(model.image().channels == 1);
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  check_agreement(description, 3000, {1, 3});
}

// ---------------------------------------------------------------------------------------------
// The backend contract.

TEST_CASE("backends give the same result for repeated runs") {
  const lk::Model model = load(lk::testing::random_model(42));
  const std::size_t dims = static_cast<std::size_t>(model.latent().dims());
  const std::vector<float> first = random_latents(1, 3 * dims);
  const std::vector<float> other = random_latents(2, 3 * dims);
  for (lk::BackendKind kind : available_backends()) {
    INFO("backend: " << std::string(lk::to_string(kind)));
    const auto backend = lk::make_backend(kind, model, 3);
    CHECK(backend->kind() == kind);
    CHECK(backend->batch() == 3);
    const std::vector<float> a = decode(*backend, model, first);
    const std::vector<float> b = decode(*backend, model, other);  // no state carried over
    const std::vector<float> c = decode(*backend, model, first);
    CHECK(a == c);
    CHECK(a != b);
  }
}

TEST_CASE("each example of a batch is decoded independently") {
  const lk::Model model = load(lk::testing::random_model(43));
  const std::size_t dims = static_cast<std::size_t>(model.latent().dims());
  const std::size_t pixels = image_size(model);
  const std::vector<float> latents = random_latents(3, 3 * dims);
  for (lk::BackendKind kind : available_backends()) {
    INFO("backend: " << std::string(lk::to_string(kind)));
    const auto batched = lk::make_backend(kind, model, 3);
    const auto single = lk::make_backend(kind, model, 1);
    const std::vector<float> all = decode(*batched, model, latents);
    for (std::size_t n = 0; n < 3; ++n) {
      INFO("example " << n);
      const std::vector<float> one = decode(
          *single, model, std::vector<float>(latents.begin() + n * dims, latents.begin() + (n + 1) * dims));
      const std::vector<float> slice(all.begin() + n * pixels, all.begin() + (n + 1) * pixels);
      CHECK(max_abs_difference(one, slice) <= kTolerance);
    }
  }
}

TEST_CASE("a batch size below 1 is refused") {
  const lk::Model model = load(lk::testing::random_model(44));
  for (int batch : {0, -1, -1000}) {
    INFO("batch " << batch);
    CHECK_THROWS_AS(lk::make_reference_backend(model, model.method("decode"), batch), lk::Error);
    if (lk::backend_available(lk::BackendKind::xnnpack)) {
      CHECK_THROWS_AS(lk::make_xnnpack_backend(model, model.method("decode"), batch, {}), lk::Error);
    }
    for (lk::BackendKind kind : available_backends()) {
      try {
        lk::make_backend(kind, model, batch);
        FAIL("batch " << batch << " was accepted");
      } catch (const lk::Error& e) {
        CHECK(e.code() == lk::ErrorCode::invalid_argument);
      }
    }
  }
}

TEST_CASE("backends outlive the model they were built from") {
  std::unique_ptr<lk::Backend> reference, xnnpack;
  std::size_t dims = 0, pixels = 0;
  std::vector<float> expected;
  {
    const lk::Model model = load(lk::testing::random_model(45));
    dims = static_cast<std::size_t>(model.latent().dims());
    pixels = image_size(model);
    reference = lk::make_reference_backend(model, model.method("decode"), 1);
    if (lk::backend_available(lk::BackendKind::xnnpack)) {
      xnnpack = lk::make_xnnpack_backend(model, model.method("decode"), 1, {});
    }
  }
  const std::vector<float> latents = random_latents(4, dims);
  std::vector<float> a(pixels), b(pixels);
  reference->run(latents.data(), a.data());
  for (float v : a) CHECK(std::isfinite(v));
  if (xnnpack) {
    xnnpack->run(latents.data(), b.data());
    CHECK(max_abs_difference(a, b) <= kTolerance);
  }
}
