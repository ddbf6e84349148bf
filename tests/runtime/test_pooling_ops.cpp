// max_pool2d, max_unpool2d and upsample_nearest2d: hand-computed results on both backends
// (PyTorch's index convention on a small example, the tie that one XNNPACK argmax pooling would
// break the other way), what XNNPACK declines and how choose_backend reports it, indices out of
// range at run time, the loader's refusals, and the writer's round trip of their options.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/calibration.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "runtime/random_model.h"

namespace lk = latentkit;
using lk::testing::DecoderBuilder;

namespace {

lk::Model load(const lk::ModelDescription& d) {
  const std::vector<uint8_t> bytes = lk::serialize_model(d);
  return lk::Model::load_bytes(bytes.data(), bytes.size());
}

lk::Error refusal(const lk::ModelDescription& d) {
  try {
    load(d);
  } catch (const lk::Error& e) {
    return e;
  }
  FAIL("the file was accepted");
  return lk::Error(lk::ErrorCode::io, "");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<float> run(lk::BackendKind kind, const lk::Model& model, const std::vector<float>& latents) {
  const auto backend = lk::make_backend(kind, model, 1);
  std::vector<float> image(static_cast<std::size_t>(model.image().pixels()));
  backend->run(latents.data(), image.data());
  return image;
}

// On every backend built, value for value (these ops compute no new values: exact).
void check_exact(const lk::ModelDescription& d, const std::vector<float>& latents, const std::vector<float>& expected) {
  const lk::Model model = load(d);
  std::vector<lk::BackendKind> kinds{lk::BackendKind::reference};
  if (lk::backend_available(lk::BackendKind::xnnpack)) kinds.push_back(lk::BackendKind::xnnpack);
  for (lk::BackendKind kind : kinds) {
    INFO("backend: " << std::string(lk::to_string(kind)));
    CHECK(run(kind, model, latents) == expected);
  }
}

// The XNNPACK backend declines the model as unsupported, with a reason containing `why`, and
// choose_backend falls back to the reference backend saying so.
void check_declined(const lk::Model& model, const std::string& why) {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  try {
    lk::make_xnnpack_backend(model, model.method("decode"), 1, {});
    FAIL("xnnpack built the method");
  } catch (const lk::Error& e) {
    CHECK(e.code() == lk::ErrorCode::unsupported_model);
    CHECK_MESSAGE(contains(e.what(), why), e.what());
  }
  std::string reason;
  CHECK(lk::choose_backend(model, lk::BackendKind::xnnpack, &reason) == lk::BackendKind::reference);
  CHECK(contains(reason, why));
}

// The 4x4 one-channel example: four 2x2 windows; the bottom-right one holds 5 twice, at (2, 3)
// and (3, 2): PyTorch takes (2, 3), the first in row-major order; one XNNPACK argmax pooling
// (column-major windows) would take (3, 2).
const std::vector<float> kPlane{1, 2, 5, 3,  //
                                4, 0, 6, 1,  //
                                7, 8, 1, 5,  //
                                3, 9, 5, 1};

// latents -> [4, 4, 1] -> max_pool2d 2x2 stride 2 with indices -> max_unpool2d to [height, width].
lk::ModelDescription pool_unpool(int height, int width, bool relu_between = false) {
  DecoderBuilder b(16);
  b.reshape({4, 4, 1});
  lk::Window s;
  s.stride_h = s.stride_w = 2;
  const int indices = b.max_pool2d(2, 2, s, true);
  if (relu_between) b.activation(lk::OpKind::relu);
  b.max_unpool2d(indices, height, width);
  return b.finish();
}

lk::ModelDescription pool(int h, int w, int c, int kh, int kw, const lk::Window& s) {
  DecoderBuilder b(h * w * c);
  b.reshape({h, w, c});
  b.max_pool2d(kh, kw, s, false);
  return b.finish();
}

}  // namespace

TEST_CASE("max_pool2d with indices then max_unpool2d: PyTorch's plane indices, hand-computed") {
  // Windows: max 4 at (1, 0) -> index 1 * 4 + 0 = 4; 6 at (1, 2) -> 6; 9 at (3, 1) -> 13;
  // 5 at (2, 3) -> 11 (the first of the tie in row-major order). Unpooling puts each value at its
  // index, zeros elsewhere; XNNPACK's two argmax poolings must agree exactly.
  const std::vector<float> expected{0, 0, 0, 0,  //
                                    4, 0, 6, 0,  //
                                    0, 0, 0, 5,  //
                                    0, 9, 0, 0};
  check_exact(pool_unpool(4, 4), kPlane, expected);
  check_exact(pool_unpool(4, 4, true), kPlane, expected);
}

TEST_CASE("max_pool2d indices count positions in each channel's plane, not across channels") {
  // Two channels of a 2x2 image, one window: channel 0 holds 1, 3, 2, 0 (maximum at (0, 1),
  // index 1), channel 1 holds 5, 4, 7, 6 (maximum at (1, 0), index 2). HWC latents.
  DecoderBuilder b(8);
  b.reshape({2, 2, 2});
  lk::Window s;
  s.stride_h = s.stride_w = 2;
  const int indices = b.max_pool2d(2, 2, s, true);
  b.max_unpool2d(indices, 2, 2);
  check_exact(b.finish(), {1, 5, 3, 4, 2, 7, 0, 6}, {0, 0, 3, 0, 0, 7, 0, 0});
}

TEST_CASE("max_unpool2d places by plane index, whatever its output's width") {
  // The same indices (4, 6, 13, 11) in a 2 x 8 plane: row i / 8, column i % 8. XNNPACK places by
  // window, so it declines this model and the reference backend computes it.
  const lk::Model model = load(pool_unpool(2, 8));
  CHECK(run(lk::BackendKind::reference, model, kPlane) ==
        std::vector<float>{0, 0, 0, 0, 4, 0, 6, 0,  //
                           0, 0, 0, 5, 0, 9, 0, 0});
  check_declined(model, "not the plane its indices count in");
}

TEST_CASE("max_unpool2d: indices outside its output write nothing") {
  // A 2 x 2 output: of the indices 4, 6, 13 and 11 none is inside; the reference kernel checks
  // each index and writes nothing (under AddressSanitizer in the asan suite). A 3 x 3 output
  // keeps index 4 and 6: (1, 1) and (2, 0).
  const lk::Model small = load(pool_unpool(2, 2));
  CHECK(run(lk::BackendKind::reference, small, kPlane) == std::vector<float>{0, 0, 0, 0});
  const lk::Model nine = load(pool_unpool(3, 3));
  CHECK(run(lk::BackendKind::reference, nine, kPlane) == std::vector<float>{0, 0, 0, 0, 4, 0, 6, 0, 0});
  check_declined(small, "not the plane its indices count in");
}

TEST_CASE("max_pool2d and max_unpool2d: sizes the kernel does not divide") {
  // 5 x 5 in, 2 x 3 windows: 2 x 1 maxima; row 4 and columns 3, 4 belong to no window and
  // unpool to zeros (XNNPACK pads them).
  std::vector<float> x(25);
  for (int i = 0; i < 25; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>((i * 7) % 25);
  DecoderBuilder b(25);
  b.reshape({5, 5, 1});
  lk::Window s;
  s.stride_h = 2;
  s.stride_w = 3;
  const int indices = b.max_pool2d(2, 3, s, true);
  b.max_unpool2d(indices, 5, 5);
  // Rows 0-1, columns 0-2: 0, 7, 14 and 10, 17, 24 -> 24 at (1, 2), index 7.
  // Rows 2-3: 20, 2, 9 and 5, 12, 19 -> 20 at (2, 0), index 10.
  std::vector<float> expected(25, 0.0f);
  expected[7] = 24;
  expected[10] = 20;
  check_exact(b.finish(), x, expected);
}

TEST_CASE("max_pool2d without indices: hand-computed windows, padding is minus infinity") {
  const std::vector<float> one_to_nine{1, 2, 3, 4, 5, 6, 7, 8, 9};
  SUBCASE("2x2, stride 1: windows overlap") { check_exact(pool(3, 3, 1, 2, 2, {}), one_to_nine, {5, 6, 8, 9}); }
  SUBCASE("2x2, stride 2, padding 1 all round") {
    lk::Window s;
    s.stride_h = s.stride_w = 2;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
    // Rows -1..0 and 1..2, columns likewise.
    check_exact(pool(3, 3, 1, 2, 2, s), one_to_nine, {1, 3, 7, 9});
    // All negative: a zero padding would win; minus infinity does not.
    check_exact(pool(3, 3, 1, 2, 2, s), {-1, -2, -3, -4, -5, -6, -7, -8, -9}, {-1, -2, -4, -5});
  }
  SUBCASE("3x1 kernel, stride 1x2, padding top 1, two channels") {
    lk::Window s;
    s.stride_w = 2;
    s.pad_top = 1;
    // Channel c of pixel (y, x) is 10 * y + x + 100 * c (HWC); rows -1..1, 0..2 (oh 2), columns 0, 2.
    std::vector<float> x;
    for (int y = 0; y < 3; ++y) {
      for (int col = 0; col < 3; ++col) {
        for (int c = 0; c < 2; ++c) x.push_back(static_cast<float>(10 * y + col + 100 * c));
      }
    }
    check_exact(pool(3, 3, 2, 3, 1, s), x, {10, 110, 12, 112, 20, 120, 22, 122});
  }
}

TEST_CASE("max_pool2d on the reference backend: a NaN wins, the last NaN of a window (PyTorch)") {
  DecoderBuilder b(4);
  b.reshape({1, 4, 1});
  lk::Window s;
  s.stride_w = 4;
  const int indices = b.max_pool2d(1, 4, s, true);
  b.max_unpool2d(indices, 1, 4);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> image = run(lk::BackendKind::reference, load(b.finish()), {nan, 3, nan, 1});
  CHECK(image[0] == 0);
  CHECK(image[1] == 0);
  CHECK(std::isnan(image[2]));
  CHECK(image[3] == 0);
}

TEST_CASE("upsample_nearest2d: hand-computed") {
  DecoderBuilder b(4);
  b.reshape({2, 2, 1});
  b.upsample_nearest2d(2, 3);
  check_exact(b.finish(), {1, 2, 3, 4},
              {1, 1, 1, 2, 2, 2,  //
               1, 1, 1, 2, 2, 2,  //
               3, 3, 3, 4, 4, 4,  //
               3, 3, 3, 4, 4, 4});
  DecoderBuilder c(4);
  c.reshape({1, 2, 2});  // channels stay together
  c.upsample_nearest2d(1, 2);
  check_exact(c.finish(), {1, -2, 3, -4}, {1, -2, 1, -2, 3, -4, 3, -4});
}

TEST_CASE("xnnpack declines max pooling it cannot compute exactly, and says why") {
  SUBCASE("indices with overlapping windows (stride below the kernel)") {
    DecoderBuilder b(16);
    b.reshape({4, 4, 1});
    const int indices = b.max_pool2d(2, 2, {}, true);
    b.max_unpool2d(indices, 4, 4);
    const lk::Model model = load(b.finish());
    check_declined(model, "argmax pooling, whose stride is its kernel");
    // The reference computes it: windows overlap, later writes of the same position agree.
    const std::vector<float> image = run(lk::BackendKind::reference, model, kPlane);
    CHECK(image == std::vector<float>{0, 0, 0, 0, 4, 0, 6, 0, 0, 8, 0, 5, 0, 9, 0, 0});
  }
  SUBCASE("a 1x1 window") {
    lk::Window s;
    s.stride_h = s.stride_w = 2;
    const lk::Model model = load(pool(3, 3, 1, 1, 1, s));
    check_declined(model, "1x1");
    CHECK(run(lk::BackendKind::reference, model, {1, 2, 3, 4, 5, 6, 7, 8, 9}) == std::vector<float>{1, 3, 7, 9});
  }
}

TEST_CASE("int8: max pooling and upsampling keep the encoding, pooling with indices runs on the reference") {
  // latents -> fc -> [3, 4, 2] -> conv 1x1 (int8 in the quantised file) -> pool with indices ->
  // unpool (float only: dequantised first) -> upsample.
  std::mt19937_64 rng(5);
  DecoderBuilder b(3);
  b.fully_connected(24, lk::testing::random_weights(rng, 72, 3));
  b.reshape({3, 4, 2});
  b.conv2d(2, 1, 1, {}, lk::testing::random_weights(rng, 4, 2));
  lk::Window s;
  s.stride_h = s.stride_w = 2;
  const int indices = b.max_pool2d(2, 2, s, true);
  b.max_unpool2d(indices, 3, 4);
  b.upsample_nearest2d(2, 1);
  lk::ModelDescription d = b.finish();
  const lk::Model float_model = load(d);
  lk::quantize_model(d, lk::observe_ranges(float_model, lk::sample_latents(float_model.latent(), 50, 5)));
  const lk::Model int8_model = load(d);
  bool int8_pool = false;
  for (const lk::Op& op : int8_model.decoder().ops) {
    if (op.kind == lk::OpKind::max_pool2d) int8_pool = int8_model.decoder().tensors[op.inputs[0]].dtype == lk::DType::int8;
  }
  CHECK(int8_pool);
  check_declined(int8_model, "float32 only");
  // Not compared with the float model value for value: int8 can make two values of a window
  // equal, and the tie then goes to another position.
  const std::vector<float> quantised = run(lk::BackendKind::reference, int8_model, {0.5f, -1, 2});
  int nonzero = 0;
  for (float v : quantised) {
    CHECK(std::isfinite(v));
    nonzero += v != 0;
  }
  CHECK(nonzero >= 1);
  // One maximum per window and channel (1 x 2 windows x 2 channels), each upsampled to 2 rows.
  CHECK(nonzero <= 8);
}

TEST_CASE("the writer and the loader keep the new ops' options") {
  const lk::ModelDescription d = lk::testing::random_model(3);
  const lk::Model model = load(d);
  const lk::Graph& g = model.decoder();
  REQUIRE(g.ops.size() == d.ops.size());
  int seen = 0;
  for (std::size_t i = 0; i < g.ops.size(); ++i) {
    CAPTURE(i);
    const lk::Op& a = g.ops[i];
    const lk::Op& e = d.ops[i];
    CHECK(a.kind == e.kind);
    CHECK(a.outputs.size() == e.outputs.size());
    if (a.kind == lk::OpKind::max_pool2d) {
      ++seen;
      CHECK(a.kernel_h == e.kernel_h);
      CHECK(a.kernel_w == e.kernel_w);
      CHECK(a.window.stride_h == e.window.stride_h);
      CHECK(a.window.stride_w == e.window.stride_w);
      CHECK(a.window.pad_top == e.window.pad_top);
      CHECK(a.window.pad_left == e.window.pad_left);
      CHECK(a.window.pad_bottom == e.window.pad_bottom);
      CHECK(a.window.pad_right == e.window.pad_right);
      CHECK(contains(lk::describe_options(a), "kernel " + std::to_string(e.kernel_h) + "x" + std::to_string(e.kernel_w)));
    }
    if (a.kind == lk::OpKind::max_unpool2d) {
      ++seen;
      CHECK(a.height == e.height);
      CHECK(a.width == e.width);
    }
    if (a.kind == lk::OpKind::upsample_nearest2d) {
      ++seen;
      CHECK(a.scale_h == e.scale_h);
      CHECK(a.scale_w == e.scale_w);
      CHECK(lk::describe_options(a) == "scale " + std::to_string(e.scale_h) + "x" + std::to_string(e.scale_w));
    }
  }
  CHECK(seen >= 4);  // two poolings, an unpooling, an upsampling
}

// ---------------------------------------------------------------------------------------------
// Refusals: each names the op and the problem.

namespace {

std::size_t first(const lk::ModelDescription& d, lk::OpKind kind) {
  for (std::size_t i = 0; i < d.ops.size(); ++i) {
    if (d.ops[i].kind == kind) return i;
  }
  FAIL("no such op");
  return 0;
}

}  // namespace

TEST_CASE("max_pool2d: bad options and shapes are refused by name") {
  const lk::ModelDescription good = pool_unpool(4, 4);
  const std::size_t p = first(good, lk::OpKind::max_pool2d);
  lk::ModelDescription d = good;
  d.ops[p].kernel_h = 0;
  CHECK(contains(refusal(d).what(), "(max_pool2d) has kernel 0x2"));
  d = good;
  d.ops[p].window.stride_w = 0;
  CHECK(contains(refusal(d).what(), "has stride 0"));
  d = good;
  d.ops[p].window.pad_left = -1;
  CHECK(contains(refusal(d).what(), "has padding -1"));
  d = good;  // a window of padding alone: padding 2 before a 2-wide window
  d.ops[p].window.pad_top = 2;
  d.tensors[static_cast<std::size_t>(d.ops[p].outputs[0])].shape = {3, 2, 1};
  CHECK(contains(refusal(d).what(), "covers padding only"));
  d = good;  // a kernel larger than the input
  d.ops[p].kernel_w = 5;
  CHECK(contains(refusal(d).what(), "empty output"));
  d = good;
  d.tensors[static_cast<std::size_t>(d.ops[p].outputs[0])].shape = {2, 3, 1};
  CHECK(contains(refusal(d).what(), "(max_pool2d): output"));
  d = good;
  d.tensors[static_cast<std::size_t>(d.ops[p].outputs[1])].dtype = lk::DType::float32;
  CHECK(contains(refusal(d).what(), "must be int32, not float32"));
  d = good;
  d.tensors[static_cast<std::size_t>(d.ops[p].outputs[1])].shape = {2, 2, 2};
  CHECK(contains(refusal(d).what(), "(max_pool2d): indices"));
  d = good;  // one tensor as both outputs
  d.ops[p].outputs[1] = d.ops[p].outputs[0];
  CHECK(contains(refusal(d).what(), "already written"));
  d = good;  // three outputs
  d.ops[p].outputs.push_back(d.ops[p].outputs[1]);
  CHECK(contains(refusal(d).what(), "outputs (expected 1 to 2)"));
}

TEST_CASE("max_unpool2d and indices: bad inputs are refused by name") {
  const lk::ModelDescription good = pool_unpool(4, 4);
  const std::size_t p = first(good, lk::OpKind::max_pool2d), u = first(good, lk::OpKind::max_unpool2d);
  const int indices = good.ops[p].outputs[1];
  lk::ModelDescription d = good;
  d.ops[u].height = 0;
  CHECK(contains(refusal(d).what(), "(max_unpool2d) has output size 0x4"));
  d = good;
  d.ops[u].width = 5;
  CHECK(contains(refusal(d).what(), "(max_unpool2d): output"));
  d = good;  // indices that are the values: float32
  d.ops[u].inputs[1] = d.ops[u].inputs[0];
  CHECK(contains(refusal(d).what(), "must be int32 (a max_pool2d's second output), not float32"));
  d = good;
  d.ops[u].inputs.pop_back();
  CHECK(contains(refusal(d).what(), "has 1 inputs (expected 2)"));
  d = good;  // indices read by a relu
  lk::Op relu;
  relu.kind = lk::OpKind::relu;
  relu.inputs = {indices};
  relu.outputs = {d.add_activation("relu_of_indices", {2, 2, 1})};
  d.ops.insert(d.ops.begin() + static_cast<std::ptrdiff_t>(u), relu);
  CHECK(contains(refusal(d).what(), "only max_unpool2d reads indices"));
  d = good;  // indices as the method's output
  d.outputs = {indices};
  d.image = {2, 2, 1, lk::ValueRange::unit};
  CHECK(contains(refusal(d).what(), "must be float32"));
  DecoderBuilder b(16);  // indices nothing reads
  b.reshape({4, 4, 1});
  lk::Window s;
  s.stride_h = s.stride_w = 2;
  b.max_pool2d(2, 2, s, true);
  CHECK(contains(refusal(b.finish()).what(), "_indices', which no operator reads"));
  d = good;  // int32 indices with quantization parameters
  d.tensors[static_cast<std::size_t>(indices)].quantization.scales = {1.0f};
  d.tensors[static_cast<std::size_t>(indices)].quantization.zero_points = {0};
  CHECK(contains(refusal(d).what(), "int32 activation (indices) with quantization"));
}

TEST_CASE("upsample_nearest2d: bad options and shapes are refused by name") {
  DecoderBuilder b(4);
  b.reshape({2, 2, 1});
  b.upsample_nearest2d(2, 2);
  const lk::ModelDescription good = b.finish();
  const std::size_t u = first(good, lk::OpKind::upsample_nearest2d);
  lk::ModelDescription d = good;
  d.ops[u].scale_w = 0;
  CHECK(contains(refusal(d).what(), "(upsample_nearest2d) has scale 2x0"));
  d = good;
  d.ops[u].scale_h = 70000;
  CHECK(contains(refusal(d).what(), "(upsample_nearest2d) has scale 70000x2"));
  d = good;
  d.ops[u].scale_h = 3;
  CHECK(contains(refusal(d).what(), "(upsample_nearest2d): output"));
  d = good;  // an upsampling of a vector
  d.ops[u].inputs[0] = d.inputs[0];
  CHECK(contains(refusal(d).what(), "expected [height, width, channels]"));
}
