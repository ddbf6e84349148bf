#include "latentkit/trainer/export_autoencoder.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "latentkit/latents.h"
#include "latentkit/quantize.h"
#include "latentkit/trainer/conv_autoencoder.h"
#include "latentkit/trainer/export_checks.h"
#include "latentkit/trainer/layout.h"

namespace latentkit::trainer {

namespace {

// libtorch's images ([N, 1, H, W] = HWC for one channel) as the runtime's floats.
torch::Tensor as_images(const std::vector<float>& values, int64_t side) {
  return torch::from_blob(const_cast<float*>(values.data()), {static_cast<int64_t>(values.size()) / (side * side), 1, side, side},
                          torch::kFloat32);
}

// The candidate check images of a model without decode: kStrokeImages of `side` x `side`, each a few
// random thick line segments on a black background (digit-like: exact zeros around strokes in
// [0, 1]), from a fixed seed.
constexpr int kStrokeImages = 125;

std::vector<float> stroke_images(int count, int64_t side) {
  std::mt19937 rng(2026);
  std::uniform_real_distribution<float> position(4.0f, static_cast<float>(side) - 4.0f), width(0.8f, 1.6f);
  std::vector<float> pixels(static_cast<std::size_t>(count * side * side), 0.0f);
  for (int n = 0; n < count; ++n) {
    float* image = pixels.data() + static_cast<std::size_t>(n * side * side);
    for (int stroke = 0; stroke < 3; ++stroke) {
      const float x0 = position(rng), y0 = position(rng), x1 = position(rng), y1 = position(rng), w = width(rng);
      const float dx = x1 - x0, dy = y1 - y0, length2 = std::max(dx * dx + dy * dy, 1e-6f);
      for (int64_t y = 0; y < side; ++y) {
        for (int64_t x = 0; x < side; ++x) {
          // The distance from the pixel to the segment.
          const float t = std::clamp(((x - x0) * dx + (y - y0) * dy) / length2, 0.0f, 1.0f);
          const float ex = x - (x0 + t * dx), ey = y - (y0 + t * dy);
          const float v = std::exp(-(ex * ex + ey * ey) / (2 * w * w));
          float& p = image[y * side + x];
          if (v > 0.05f) p = std::max(p, v);
        }
      }
    }
  }
  return pixels;
}

}  // namespace

ModelDescription describe_mlp_autoencoder(MlpAutoencoderImpl& model, const char* family, const RunInfo& info) {
  ModelDescription d;
  const int64_t side = model.image_size(), pixels = model.shape().image_pixels, code_size = model.shape().code;
  std::vector<Op> encode_ops, decode_ops;
  const int image_in = d.add_activation("x", {side, side, 1});
  const int flat = d.add_activation("x_flat", {pixels});
  encode_ops.push_back(make_op(OpKind::reshape, {image_in}, flat));
  const int code = add_dense_stack(d, encode_ops, model.encoder, "encoder", flat, model.shape().relu_code, "code");
  const bool sigmoid = model.shape().sigmoid_output;
  const int out_flat = add_dense_stack(d, decode_ops, model.decoder, "decoder", code, false, sigmoid ? "logits" : "image_flat");
  const int shaped = d.add_activation(sigmoid ? "logits_image" : "image", {side, side, 1});
  decode_ops.push_back(make_op(OpKind::reshape, {out_flat}, shaped));
  int image_out = shaped;
  if (sigmoid) {
    image_out = d.add_activation("image", {side, side, 1});
    decode_ops.push_back(make_op(OpKind::sigmoid, {shaped}, image_out));
  }

  MethodDescription decode{methods::decode, decode_ops, {code}, {image_out}, {Role::latent}, {Role::image}};
  MethodDescription encode{methods::encode, encode_ops, {image_in}, {code}, {Role::image}, {Role::latent}};
  MethodDescription reconstruct{methods::reconstruct, encode_ops, {image_in}, {image_out}, {Role::image}, {Role::image}};
  reconstruct.ops.insert(reconstruct.ops.end(), decode_ops.begin(), decode_ops.end());
  d.methods = {std::move(decode), std::move(encode), std::move(reconstruct)};

  d.latent.groups.push_back({LatentKind::gaussian, "code", static_cast<int>(code_size), 1, {}, {}, {}});
  d.image = {static_cast<int>(side), static_cast<int>(side), 1, ValueRange::unit};
  fill_provenance(d.provenance, family, info);
  d.provenance.quantization = to_string(QuantMode::fp32);
  return d;
}

ExportReport export_autoencoder(AutoencoderNet& model, const char* family, const RunInfo& info,
                                const std::vector<Metric>& metrics, const std::string& output_path,
                                const ExportOptions& options) {
  const QuantMode format = options.format;
  if (format == QuantMode::int8) {
    throw std::invalid_argument(std::string("--quant int8 (integer activations) is not available for the ") + family +
                                " family yet (its activation calibration is the CVAE's alone); use int8-weights or "
                                "fp16; nothing was written");
  }
  model.eval();
  torch::NoGradGuard no_grad;
  ModelDescription description;
  if (auto* dense = dynamic_cast<MlpAutoencoderImpl*>(&model)) {
    description = describe_mlp_autoencoder(*dense, family, info);
  } else {
    description = describe_conv_autoencoder(dynamic_cast<ConvAutoencoderImpl&>(model), family, info);
  }
  description.provenance.metrics = metrics;
  attach_prior(description.latent, options);
  std::vector<uint8_t> bytes = serialize_model(description);
  const Model file = Model::load_bytes(bytes.data(), bytes.size());

  ExportReport report;
  report.format = format;
  report.fp32_file_bytes = bytes.size();
  std::vector<float> check_images;
  int count = 0;
  if (model.decodes_free_codes()) {
    // The check inputs: codes (the 5 x 5 grid of the first two, and N(0, I) samples), the libtorch
    // decoder's images of them, and those images' codes: no dataset needed.
    const LatentSpec& spec = file.latent();
    std::vector<float> codes;
    if (spec.dims() >= 2) codes = grid_latents(spec, 5, 5, default_grid_range(), default_grid_range());
    const std::vector<float> samples = sample_latents(spec, 100, 0);
    codes.insert(codes.end(), samples.begin(), samples.end());
    count = static_cast<int>(codes.size() / spec.dims());
    const torch::Tensor z =
        torch::from_blob(codes.data(), {static_cast<int64_t>(count), static_cast<int64_t>(spec.dims())}, torch::kFloat32);
    check_images = to_vector(model.decode(z));
    const torch::Tensor image_codes = model.encode(as_images(check_images, description.image.height));
    const std::vector<float> reconstructions = to_vector(model.decode(image_codes));
    const ExpectedMethod checks[] = {
        {methods::decode, count, {codes}, {check_images}},
        {methods::encode, count, {check_images}, {to_vector(image_codes)}},
        {methods::reconstruct, count, {check_images}, {reconstructions}},
    };
    for (const ExpectedMethod& check : checks) report.methods_checked.push_back(check_method(file, check));
  } else {
    // No decode (max unpooling needs the encoder's switches): stroke images stand in for the
    // decoder's, through encode and reconstruct; those whose switches are decided beyond rounding
    // (ConvAutoencoderImpl::switches_decided).
    auto& conv = dynamic_cast<ConvAutoencoderImpl&>(model);
    const int64_t side = description.image.height;
    const std::vector<float> candidates = stroke_images(kStrokeImages, side);  // as_images does not copy
    const torch::Tensor strokes = as_images(candidates, side);
    const torch::Tensor x = strokes.index({conv.switches_decided(strokes)}).contiguous();
    count = static_cast<int>(x.size(0));
    if (count == 0) {
      throw std::runtime_error("export check failed: no check image has max-pooling switches decided beyond rounding; "
                               "nothing was written");
    }
    check_images = to_vector(x);
    const ExpectedMethod checks[] = {
        {methods::reconstruct, count, {check_images}, {to_vector(model.reconstruct(x))}},
        {methods::encode, count, {check_images}, {to_vector(model.encode(x))}},
    };
    for (const ExpectedMethod& check : checks) report.methods_checked.push_back(check_method(file, check));
  }
  report.latents_checked = count;
  return finish_export(description, std::move(bytes), file, report, output_path, model.decodes_free_codes() ? nullptr : &check_images);
}

}  // namespace latentkit::trainer
