// Export: libtorch's layouts become the file's, and the runtime then reproduces libtorch.
#include "trainer/torch_doctest.h"

#include <cmath>
#include <filesystem>

#include "latentkit/decoder.h"
#include "latentkit/latents.h"
#include "latentkit/method_runner.h"
#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/evaluation.h"
#include "latentkit/trainer/export_cvae.h"
#include "latentkit/trainer/families/cvae_family.h"
#include "latentkit/trainer/layout.h"
#include "trainer/temp_dir.h"

namespace lk = latentkit;
namespace tr = latentkit::trainer;
namespace fs = std::filesystem;

namespace {

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

using latentkit::trainer_test::TempDir;

}  // namespace

TEST_CASE("conv weights OIHW become OHWI") {
  auto w = torch::arange(2 * 3 * 4 * 5, torch::kFloat32).reshape({2, 3, 4, 5});  // O, I, H, W
  const auto ohwi = tr::conv_weight_to_ohwi(w);
  for (int o = 0; o < 2; ++o)
    for (int i = 0; i < 3; ++i)
      for (int h = 0; h < 4; ++h)
        for (int x = 0; x < 5; ++x) REQUIRE(ohwi[((o * 4 + h) * 5 + x) * 3 + i] == w[o][i][h][x].item<float>());
}

TEST_CASE("transposed conv weights IOHW become OHWI") {
  auto w = torch::arange(3 * 2 * 4 * 5, torch::kFloat32).reshape({3, 2, 4, 5});  // I, O, H, W
  const auto ohwi = tr::transpose_conv_weight_to_ohwi(w);
  for (int i = 0; i < 3; ++i)
    for (int o = 0; o < 2; ++o)
      for (int h = 0; h < 4; ++h)
        for (int x = 0; x < 5; ++x) REQUIRE(ohwi[((o * 4 + h) * 5 + x) * 3 + i] == w[i][o][h][x].item<float>());
}

TEST_CASE("a dense layer viewed as CHW gives the same values in HWC order after chw_rows_to_hwc") {
  torch::manual_seed(3);
  torch::nn::Linear dense(3, 4 * 5 * 6);  // C = 4, H = 5, W = 6
  auto z = torch::randn({7, 3});
  auto expected = dense(z).view({7, 4, 5, 6}).permute({0, 2, 3, 1}).reshape({7, -1});
  auto w = tr::chw_rows_to_hwc(dense->weight, 4, 5, 6), b = tr::chw_rows_to_hwc(dense->bias, 4, 5, 6);
  auto converted = torch::addmm(b, z, w.t());
  CHECK(torch::allclose(converted, expected, 0, 0));  // a permutation: exactly equal
}

TEST_CASE("the runtime's output for an exported CVAE equals libtorch's (max abs diff <= 1e-4)") {
  for (int latent : {2, 20}) {
    CAPTURE(latent);
    torch::manual_seed(11);
    tr::Cvae model(latent);
    model->eval();
    tr::RunInfo info;
    info.latent_dims = latent;
    const auto bytes = lk::serialize_model(tr::describe_cvae_decoder(model, info));
    const lk::Model file = lk::Model::load_bytes(bytes.data(), bytes.size());

    std::vector<float> z = lk::sample_latents(file.latent(), 40, 5);
    for (float& v : z) v *= 2.5f;  // reach the tails too, where ReLUs switch
    const auto expected = tr::decode_images(model, z);
    for (lk::BackendKind kind : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
      if (!lk::backend_available(kind)) continue;
      CAPTURE(lk::to_string(kind));
      lk::Decoder decoder(file, kind);
      CHECK(max_abs_diff(decoder.decode(z, 40), expected) <= 1e-4);
      // Batch 1 goes through a separately built backend and must agree too.
      const std::vector<float> first(z.begin(), z.begin() + latent);
      const auto one = decoder.decode(first, 1);
      CHECK(max_abs_diff(one, std::vector<float>(expected.begin(), expected.begin() + one.size())) <= 1e-4);
    }
  }
}

