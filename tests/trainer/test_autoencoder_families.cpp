// The deterministic autoencoder families (pca, ae, dae, sae): PCA's fit is the closed form, each
// family trains a few steps on a few hundred images and exports encode / decode / reconstruct that
// the runtime runs as libtorch does on both backends, dae's noise is what it says, sae's loss is
// its two terms and its penalty sparsifies the code, and bad options are refused by name.
#include "trainer/torch_doctest.h"

#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "latentkit/backend.h"
#include "latentkit/method_runner.h"
#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/conv_autoencoder.h"
#include "latentkit/trainer/corruption.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/families/autoencoder_family.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/layout.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/training_loop.h"
#include "trainer/short_run.h"
#include "trainer/temp_dir.h"

namespace fs = std::filesystem;
namespace lk = latentkit;
namespace tr = latentkit::trainer;

namespace {

using latentkit::trainer_test::TempDir;

torch::Tensor grey_images(tr::Split split, int64_t count) {
  return tr::to_tensor(tr::load_mnist_dir(LATENTKIT_MNIST_DIR, split, count));
}

tr::AutoencoderFamily& as_autoencoder(tr::Family& family) { return dynamic_cast<tr::AutoencoderFamily&>(family); }

tr::FamilySettings settings_of(int64_t code, tr::FamilyOptions options = {}) {
  tr::FamilySettings settings;
  settings.latent_dims = code;
  settings.learning_rate = 1e-3;
  settings.options = std::move(options);
  return settings;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

// A short run on the first MNIST images, grey levels, no report: what each test below trains.
tr::TrainOptions small_run(const std::string& family, const fs::path& run_dir, int64_t train_limit,
                           int64_t test_limit, int64_t batch_size, int64_t code) {
  tr::TrainOptions o = latentkit::trainer_test::short_run(family, run_dir, 1, batch_size, train_limit, test_limit);
  o.latent_dims = code;
  o.binarization = tr::Binarization::none;
  return o;
}

}  // namespace

TEST_CASE("pca: the fitted model's squared error per image is the sum of the discarded eigenvalues") {
  torch::set_num_threads(1);
  const torch::Tensor x = grey_images(tr::Split::train, 400);
  for (int64_t code : {1, 8, 30}) {
    CAPTURE(code);
    const auto family = tr::make_family("pca", settings_of(code));
    family->fit(x);
    const tr::Evaluation e = family->evaluate(x, {});
    // Independently of the fit's eigen-decomposition: the singular values of the centred data.
    const torch::Tensor flat = x.reshape({x.size(0), -1}).to(torch::kFloat64);
    const torch::Tensor s = torch::linalg::svdvals(flat - flat.mean(0), c10::nullopt);
    const double discarded = (s.square() / static_cast<double>(x.size(0))).slice(0, code).sum().item<double>();
    CHECK(e.figures[0] == doctest::Approx(discarded).epsilon(1e-5));
    // The training step only measures: the same figure, and nothing to optimise.
    CHECK(family->optimizers().empty());
    CHECK(family->compute_gradients(x) == doctest::Approx(discarded).epsilon(1e-5));
  }
  CHECK_THROWS_WITH_AS(tr::make_family("pca", settings_of(2, {{"loss", "bce"}})),
                       doctest::Contains("the pca family takes no --loss (given 'bce')"), std::invalid_argument);
}

TEST_CASE("pca through the training loop: one pass fits it, train_loss is the fit's training error") {
  TempDir dir("pca_run");
  torch::set_num_threads(1);
  tr::TrainOptions o = small_run("pca", dir.path, 300, 300, 100, 8);
  o.epochs = 2;
  const tr::TrainResult result = tr::train(o);
  REQUIRE(result.epochs.size() == 2);
  // The test split's first 300 are other images than the training split's: a larger error there.
  const auto family = tr::make_family("pca", settings_of(8));
  family->fit(grey_images(tr::Split::train, 300));
  const double train_error = family->evaluate(grey_images(tr::Split::train, 300), {}).figures[0];
  CHECK(result.epochs[0].train_loss == doctest::Approx(train_error).epsilon(1e-5));
  CHECK(result.epochs[1].test == result.epochs[0].test);  // later epochs change nothing
  CHECK(result.epochs[0].test[0] > train_error);
}

TEST_CASE("each autoencoder family trains a few steps and exports encode, decode and reconstruct equal to libtorch") {
  TempDir dir("export");
  const torch::Tensor test = grey_images(tr::Split::test, 50);
  const std::vector<float> test_pixels = tr::to_vector(test);
  for (const char* name : {"pca", "ae", "dae", "sae", "conv-ae"}) {
    CAPTURE(name);
    torch::set_num_threads(1);
    tr::TrainOptions o = small_run(name, dir.path / name, 300, 100, 50, 8);  // 6 steps
    o.write_report = std::string(name) == "dae";  // its denoising picture too, once
    const tr::TrainResult result = tr::train(o);
    REQUIRE(result.epochs.size() == 1);
    const tr::FamilyDescription& description = *tr::find_family(name);
    REQUIRE(result.epochs[0].test.size() == description.test_metrics.size());
    CHECK(result.epochs[0].test[0] > 0);
    if (std::string(name) == "dae") {
      CHECK(fs::exists(dir.path / name / "reconstructions.png"));
      CHECK(fs::exists(dir.path / name / "denoising.png"));
    }

    const std::string checkpoint = (dir.path / name / "checkpoint.pt").string();
    const std::string path = (dir.path / (std::string(name) + ".lkm")).string();
    const tr::ExportReport report = tr::export_run(checkpoint, path);
    REQUIRE(report.methods_checked.size() == 3);
    for (const tr::MethodCheck& check : report.methods_checked) {
      CAPTURE(check.method);
      CHECK(check.reference <= 1e-4);
      if (lk::backend_available(lk::BackendKind::xnnpack)) CHECK((check.xnnpack >= 0 && check.xnnpack <= 1e-4));
    }
    const lk::Model file = lk::Model::load_file(path);
    CHECK(file.provenance().model_family == name);
    CHECK(file.method("encode").signature() == "encode(image[28,28,1]) -> latent[8]");
    CHECK(file.method("decode").signature() == "decode(latent[8]) -> image[28,28,1]");
    CHECK(file.method("reconstruct").signature() == "reconstruct(image[28,28,1]) -> image[28,28,1]");
    REQUIRE(file.provenance().metric("test_mse_per_image") != nullptr);
    CHECK(file.provenance().metric("test_mse_per_image")->value == doctest::Approx(result.epochs[0].test[0]));

    // Real test images through the file, against the checkpoint's libtorch model.
    const tr::LoadedCheckpoint loaded = tr::load_checkpoint(checkpoint);
    const auto model = as_autoencoder(*loaded.family).net();
    model->eval();
    torch::NoGradGuard no_grad;
    const std::vector<float> codes = tr::to_vector(model->encode(test));
    const std::vector<float> images = tr::to_vector(model->decode(model->encode(test)));
    for (lk::BackendKind kind : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
      if (!lk::backend_available(kind)) continue;
      CAPTURE(lk::to_string(kind));
      CHECK(max_abs_diff(lk::MethodRunner(file, "encode", kind).run({test_pixels}, 50)[0], codes) <= 1e-4);
      CHECK(max_abs_diff(lk::MethodRunner(file, "reconstruct", kind).run({test_pixels}, 50)[0], images) <= 1e-4);
    }

    // Quantised weights: all three methods, near float32's; integer activations are refused.
    for (lk::QuantMode mode : {lk::QuantMode::int8_weights, lk::QuantMode::fp16}) {
      CAPTURE(lk::to_string(mode));
      const std::string q = (dir.path / (std::string(name) + "-" + lk::to_string(mode) + ".lkm")).string();
      const tr::ExportReport quantised = tr::export_run(checkpoint, q, {mode});
      CHECK(quantised.accuracy.size_ratio < (mode == lk::QuantMode::fp16 ? 0.55 : 0.35));
      const lk::Model qfile = lk::Model::load_file(q);
      CHECK(qfile.provenance().quantization == lk::to_string(mode));
      CHECK(qfile.methods().size() == 3);
      const auto out = lk::MethodRunner(qfile, "reconstruct", lk::BackendKind::reference).run({test_pixels}, 50)[0];
      CHECK(max_abs_diff(out, images) <= (mode == lk::QuantMode::fp16 ? 1e-2 : 0.1));
    }
    const std::string int8 = (dir.path / (std::string(name) + "-int8.lkm")).string();
    CHECK_THROWS_WITH_AS(tr::export_run(checkpoint, int8, {lk::QuantMode::int8}),
                         doctest::Contains("--quant int8 (integer activations) is not available for the"),
                         std::invalid_argument);
    CHECK(!fs::exists(int8));
  }
}

TEST_CASE("dae's corruptions produce what they say") {
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({200, 1, 28, 28}) * 0.4 + 0.3;  // no pixel 0 or 1, none near the clamp
  auto generator = [] { return at::make_generator<at::CPUGeneratorImpl>(42); };
  SUBCASE("mask:0.3 zeroes 30 % of the pixels and keeps the others") {
    const torch::Tensor y = tr::corrupt(x, tr::parse_noise("mask:0.3"), generator());
    const double zeroed = (y == 0).to(torch::kFloat64).mean().item<double>();
    CHECK(zeroed == doctest::Approx(0.3).epsilon(0.03));
    CHECK(torch::equal(torch::where(y == 0, x, y), x));
  }
  SUBCASE("mask-patch:7 blacks out one 7 x 7 square per image, inside it") {
    const torch::Tensor y = tr::corrupt(x, tr::parse_noise("mask-patch:7"), generator());
    for (int64_t i = 0; i < x.size(0); ++i) {
      const torch::Tensor zero = (y[i][0] == 0).nonzero();
      REQUIRE(zero.size(0) == 49);
      const int64_t top = zero.select(1, 0).min().item<int64_t>(), left = zero.select(1, 1).min().item<int64_t>();
      CHECK(zero.select(1, 0).max().item<int64_t>() == top + 6);
      CHECK(zero.select(1, 1).max().item<int64_t>() == left + 6);
      CHECK(torch::equal(torch::where(y[i] == 0, x[i], y[i]), x[i]));
    }
    // A patch as large as the image covers it all.
    CHECK((tr::corrupt(x, tr::parse_noise("mask-patch:28"), generator()) == 0).all().item<bool>());
  }
  SUBCASE("gaussian:0.1 adds noise of that deviation, clamped to [0, 1]") {
    const torch::Tensor y = tr::corrupt(x, tr::parse_noise("gaussian:0.1"), generator());
    CHECK(y.min().item<double>() >= 0);
    CHECK(y.max().item<double>() <= 1);
    CHECK((y - x).std().item<double>() == doctest::Approx(0.1).epsilon(0.05));
  }
  SUBCASE("salt-pepper:0.2 sets 20 % of the pixels to 0 or 1, half each") {
    const torch::Tensor y = tr::corrupt(x, tr::parse_noise("salt-pepper:0.2"), generator());
    const double salt = (y == 1).to(torch::kFloat64).mean().item<double>();
    const double pepper = (y == 0).to(torch::kFloat64).mean().item<double>();
    CHECK(salt + pepper == doctest::Approx(0.2).epsilon(0.05));
    CHECK(salt == doctest::Approx(0.1).epsilon(0.1));
  }
  SUBCASE("the same seed gives the same corruption") {
    CHECK(torch::equal(tr::corrupt(x, tr::parse_noise("mask:0.5"), generator()),
                       tr::corrupt(x, tr::parse_noise("mask:0.5"), generator())));
  }
  SUBCASE("bad forms are refused naming --noise and the forms") {
    for (const char* bad : {"blur:1", "mask", "mask:1", "mask:-0.1", "mask-patch:0", "mask-patch:2.5", "mask-patch:29",
                            "gaussian:0", "gaussian:nan", "salt-pepper:x"}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(tr::parse_noise(bad), doctest::Contains((std::string("--noise '") + bad + "'").c_str()),
                           std::invalid_argument);
    }
    CHECK_THROWS_WITH_AS(tr::parse_noise("blur:1"), doctest::Contains("unknown kind 'blur' (expected mask:FRACTION"),
                         std::invalid_argument);
  }
}

TEST_CASE("sae: the loss is the reconstruction error plus the penalty, and the penalty makes the code sparser") {
  torch::set_num_threads(1);
  const torch::Tensor x = grey_images(tr::Split::train, 300);
  SUBCASE("the loss's two terms") {
    for (const char* penalty : {"l1:0.05", "l2:0.5"}) {
      CAPTURE(penalty);
      torch::manual_seed(4);
      const auto family = tr::make_family("sae", settings_of(16, {{"sparsity", penalty}}));
      const auto model = as_autoencoder(*family).net();
      const torch::Tensor batch = x.slice(0, 0, 50);
      torch::Tensor code, expected;
      {
        torch::NoGradGuard no_grad;
        code = model->encode(batch);
        CHECK((code >= 0).all().item<bool>());  // the ReLU code
        const torch::Tensor error = (model->decode(code) - batch).square().flatten(1).sum(1);
        const torch::Tensor omega = std::string(penalty) == "l1:0.05" ? 0.05 * code.abs().sum(1) : 0.5 * code.square().sum(1);
        expected = (error + omega).mean();
      }
      CHECK(family->compute_gradients(batch) == doctest::Approx(expected.item<double>()).epsilon(1e-6));
    }
  }
  SUBCASE("equal steps from equal weights: the penalised code has more zeros") {
    const torch::Tensor test = grey_images(tr::Split::test, 200);
    auto sparsity_after = [&](const std::string& penalty) {
      torch::manual_seed(6);
      const auto family = tr::make_family("sae", settings_of(32, {{"sparsity", penalty}}));
      for (int step = 0; step < 30; ++step) {
        family->compute_gradients(x.slice(0, (step % 6) * 50, (step % 6) * 50 + 50));
        family->apply_gradients();
      }
      return family->evaluate(test, {}).figures[2];
    };
    const double without = sparsity_after("l1:0"), with = sparsity_after("l1:0.5");
    CHECK(with > without + 0.1);
  }
}

TEST_CASE("family options: each family takes its own, refuses the others by name, and the checkpoint keeps them") {
  CHECK_THROWS_WITH_AS(tr::make_family("ae", settings_of(4, {{"noise", "mask:0.5"}})),
                       doctest::Contains("the ae family takes no --noise (given 'mask:0.5'); it takes --loss"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tr::make_family("cvae", settings_of(2, {{"loss", "bce"}})),
                       doctest::Contains("the cvae family takes no --loss"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tr::make_family("ae", settings_of(4, {{"loss", "l3"}})),
                       doctest::Contains("--loss 'l3': expected mse"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tr::make_family("sae", settings_of(4, {{"sparsity", "l1:-1"}})),
                       doctest::Contains("--sparsity 'l1:-1': the weight must be"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tr::make_family("sae", settings_of(4, {{"sparsity", "l0:1"}})),
                       doctest::Contains("--sparsity 'l0:1': expected l1:WEIGHT or l2:WEIGHT"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(tr::make_family("dae", settings_of(4, {{"noise", "gaussian:-1"}})),
                       doctest::Contains("--noise 'gaussian:-1'"), std::invalid_argument);

  // Defaults are filled in, and a checkpoint builds the family with the same options.
  CHECK(tr::make_family("dae", settings_of(4))->options() == tr::FamilyOptions{{"loss", "mse"}, {"noise", "mask:0.5"}});
  TempDir dir("options");
  const auto family = tr::make_family("dae", settings_of(4, {{"noise", "salt-pepper:0.25"}, {"loss", "bce"}}));
  tr::RunInfo info;
  info.latent_dims = 4;
  info.dataset = "mnist";
  info.binarization = "none";
  const std::string path = (dir.path / "checkpoint.pt").string();
  tr::save_checkpoint(path, *family, info);
  const tr::LoadedCheckpoint loaded = tr::load_checkpoint(path);
  CHECK(loaded.family->options() == tr::FamilyOptions{{"loss", "bce"}, {"noise", "salt-pepper:0.25"}});
  CHECK(as_autoencoder(*loaded.family).config().noise->kind == tr::NoiseKind::salt_pepper);

  // The training loop refuses bad options before it creates anything.
  tr::TrainOptions o;
  o.family = "dae";
  o.data_dir = LATENTKIT_MNIST_DIR;
  o.run_dir = (dir.path / "run").string();
  o.family_options = {{"noise", "blur:2"}};
  CHECK_THROWS_WITH_AS(tr::train(o), doctest::Contains("--noise 'blur:2': unknown kind 'blur'"), std::invalid_argument);
  CHECK(!fs::exists(dir.path / "run"));
}

TEST_CASE("conv-ae: the nearest and max-unpool decoders start from their own learning rate, the others from the schedule's") {
  const tr::FamilyDescription& conv = *tr::find_family("conv-ae");
  REQUIRE((conv.default_learning_rate != nullptr));
  CHECK(conv.default_learning_rate({}, 4e-3) == 4e-3);
  CHECK(conv.default_learning_rate({{"upsample", "transposed"}}, 4e-3) == 4e-3);
  CHECK(conv.default_learning_rate({{"upsample", "nearest"}}, 4e-3) == 3e-4);
  CHECK(conv.default_learning_rate({{"upsample", "max-unpool"}}, 4e-3) == 3e-4);
  for (const char* other : {"cvae", "pca", "ae", "dae", "sae"}) {
    INFO(other);
    CHECK((tr::find_family(other)->default_learning_rate == nullptr));
  }
}

TEST_CASE("conv-ae: each --upsample kind trains and exports methods equal to libtorch, max-unpool has no decode") {
  TempDir dir("conv_upsample");
  const torch::Tensor test = grey_images(tr::Split::test, 50);
  for (const char* kind : {"transposed", "nearest", "max-unpool"}) {
    CAPTURE(kind);
    const bool unpool = std::string(kind) == "max-unpool";
    torch::set_num_threads(1);
    tr::TrainOptions o = small_run("conv-ae", dir.path / kind, 100, 50, 50, 4);  // 2 steps
    o.family_options = {{"upsample", kind}};
    o.write_report = unpool;  // its pictures need no decode of a free code
    const tr::TrainResult result = tr::train(o);
    REQUIRE(result.epochs.size() == 1);
    CHECK(std::isfinite(result.epochs[0].test[0]));
    if (unpool) CHECK(fs::exists(dir.path / kind / "reconstructions.png"));

    const std::string checkpoint = (dir.path / kind / "checkpoint.pt").string();
    const std::string path = (dir.path / (std::string(kind) + ".lkm")).string();
    const tr::ExportReport report = tr::export_run(checkpoint, path);
    REQUIRE(report.methods_checked.size() == (unpool ? 2 : 3));
    for (const tr::MethodCheck& check : report.methods_checked) {
      CAPTURE(check.method);
      CHECK(check.reference <= 1e-4);
      if (lk::backend_available(lk::BackendKind::xnnpack)) CHECK((check.xnnpack >= 0 && check.xnnpack <= 1e-4));
    }
    const lk::Model file = lk::Model::load_file(path);
    CHECK(file.method("encode").signature() == "encode(image[28,28,1]) -> latent[4]");
    CHECK(file.method("reconstruct").signature() == "reconstruct(image[28,28,1]) -> image[28,28,1]");
    CHECK((file.find_method("decode") == nullptr) == unpool);
    if (lk::backend_available(lk::BackendKind::xnnpack)) {
      std::string why;
      CHECK_MESSAGE(lk::choose_backend(file, "reconstruct", lk::BackendKind::xnnpack, &why) == lk::BackendKind::xnnpack,
                    why);
    }

    // Real test images through the file, against the checkpoint's libtorch model.
    const tr::LoadedCheckpoint loaded = tr::load_checkpoint(checkpoint);
    const auto model = as_autoencoder(*loaded.family).net();
    model->eval();
    torch::NoGradGuard no_grad;
    CHECK(model->decodes_free_codes() == !unpool);
    // The images whose pooling switches are decided beyond rounding (all, but for max-unpool).
    auto& conv = dynamic_cast<tr::ConvAutoencoderImpl&>(*model);
    const torch::Tensor decided = test.index({conv.switches_decided(test)}).contiguous();
    const int n = static_cast<int>(decided.size(0));
    CHECK(n >= (unpool ? 25 : 50));
    const std::vector<float> pixels = tr::to_vector(decided);
    const std::vector<float> codes = tr::to_vector(model->encode(decided));
    const std::vector<float> images = tr::to_vector(model->reconstruct(decided));
    for (lk::BackendKind backend : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
      if (!lk::backend_available(backend)) continue;
      CAPTURE(lk::to_string(backend));
      CHECK(max_abs_diff(lk::MethodRunner(file, "encode", backend).run({pixels}, n)[0], codes) <= 1e-4);
      CHECK(max_abs_diff(lk::MethodRunner(file, "reconstruct", backend).run({pixels}, n)[0], images) <= 1e-4);
      if (!unpool) {
        torch::manual_seed(3);
        const torch::Tensor z = torch::randn({20, 4});
        CHECK(max_abs_diff(lk::MethodRunner(file, "decode", backend).run({tr::to_vector(z)}, 20)[0],
                           tr::to_vector(model->decode(z))) <= 1e-4);
      }
    }

    // The family's quantised mode: int8 weights, near float32.
    const std::string q = (dir.path / (std::string(kind) + "-int8-weights.lkm")).string();
    const tr::ExportReport quantised = tr::export_run(checkpoint, q, {lk::QuantMode::int8_weights});
    CHECK(quantised.accuracy.images > 0);
    CHECK(quantised.accuracy.size_ratio < 0.35);
    const lk::Model qfile = lk::Model::load_file(q);
    CHECK(qfile.methods().size() == (unpool ? 2u : 3u));
    const auto out = lk::MethodRunner(qfile, "reconstruct", lk::BackendKind::reference).run({pixels}, n)[0];
    CHECK(max_abs_diff(out, images) <= 0.1);
  }
  CHECK_THROWS_WITH_AS(tr::make_family("conv-ae", settings_of(4, {{"upsample", "bilinear"}})),
                       doctest::Contains("--upsample 'bilinear': expected transposed, nearest or max-unpool"),
                       std::invalid_argument);
}

TEST_CASE("a resumed autoencoder run keeps its family options and continues") {
  TempDir dir("resume");
  torch::set_num_threads(1);
  tr::TrainOptions o = small_run("sae", dir.path, 100, 50, 50, 4);
  o.family_options = {{"loss", "bce"}, {"sparsity", "l2:0.1"}};
  tr::train(o);
  tr::TrainOptions more = tr::resume_options(dir.path.string());
  CHECK(more.family_options == tr::FamilyOptions{{"loss", "bce"}, {"sparsity", "l2:0.1"}});
  CHECK(more.binarization == tr::Binarization::none);
  more.epochs = 2;
  more.write_report = false;
  CHECK(tr::train(more).epochs.size() == 2);
}

