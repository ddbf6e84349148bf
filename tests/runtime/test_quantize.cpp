// Quantised model files: fp16 and int8 weights written by the exporter's helpers, widened at
// load, run the same on both backends, and refused when their quantisation is malformed.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "latentkit/decoder.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"
#include "latentkit/quantize.h"
#include "runtime/random_model.h"

namespace lk = latentkit;
using lk::testing::seed000_decoder;

namespace {

lk::Model load(const lk::ModelDescription& d) {
  const auto bytes = lk::serialize_model(d);
  return lk::Model::load_bytes(bytes.data(), bytes.size());
}

std::string refusal(const lk::ModelDescription& d) {
  try {
    load(d);
  } catch (const lk::Error& e) {
    CHECK(e.code() != lk::ErrorCode::io);
    return e.what();
  }
  FAIL("the file was accepted");
  return "";
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

// Index of the first transposed convolution's weights.
int tconv_weights(const lk::ModelDescription& d) {
  for (const lk::Op& op : d.ops) {
    if (op.kind == lk::OpKind::transpose_conv2d) return op.inputs[1];
  }
  FAIL("no transposed convolution");
  return -1;
}

}  // namespace

TEST_CASE("half precision: every half survives the round trip, rounding is to nearest even") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = lk::half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    REQUIRE(lk::float_to_half(f) == h);
  }
  CHECK(lk::half_to_float(0x3C00) == 1.0f);
  CHECK(lk::half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(lk::float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie: to even
  CHECK(lk::float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie: to even (up)
  CHECK(lk::float_to_half(65519.0f) == 0x7BFF);                          // largest finite
  CHECK(lk::float_to_half(65520.0f) == 0x7C00);                          // overflows to infinity
  CHECK(lk::float_to_half(std::ldexp(1.0f, -25)) == 0);                  // tie below the subnormals
  CHECK(std::isnan(lk::half_to_float(lk::float_to_half(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("int8 weights get one scale per output channel, transposed convolutions included") {
  // A transposed convolution whose output channels span six orders of magnitude: with a scale per
  // tensor, or per channel along the wrong axis, the small channels would round to zero.
  lk::testing::DecoderBuilder builder(2);
  std::mt19937_64 rng(5);
  builder.fully_connected(3 * 3 * 4, lk::testing::random_weights(rng, 36 * 2, 2));
  builder.reshape({3, 3, 4});
  const int out_channels = 6, k = 3;
  std::vector<float> weights = lk::testing::random_weights(rng, out_channels * k * k * 4, 4 * k * k);
  for (int o = 0; o < out_channels; ++o) {
    for (int i = 0; i < k * k * 4; ++i) weights[o * k * k * 4 + i] *= std::pow(10.0f, static_cast<float>(o - 3));
  }
  lk::Window window;
  window.stride_h = window.stride_w = 2;
  window.pad_top = window.pad_left = window.pad_bottom = window.pad_right = 1;
  window.adjustment_h = window.adjustment_w = 1;
  builder.transpose_conv2d(out_channels, k, k, window, weights);
  lk::ModelDescription d = builder.finish();
  const int w = tconv_weights(d);

  lk::quantize_weights(d, lk::QuantMode::int8_weights);
  REQUIRE(d.tensors[w].dtype == lk::DType::int8);
  REQUIRE(d.tensors[w].quantization.axis == 0);
  REQUIRE(d.tensors[w].quantization.scales.size() == out_channels);

  const lk::Model model = load(d);
  const lk::Tensor& t = model.decoder().tensors[w];
  const int per_channel = k * k * 4;
  for (int o = 0; o < out_channels; ++o) {
    CAPTURE(o);
    float max_abs = 0;
    for (int i = 0; i < per_channel; ++i) max_abs = std::max(max_abs, std::fabs(weights[o * per_channel + i]));
    const float scale = t.quantization.scales[o];
    // max |w| / 127, rounded up to the next half: 2^-10 apart, or 2^-24 among subnormal ones.
    CHECK(scale >= max_abs / 127);
    CHECK(scale <= std::max(max_abs / 127 * (1 + 1.0f / 1024), max_abs / 127 + std::ldexp(1.0f, -24)));
    for (int i = 0; i < per_channel; ++i) {
      // Rounding to the nearest step: at most half a step of this channel's own scale.
      REQUIRE(std::fabs(t.f32()[o * per_channel + i] - weights[o * per_channel + i]) <= 0.5f * scale * (1 + 1e-5f));
    }
  }
}

TEST_CASE("every weight format round-trips through the file and runs the same on both backends") {
  const lk::ModelDescription fp32 = seed000_decoder(21);
  const lk::Model reference = load(fp32);
  const std::vector<float> z = lk::sample_latents(reference.latent(), 16, 3);
  const std::vector<float> expected = lk::Decoder(reference, lk::BackendKind::reference).decode(z, 16);
  const struct {
    lk::QuantMode format;
    lk::DType dtype, bias_dtype;
    double tolerance;  // against the float32 images, for these random weights
  } cases[] = {{lk::QuantMode::fp32, lk::DType::float32, lk::DType::float32, 0},
               {lk::QuantMode::fp16, lk::DType::float16, lk::DType::float16, 1e-2},
               {lk::QuantMode::int8_weights, lk::DType::int8, lk::DType::float16, 1e-1}};
  for (const auto& c : cases) {
    CAPTURE(lk::to_string(c.format));
    lk::ModelDescription d = fp32;
    lk::quantize_weights(d, c.format);
    const lk::Model model = load(d);
    CHECK(model.decoder().tensors[d.ops[0].inputs[1]].dtype == c.dtype);
    CHECK(model.decoder().tensors[d.ops[0].inputs[2]].dtype == c.bias_dtype);
    const auto images = lk::Decoder(model, lk::BackendKind::reference).decode(z, 16);
    CHECK(max_abs_diff(images, expected) <= c.tolerance);
    if (lk::backend_available(lk::BackendKind::xnnpack)) {
      CHECK(max_abs_diff(lk::Decoder(model, lk::BackendKind::xnnpack).decode(z, 16), images) <= 1e-5);
    }
  }
  CHECK(lk::parse_quant_mode("int8-weights") == lk::QuantMode::int8_weights);
  CHECK_THROWS_AS(lk::parse_quant_mode("int4"), lk::Error);
}

// Scales a writer cannot store as halves (each moved off the half grid by 2^-20 of itself).
void off_the_half_grid(lk::Quantization& q) {
  for (float& s : q.scales) s *= 1 + 1.0f / (1 << 20);
}

TEST_CASE("weight scales that are exact halves take two bytes each in the file") {
  lk::ModelDescription halves = seed000_decoder(20);
  lk::quantize_weights(halves, lk::QuantMode::int8_weights);
  lk::ModelDescription floats = halves;
  std::size_t scales = 0;
  for (lk::TensorDescription& t : floats.tensors) {
    off_the_half_grid(t.quantization);
    scales += t.quantization.scales.size();
  }
  REQUIRE(scales == 1568 + 64 + 32 + 1);
  const auto half_bytes = lk::serialize_model(halves), float_bytes = lk::serialize_model(floats);
  CHECK(float_bytes.size() >= half_bytes.size() + 2 * scales - 4 * 16);  // less some alignment padding
  for (const auto* d : {&halves, &floats}) {
    const lk::Model model = load(*d);
    for (std::size_t i = 0; i < d->tensors.size(); ++i) {
      CHECK(model.decoder().tensors[i].quantization.scales == d->tensors[i].quantization.scales);
    }
  }
}

TEST_CASE("malformed quantisation is refused with a message") {
  lk::ModelDescription base = seed000_decoder(22);
  lk::quantize_weights(base, lk::QuantMode::int8_weights);
  const int w = tconv_weights(base);
  // Every check, with the scales stored as halves (as the exporter writes them) and as floats.
  bool as_floats = false;
  auto with = [&](auto change) {
    lk::ModelDescription d = base;
    if (as_floats) off_the_half_grid(d.tensors[w].quantization);
    change(d.tensors[w].quantization, d.tensors[w]);
    return refusal(d);
  };
  for (bool floats : {false, true}) {
    as_floats = floats;
    CAPTURE(as_floats);
    using Q = lk::Quantization;
    using T = lk::TensorDescription;
    CHECK(with([](Q& q, T&) { q.scales[3] = 0; }).find("scale 0.000000 at 3; scales must be finite and positive") !=
          std::string::npos);
    CHECK(with([](Q& q, T&) { q.scales[0] = -0.5f; }).find("scale -0.500000 at 0") != std::string::npos);
    CHECK(with([](Q& q, T&) { q.scales[1] = std::nanf(""); }).find("must be finite and positive") != std::string::npos);
    CHECK(with([](Q& q, T&) { q.scales[1] = std::numeric_limits<float>::infinity(); })
              .find("must be finite and positive") != std::string::npos);
    CHECK(with([](Q& q, T&) { q.scales.pop_back(); }).find("along axis 0 of size 64 but has 63 scales") !=
          std::string::npos);
    CHECK(with([](Q& q, T&) { q.axis = 4; }).find("quantization axis 4 but rank 4") != std::string::npos);
    CHECK(with([](Q& q, T&) { q.axis = -1; }).find("per tensor (axis -1) but has 64 scales") != std::string::npos);
    CHECK(with([](Q& q, T&) { q.zero_points.assign(64, 300); }).find("zero point 300 outside int8") != std::string::npos);
    CHECK(with([](Q& q, T&) { q.zero_points.assign(2, 0); }).find("2 zero points for 64 scales") != std::string::npos);
    CHECK(with([](Q& q, T&) { q.scales.clear(); }).find("is int8 but has no quantization scales") != std::string::npos);
  }

  lk::ModelDescription half = seed000_decoder(22);
  lk::quantize_weights(half, lk::QuantMode::fp16);
  half.tensors[w].quantization.scales = {1.0f};
  CHECK(refusal(half).find("is float16 but has quantization parameters") != std::string::npos);

  lk::ModelDescription activation = seed000_decoder(22);
  activation.tensors[activation.ops[0].outputs[0]].dtype = lk::DType::float16;
  CHECK(refusal(activation).find("activations are float32, int8 or int32 (indices)") != std::string::npos);
}

TEST_CASE("calibration observes the ranges a model's activations take") {
  // Two latents through an identity layer (it reads the latent, so it stays float in int8 form),
  // then known weights: dense = [2 z0 + 1, -3 z1], then relu.
  lk::testing::DecoderBuilder builder(2);
  builder.fully_connected(2, {1, 0, 0, 1}, {0, 0});
  builder.fully_connected(2, {2, 0, 0, -3}, {1, 0});
  builder.activation(lk::OpKind::relu);
  builder.reshape({1, 1, 2});
  const lk::ModelDescription d = builder.finish();
  const lk::Model model = load(d);
  const std::vector<float> latents = {-1, 1, 0.5f, -2};  // dense: (-1, -3) and (2, 6)
  const auto ranges = lk::observe_ranges(model, latents);
  REQUIRE(ranges.size() == d.tensors.size());
  const int identity = d.ops[0].outputs[0], dense = d.ops[1].outputs[0], relu = d.ops[2].outputs[0];
  CHECK(ranges[dense].min == -3.0f);
  CHECK(ranges[dense].max == 6.0f);
  CHECK(ranges[relu].min == 0.0f);
  CHECK(ranges[relu].max == 6.0f);
  CHECK(ranges[d.inputs[0]].min == -2.0f);
  CHECK(ranges[d.inputs[0]].max == 1.0f);
  CHECK(ranges[identity].min == -2.0f);

  // The dense layer feeds only a relu: its int8 grid covers [0, 6], zero at -128.
  lk::ModelDescription q = d;
  lk::quantize_model(q, ranges);
  CHECK(q.tensors[identity].dtype == lk::DType::float32);
  CHECK(q.tensors[q.ops[0].inputs[1]].dtype == lk::DType::int8);
  CHECK(q.tensors[dense].dtype == lk::DType::int8);
  CHECK(q.tensors[dense].quantization.scales[0] == doctest::Approx(6.0f / 255));
  CHECK(q.tensors[dense].quantization.zero_points[0] == -128);
  CHECK(q.tensors[relu].quantization.scales == q.tensors[dense].quantization.scales);
  const lk::Model quantised = load(q);
  CHECK(quantised.decoder().tensors[quantised.decoder().outputs[0]].dtype == lk::DType::float32);
  const auto images = lk::Decoder(quantised, lk::BackendKind::reference).decode(latents, 2);
  // relu(dense) = (0, 0) and (2, 6): off by at most half an output step (6/255) plus the input's
  // rounding (half of 3/255) times the largest weight (3).
  const std::vector<float> expected = {0, 0, 2, 6};
  CHECK(max_abs_diff(images, expected) <= 0.5 * 6.0 / 255 + 3 * 0.5 * 3.0 / 255 + 1e-6);
}

TEST_CASE("activation_quantization covers the range and zero") {
  const lk::Quantization a = lk::activation_quantization({-1.0f, 3.0f});
  CHECK(a.scales[0] == doctest::Approx(4.0f / 255));
  CHECK(a.zero_points[0] == -64);  // -128 + 1 / (4 / 255) = -64.25 -> -64
  const lk::Quantization b = lk::activation_quantization({2.0f, 5.0f});  // widened to [0, 5]
  CHECK(b.zero_points[0] == -128);
  const lk::Quantization zero = lk::activation_quantization({0.0f, 0.0f});
  CHECK(zero.scales[0] > 0);
}

TEST_CASE("an int8 model runs with integer arithmetic close to the float model") {
  const lk::ModelDescription fp32 = seed000_decoder(23);
  const lk::Model reference = load(fp32);
  // (100 calibration samples: the float reference kernels are the slow part under qemu)
  const std::vector<float> calibration = lk::sample_latents(reference.latent(), 100, 1);
  lk::ModelDescription d = fp32;
  lk::quantize_model(d, lk::observe_ranges(reference, calibration));
  const lk::Model model = load(d);
  // fc (float, int8 weights, half bias), relu, reshape, quantize, 3 x (tconv [+ relu]),
  // dequantize, sigmoid
  const lk::Graph& g = model.decoder();
  REQUIRE(g.ops.front().kind == lk::OpKind::fully_connected);
  CHECK(g.tensors[g.ops.front().inputs[0]].dtype == lk::DType::float32);
  CHECK(g.tensors[g.ops.front().inputs[1]].dtype == lk::DType::int8);
  CHECK(g.tensors[g.ops.front().inputs[2]].dtype == lk::DType::float16);
  CHECK(g.ops[3].kind == lk::OpKind::quantize);
  CHECK(g.ops.back().kind == lk::OpKind::sigmoid);
  int integer_ops = 0;
  for (const lk::Op& op : g.ops) {
    if (op.kind == lk::OpKind::transpose_conv2d) {
      CHECK(g.tensors[op.inputs[0]].dtype == lk::DType::int8);
      CHECK(g.tensors[op.inputs[2]].dtype == lk::DType::int32);
      ++integer_ops;
    }
  }
  CHECK(integer_ops == 3);
  const std::vector<float> z = lk::sample_latents(reference.latent(), 20, 9);
  const auto expected = lk::Decoder(reference, lk::BackendKind::reference).decode(z, 20);
  const auto images = lk::Decoder(model, lk::BackendKind::reference).decode(z, 20);
  CHECK(max_abs_diff(images, expected) <= 0.05);

  SUBCASE("with a float output layer: the last transposed convolution reads float, int8 weights, half bias") {
    lk::ModelDescription wide = fp32;
    lk::Int8Options options;
    options.float_output_layer = true;
    lk::quantize_model(wide, lk::observe_ranges(reference, calibration), options);
    const lk::Model wide_model = load(wide);
    const lk::Graph& w = wide_model.decoder();
    std::vector<const lk::Op*> tconvs;
    for (const lk::Op& op : w.ops) {
      if (op.kind == lk::OpKind::transpose_conv2d) tconvs.push_back(&op);
    }
    REQUIRE(tconvs.size() == 3);
    CHECK(w.tensors[tconvs[1]->inputs[0]].dtype == lk::DType::int8);
    CHECK(w.tensors[tconvs[2]->inputs[0]].dtype == lk::DType::float32);
    CHECK(w.tensors[tconvs[2]->inputs[1]].dtype == lk::DType::int8);
    CHECK(w.tensors[tconvs[2]->inputs[2]].dtype == lk::DType::float16);
    CHECK(w.tensors[tconvs[2]->outputs[0]].dtype == lk::DType::float32);
    CHECK(w.ops.back().kind == lk::OpKind::sigmoid);
    // Closer to the float model than all-int8 on these images.
    const auto wide_images = lk::Decoder(wide_model, lk::BackendKind::reference).decode(z, 20);
    CHECK(max_abs_diff(wide_images, expected) < max_abs_diff(images, expected));
    if (lk::backend_available(lk::BackendKind::xnnpack)) {
      const auto fast = lk::Decoder(wide_model, lk::BackendKind::xnnpack).decode(z, 20);
      CHECK(max_abs_diff(fast, wide_images) <= 1e-4);
    }
  }
}

TEST_CASE("int8 ops with inconsistent scales are refused") {
  const lk::ModelDescription fp32 = seed000_decoder(24);
  const lk::Model reference = load(fp32);
  lk::ModelDescription base = fp32;
  lk::quantize_model(base, lk::observe_ranges(reference, lk::sample_latents(reference.latent(), 50, 1)));
  int fc = -1;  // the first integer op
  for (std::size_t i = 0; i < base.ops.size() && fc < 0; ++i) {
    if (base.ops[i].kind == lk::OpKind::transpose_conv2d) fc = static_cast<int>(i);
  }
  REQUIRE(fc >= 0);
  // The int32 bias's scales are implied; a file may state them only as they are.
  const lk::TensorDescription& x = base.tensors[base.ops[fc].inputs[0]];
  const lk::TensorDescription& weights = base.tensors[base.ops[fc].inputs[1]];
  lk::ModelDescription bias = base;
  lk::Quantization& stated = bias.tensors[bias.ops[fc].inputs[2]].quantization;
  REQUIRE(stated.scales.empty());
  stated.axis = 0;
  for (float s : weights.quantization.scales) stated.scales.push_back(x.quantization.scales[0] * s);
  CHECK_NOTHROW(load(bias));
  stated.scales[5] *= 2;
  CHECK(refusal(bias).find("channel 5 has scale") != std::string::npos);

  lk::ModelDescription relu = base;
  for (const lk::Op& op : relu.ops) {
    if (op.kind == lk::OpKind::relu && relu.tensors[op.inputs[0]].dtype == lk::DType::int8) {
      relu.tensors[op.outputs[0]].quantization.zero_points[0] += 1;
      break;
    }
  }
  CHECK(refusal(relu).find("must share their scale and zero point") != std::string::npos);

  lk::ModelDescription float_weights = base;
  lk::TensorDescription& w = float_weights.tensors[float_weights.ops[fc].inputs[1]];
  w.dtype = lk::DType::float16;
  w.data.resize(w.data.size() * 2);
  w.quantization = {};
  CHECK(refusal(float_weights).find("must be int8, quantised per output channel") != std::string::npos);
}

TEST_CASE("int8 on XNNPACK equals the reference backend's integer arithmetic within one step") {
  if (!lk::backend_available(lk::BackendKind::xnnpack)) return;
  int compared = 0;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    CAPTURE(seed);
    const lk::ModelDescription fp32 = seed == 0 ? seed000_decoder(31) : lk::testing::random_model(seed);
    const lk::Model reference = load(fp32);
    lk::ModelDescription d = fp32;
    lk::quantize_model(d, lk::observe_ranges(reference, lk::sample_latents(reference.latent(), 64, seed)));
    const lk::Model model = load(d);
    // One step of the last int8 tensor, the input of the last dequantize.
    float step = 0;
    for (const lk::Op& op : model.decoder().ops) {
      if (op.kind == lk::OpKind::dequantize) step = model.decoder().tensors[op.inputs[0]].quantization.scales[0];
    }
    REQUIRE(step > 0);
    std::string why;
    if (lk::choose_backend(model, lk::BackendKind::xnnpack, &why) != lk::BackendKind::xnnpack) {
      MESSAGE("XNNPACK declines seed " << seed << ": " << why);
      continue;
    }
    const std::vector<float> z = lk::sample_latents(model.latent(), 7, seed + 100);
    const auto expected = lk::Decoder(model, lk::BackendKind::reference).decode(z, 7);
    const auto actual = lk::Decoder(model, lk::BackendKind::xnnpack).decode(z, 7);
    CHECK(max_abs_diff(actual, expected) <= step);
    ++compared;
  }
  CHECK(compared == 12);  // every one runs natively on XNNPACK
}