TEST_CASE("checkpoint round trip, then export writes a model file with the run's provenance") {
  TempDir dir;
  torch::manual_seed(2);
  tr::CvaeFamily family({});
  tr::Cvae& model = family.model();
  tr::RunInfo info;
  info.dataset = "mnist";
  info.epochs_done = 3;
  info.test = {{"test_elbo", -150.25}, {"test_reconstruction", 145.0}, {"test_kl", 5.25}};
  info.binarization = "dynamic";
  const std::string checkpoint = (dir.path / "checkpoint.pt").string();
  tr::save_checkpoint(checkpoint, family, info);
  CHECK(!fs::exists(checkpoint + ".tmp"));

  tr::LoadedCheckpoint loaded = tr::load_checkpoint(checkpoint);
  CHECK(loaded.info.epochs_done == 3);
  CHECK(loaded.info.binarization == "dynamic");
  CHECK(loaded.info.test_figure("test_kl") == 5.25);
  CHECK(torch::equal(dynamic_cast<tr::CvaeFamily&>(*loaded.family).model()->dec_tconv2->weight,
                     model->dec_tconv2->weight));

  const std::string output = (dir.path / "cvae.lkm").string();
  const tr::ExportReport report = tr::export_run(checkpoint, output);
  CHECK(report.latents_checked == 125);
  CHECK(report.max_abs_diff_reference <= tr::kExportTolerance);
  const lk::Model file = lk::Model::load_file(output);
  CHECK(file.file_size() == report.file_bytes);
  CHECK(file.provenance().model_family == "cvae");
  CHECK(file.provenance().epochs == 3);
  CHECK(file.provenance().labels.size() == 10);
  REQUIRE(file.provenance().metrics.size() == 3);
  CHECK(file.provenance().metrics[0].name == "test_elbo_nats");
  CHECK(file.provenance().metrics[0].value == -150.25);

  // Quantised weights: at most 0.3x the float32 file, measured against float32, and the figures
  // travel in the file.
  const std::string int8 = (dir.path / "cvae-int8w.lkm").string();
  const tr::ExportReport quantised = tr::export_run(checkpoint, int8, {lk::QuantMode::int8_weights});
  CHECK(quantised.accuracy.images == 1025);
  CHECK(quantised.accuracy.size_ratio <= 0.3);
  CHECK(quantised.accuracy.psnr_db > 30);
  const tr::ExportReport integer =
      tr::export_run(checkpoint, (dir.path / "cvae-int8.lkm").string(), {lk::QuantMode::int8, LATENTKIT_MNIST_DIR});
  CHECK(integer.accuracy.size_ratio <= 0.3);
  CHECK(integer.accuracy.psnr_db > 25);
  const lk::Model int8_file = lk::Model::load_file(int8);
  CHECK(int8_file.provenance().quantization == "int8-weights");
  REQUIRE(int8_file.provenance().metric("quant_psnr_db") != nullptr);
  CHECK(int8_file.provenance().metric("quant_psnr_db")->value == quantised.accuracy.psnr_db);
  CHECK(int8_file.provenance().metric("quant_size_ratio")->value ==
        doctest::Approx(static_cast<double>(int8_file.file_size()) / file.file_size()));

  // A missing checkpoint or an unwritable destination fails and writes nothing.
  CHECK_THROWS(tr::export_run((dir.path / "none.pt").string(), (dir.path / "x.lkm").string()));
  CHECK(!fs::exists(dir.path / "x.lkm"));
  CHECK_THROWS(tr::export_run(checkpoint, (dir.path / "no" / "such" / "dir.lkm").string()));
}

