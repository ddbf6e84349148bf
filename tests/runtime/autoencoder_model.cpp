#include "runtime/autoencoder_model.h"

#include <random>
#include <vector>

#include "runtime/random_model.h"

namespace latentkit::testing {
namespace {

Op op(OpKind kind, std::vector<int> inputs, int output) {
  Op o;
  o.kind = kind;
  o.inputs = std::move(inputs);
  o.outputs = {output};
  return o;
}

// gaussian: encode gives a posterior's mean and log-variance; otherwise one plain code.
// with_decode: the file has decode (z -> image); without, only encode and reconstruct.
ModelDescription autoencoder(uint64_t seed, bool gaussian, bool with_decode) {
  constexpr int kLatent = 2, kSide = 3, kPixels = kSide * kSide, kHidden = 5;
  std::mt19937_64 rng(seed);
  ModelDescription d;
  auto weights = [&](int out, int in) { return random_weights(rng, int64_t{out} * in, in); };
  const int x = d.add_activation("x", {kSide, kSide, 1});
  const int flat = d.add_activation("x_flat", {kPixels});
  const int w1 = d.add_constant("enc_w1", {kHidden, kPixels}, weights(kHidden, kPixels));
  const int b1 = d.add_constant("enc_b1", {kHidden}, weights(kHidden, 1));
  const int h = d.add_activation("enc_h", {kHidden});
  const int h_relu = d.add_activation("enc_h_relu", {kHidden});
  const int wm = d.add_constant("enc_w_mean", {kLatent, kHidden}, weights(kLatent, kHidden));
  const int wv = gaussian ? d.add_constant("enc_w_logvar", {kLatent, kHidden}, weights(kLatent, kHidden)) : -1;
  const int mean = d.add_activation(gaussian ? "mean" : "code", {kLatent});
  const int logvar = gaussian ? d.add_activation("logvar", {kLatent}) : -1;
  const int z = with_decode ? d.add_activation("z", {kLatent}) : -1;
  const int w2 = d.add_constant("dec_w", {kPixels, kLatent}, weights(kPixels, kLatent));
  const int logits = d.add_activation("dec_logits", {kPixels});
  const int probs = d.add_activation("dec_probs", {kPixels});
  const int image = d.add_activation("image", {kSide, kSide, 1});

  const std::vector<Op> to_mean = {op(OpKind::reshape, {x}, flat), op(OpKind::fully_connected, {flat, w1, b1}, h),
                                   op(OpKind::relu, {h}, h_relu), op(OpKind::fully_connected, {h_relu, wm, -1}, mean)};
  auto decoder_from = [&](int latent) {
    return std::vector<Op>{op(OpKind::fully_connected, {latent, w2, -1}, logits), op(OpKind::sigmoid, {logits}, probs),
                           op(OpKind::reshape, {probs}, image)};
  };
  MethodDescription encode{methods::encode, to_mean, {x}, {mean, logvar}, {Role::image},
                           {Role::latent_mean, Role::latent_log_variance}};
  if (gaussian) {
    encode.ops.push_back(op(OpKind::fully_connected, {h_relu, wv, -1}, logvar));
  } else {
    encode.outputs = {mean};
    encode.output_roles = {Role::latent};
  }
  MethodDescription decode{methods::decode, decoder_from(z), {z}, {image}, {Role::latent}, {Role::image}};
  MethodDescription reconstruct{methods::reconstruct, to_mean, {x}, {image}, {Role::image}, {Role::image}};
  for (const Op& o : decoder_from(mean)) reconstruct.ops.push_back(o);
  d.methods = {encode, decode, reconstruct};
  if (!with_decode) d.methods = {encode, reconstruct};
  d.latent.groups = {{LatentKind::gaussian, "z", kLatent, 1, {}, {}, {}}};
  d.image = {kSide, kSide, 1, ValueRange::unit};
  d.provenance.model_family = gaussian ? "autoencoder-test" : "plain-autoencoder-test";
  return d;
}

}  // namespace

ModelDescription small_autoencoder(uint64_t seed) { return autoencoder(seed, true, true); }
ModelDescription plain_autoencoder(uint64_t seed, bool with_decode) { return autoencoder(seed, false, with_decode); }

}  // namespace latentkit::testing
