// The decoder's fast transposed convolutions (transposed_conv.h) compute the same function as
// libtorch's ConvTranspose2d modules, with the same parameters: forward values and the gradients
// of the input, weight and bias agree within float rounding, layer by layer and through the
// whole decoder (latent 2 and 20). Random inputs from a fixed seed.
#include "trainer/torch_doctest.h"

#include <functional>
#include <string>

#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/transposed_conv.h"

namespace nn = torch::nn;
namespace tr = latentkit::trainer;

namespace {

// ||a - b|| / ||b||: a rounding-level difference is about 1e-7 here; a wrong tap or a missing
// term is of order 1.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).to(torch::kFloat64).norm().item<double>() / b.to(torch::kFloat64).norm().item<double>();
}

constexpr double kTolerance = 1e-5;

using Layer = std::function<torch::Tensor(const torch::Tensor&, nn::ConvTranspose2d&)>;

void check_layer(const std::string& name, const Layer& fast, nn::ConvTranspose2d module, std::vector<int64_t> shape) {
  INFO(name);
  torch::manual_seed(7);
  torch::set_num_threads(1);
  auto x = torch::randn(shape);
  auto x_ref = x.clone().requires_grad_(true), x_fast = x.clone().requires_grad_(true);
  auto y_ref = module->forward(x_ref);
  auto y_fast = fast(x_fast, module);
  REQUIRE(y_fast.sizes() == y_ref.sizes());
  CHECK(relative_error(y_fast, y_ref) < kTolerance);
  const auto weight = torch::randn_like(y_ref);  // a loss that weighs every output differently
  (y_ref * weight).sum().backward();
  const auto grad_weight_ref = module->weight.grad().clone(), grad_bias_ref = module->bias.grad().clone();
  module->zero_grad();
  (y_fast * weight).sum().backward();
  CHECK(relative_error(x_fast.grad(), x_ref.grad()) < kTolerance);
  CHECK(relative_error(module->weight.grad(), grad_weight_ref) < kTolerance);
  CHECK(relative_error(module->bias.grad(), grad_bias_ref) < kTolerance);
}

nn::ConvTranspose2d stride2(int64_t in, int64_t out) {
  return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 3).stride(2).padding(1).output_padding(1));
}
nn::ConvTranspose2d stride1(int64_t in, int64_t out) {
  return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 3).stride(1).padding(1));
}

// The decoder as the plain modules compute it.
torch::Tensor reference_decode(tr::Cvae& model, const torch::Tensor& z) {
  auto h = torch::relu(model->dec_dense(z)).view({-1, tr::kDecoderSeedChannels, tr::kDecoderSeedSize,
                                                   tr::kDecoderSeedSize});
  h = torch::relu(model->dec_tconv1(h));
  h = torch::relu(model->dec_tconv2(h));
  return model->dec_tconv3(h);
}

}  // namespace

TEST_CASE("the adjoint and GEMM transposed convolutions equal ConvTranspose2d, values and gradients") {
  torch::manual_seed(3);
  const Layer adjoint = tr::conv_transpose2d_via_adjoint, gemm = tr::conv_transpose2d_via_gemm;
  // The decoder's three layers, and a few other shapes (odd sizes, one image).
  check_layer("adjoint, tconv1", adjoint, stride2(32, 64), {16, 32, 7, 7});
  check_layer("adjoint, tconv2", adjoint, stride2(64, 32), {16, 64, 14, 14});
  check_layer("adjoint, tconv3", adjoint, stride1(32, 1), {16, 32, 28, 28});
  check_layer("adjoint, 5x3 image, batch 1", adjoint, stride2(3, 5), {1, 3, 5, 3});
  check_layer("gemm, tconv1", gemm, stride2(32, 64), {16, 32, 7, 7});
  check_layer("gemm, tconv2", gemm, stride2(64, 32), {16, 64, 14, 14});
  check_layer("gemm, tconv3", gemm, stride1(32, 1), {16, 32, 28, 28});
  check_layer("gemm, 5x3 image, batch 1", gemm, stride2(3, 5), {1, 3, 5, 3});
}

TEST_CASE("the CVAE's decoder equals the plain ConvTranspose2d modules: logits and parameter gradients") {
  torch::set_num_threads(1);
  for (int64_t latent : {2, 20}) {
    INFO("latent " << latent);
    torch::manual_seed(11);
    tr::Cvae model(latent);
    const auto z = torch::randn({32, latent});
    const auto logits_ref = reference_decode(model, z);
    const auto logits_fast = model->decode_logits(z);
    REQUIRE(logits_fast.sizes() == logits_ref.sizes());
    CHECK(relative_error(logits_fast, logits_ref) < kTolerance);

    const auto target = torch::bernoulli(torch::full_like(logits_ref, 0.3));
    auto gradients = [&](const torch::Tensor& logits) {
      model->zero_grad();
      torch::binary_cross_entropy_with_logits(logits, target, {}, {}, at::Reduction::Sum).backward();
      std::vector<std::pair<std::string, torch::Tensor>> g;
      for (const auto& p : model->named_parameters()) {
        if (p.key().rfind("dec_", 0) == 0) g.emplace_back(p.key(), p.value().grad().clone());
      }
      return g;
    };
    const auto grads_ref = gradients(logits_ref);
    const auto grads_fast = gradients(logits_fast);
    REQUIRE(grads_ref.size() == 8);  // dec_dense, dec_tconv1..3: weight and bias each
    for (size_t i = 0; i < grads_ref.size(); ++i) {
      INFO(grads_ref[i].first);
      CHECK(relative_error(grads_fast[i].second, grads_ref[i].second) < kTolerance);
    }
  }
}

TEST_CASE("the decoder's parameters keep the module names and shapes that checkpoints and export rely on") {
  tr::Cvae model(20);
  const auto params = model->named_parameters();
  CHECK(params["dec_tconv1.weight"].sizes() == torch::IntArrayRef({32, 64, 3, 3}));
  CHECK(params["dec_tconv2.weight"].sizes() == torch::IntArrayRef({64, 32, 3, 3}));
  CHECK(params["dec_tconv3.weight"].sizes() == torch::IntArrayRef({32, 1, 3, 3}));
  CHECK(params["dec_tconv3.bias"].sizes() == torch::IntArrayRef({1}));
  CHECK(params.size() == 14);
}