TEST_CASE("an exported CVAE's encode and reconstruct equal libtorch's, and reconstruct's error is the trainer's") {
  TempDir dir;
  torch::manual_seed(6);
  tr::CvaeFamily family({});
  tr::Cvae& model = family.model();
  tr::RunInfo info;
  info.dataset = "mnist";
  const std::string checkpoint = (dir.path / "checkpoint.pt").string();
  tr::save_checkpoint(checkpoint, family, info);
  const std::string output = (dir.path / "cvae.lkm").string();
  const tr::ExportReport report = tr::export_run(checkpoint, output);
  REQUIRE(report.methods_checked.size() == 3);
  for (const tr::MethodCheck& check : report.methods_checked) CHECK(check.reference <= tr::kExportTolerance);

  const lk::Model file = lk::Model::load_file(output);
  REQUIRE(file.methods().size() == 3);
  CHECK(file.method("encode").signature() == "encode(image[28,28,1]) -> latent_mean[2], latent_log_variance[2]");
  CHECK(file.method("reconstruct").signature() == "reconstruct(image[28,28,1]) -> image[28,28,1]");

  // The first 1000 test images, as `latentkit eval` sees them.
  const tr::ImageDataset test = tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::test, tr::kReconstructionImages);
  const torch::Tensor x = tr::binarized_test_images(test, tr::Binarization::dynamic).contiguous();
  const int n = static_cast<int>(x.size(0));
  REQUIRE(n == 1000);
  const std::vector<float> images(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  model->eval();
  torch::NoGradGuard no_grad;
  const tr::CvaeImpl::Posterior q = model->encode(x);
  const std::vector<float> means = tr::to_vector(q.mean), log_variances = tr::to_vector(q.logvar);
  const std::vector<float> reconstructions = tr::decode_images(model, means);
  for (lk::BackendKind kind : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
    if (!lk::backend_available(kind)) continue;
    CAPTURE(lk::to_string(kind));
    // The reference backend, the slow oracle, on the first 100.
    const int count = kind == lk::BackendKind::reference ? 100 : n;
    const std::vector<float> some(images.begin(), images.begin() + count * 784);
    const auto posterior = lk::MethodRunner(file, "encode", kind).run({some}, count);
    CHECK(max_abs_diff(posterior[0], std::vector<float>(means.begin(), means.begin() + count * 2)) <= 1e-4);
    CHECK(max_abs_diff(posterior[1], std::vector<float>(log_variances.begin(), log_variances.begin() + count * 2)) <= 1e-4);
    const std::vector<float> out = lk::MethodRunner(file, "reconstruct", kind).run({some}, count)[0];
    CHECK(max_abs_diff(out, std::vector<float>(reconstructions.begin(), reconstructions.begin() + count * 784)) <= 1e-4);
    if (count == n) {
      double squared = 0;
      for (std::size_t i = 0; i < out.size(); ++i) squared += (double{out[i]} - images[i]) * (double{out[i]} - images[i]);
      const double runtime_mse = squared / static_cast<double>(out.size());
      const double trainer_mse = tr::posterior_mean_reconstruction_mse(model, x);
      CHECK(trainer_mse > 0.01);  // an untrained decoder: far from the images
      CHECK(runtime_mse == doctest::Approx(trainer_mse).epsilon(1e-5));
    }
  }

  // Every quantised form exports all three methods, and its reconstructions stay near float's.
  const std::vector<float> first(images.begin(), images.begin() + 50 * 784);
  const std::vector<float> float_out = lk::MethodRunner(file, "reconstruct", lk::BackendKind::reference).run({first}, 50)[0];
  for (lk::QuantMode mode : {lk::QuantMode::fp16, lk::QuantMode::int8_weights, lk::QuantMode::int8}) {
    CAPTURE(lk::to_string(mode));
    const std::string path = (dir.path / (std::string("q-") + lk::to_string(mode) + ".lkm")).string();
    tr::export_run(checkpoint, path, {mode, LATENTKIT_MNIST_DIR});
    const lk::Model quantised = lk::Model::load_file(path);
    CHECK(quantised.methods().size() == 3);
    const std::vector<float> out = lk::MethodRunner(quantised, "reconstruct", lk::BackendKind::reference).run({first}, 50)[0];
    CHECK(max_abs_diff(out, float_out) <= (mode == lk::QuantMode::fp16 ? 1e-3 : 0.1));
  }
}

TEST_CASE("evaluate: the ELBO is the negative sum of its terms and repeats with its seed") {
  torch::manual_seed(4);
  tr::Cvae model(2);
  auto images = (torch::rand({64, 1, 28, 28}) > 0.7).to(torch::kFloat32);
  const tr::EvalResult a = tr::evaluate(model, images, 9), b = tr::evaluate(model, images, 9);
  CHECK(a.elbo == b.elbo);
  CHECK(a.elbo == doctest::Approx(-(a.reconstruction + a.kl)));
  CHECK(a.reconstruction > 0);
  CHECK(a.kl >= 0);
  // A few Adam steps on these images must raise their ELBO: the loss trains what it measures.
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  for (int step = 0; step < 30; ++step) {
    auto q = model->encode(images);
    auto terms = tr::vae_terms(model->decode_logits(tr::reparameterize(q)), images, q);
    auto loss = (terms.reconstruction + terms.kl).mean();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  CHECK(tr::evaluate(model, images, 9).elbo > a.elbo + 50);
}
