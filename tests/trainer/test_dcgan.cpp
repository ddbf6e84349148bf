// Issue #21's DCGAN in the trainer: batch norm folds into the layers before it; a short run trains
// both players (both change, both losses are in metrics.csv, a row of samples per epoch) and
// exports its generator as a decode method that both backends run as libtorch does (fp32), and
// int8-weights near it; coloured MNIST gives a coloured generator; --judge adds a Fréchet distance
// per epoch; an interrupted run resumes exactly; bad options, int8 activations and data-parallel
// runs are refused by name.
#include "trainer/torch_doctest.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/latents.h"
#include "latentkit/method_runner.h"
#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/dcgan.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/families/dcgan_family.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/judge.h"
#include "latentkit/trainer/sample_quality.h"
#include "latentkit/trainer/training_loop.h"
#include "trainer/short_run.h"
#include "trainer/temp_dir.h"

namespace fs = std::filesystem;
namespace lk = latentkit;
namespace tr = latentkit::trainer;

namespace {

using latentkit::trainer_test::TempDir;

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<double> numbers_of(const std::string& csv_line) {
  std::vector<double> values;
  std::stringstream in(csv_line);
  for (std::string cell; std::getline(in, cell, ',');) values.push_back(std::stod(cell));
  return values;
}

tr::TrainOptions dcgan_run(const fs::path& dir, int epochs) {
  tr::TrainOptions o = latentkit::trainer_test::short_run("dcgan", dir, epochs, 64, 512, 200);
  o.latent_dims = 16;
  o.binarization = tr::Binarization::none;
  o.learning_rate = tr::DcganFamily::kDefaultLearningRate;
  return o;
}

}  // namespace

TEST_CASE("dcgan: batch norm folded into the layer before it gives the eval-mode generator's images") {
  torch::set_num_threads(1);
  torch::manual_seed(11);
  tr::DcganShape shape;
  shape.latent = 8;
  shape.channels = 3;
  tr::DcganGenerator generator(shape);
  {
    // Norms far from the identity: scales and shifts drawn wide, and running statistics from
    // batches whose mean and spread are not 0 and 1.
    torch::NoGradGuard no_grad;
    tr::DcganGeneratorImpl& g = *generator;
    g.dense_norm->weight.uniform_(0.5, 2.0);
    g.dense_norm->bias.uniform_(-1.0, 1.0);
    g.up1_norm->weight.uniform_(0.5, 2.0);
    g.up1_norm->bias.uniform_(-1.0, 1.0);
    g.dense->bias.uniform_(-0.5, 0.5);
    g.up1->bias.uniform_(-0.5, 0.5);
    generator->train();
    for (int step = 0; step < 20; ++step) generator->forward(3.0 * torch::randn({32, shape.latent}) + 1.0);
  }
  CHECK(max_abs_diff(generator->up1_norm->running_var, torch::ones_like(generator->up1_norm->running_var)) > 1e-3);
  CHECK(max_abs_diff(generator->dense_norm->running_mean, torch::zeros_like(generator->dense_norm->running_mean)) > 1e-3);

  torch::NoGradGuard no_grad;
  generator->eval();
  const torch::Tensor z = torch::randn({40, shape.latent});
  const torch::Tensor expected = generator->forward(z);
  tr::FoldedGenerator folded = tr::fold_batch_norm(*generator);
  CHECK(max_abs_diff(folded.forward(z), expected) <= 1e-5);
  // What the fold stands in for matters: the same generator on batch statistics draws other images.
  generator->train();
  CHECK(max_abs_diff(generator->forward(z), expected) > 1e-2);
}

TEST_CASE("dcgan: a short run trains both players and exports its generator as libtorch runs it") {
  torch::set_num_threads(1);
  TempDir dir("dcgan_run");
  const tr::TrainOptions o = dcgan_run(dir.path / "run", 2);
  const tr::TrainResult result = tr::train(o);
  REQUIRE(result.epochs.size() == 2);

  // metrics.csv: both players' losses, D(x) and D(G(z)) every epoch; no judge, no Fréchet distance.
  const std::vector<std::string> csv = lines_of(dir.path / "run" / "metrics.csv");
  REQUIRE(csv.size() == 3);
  CHECK(csv[0] ==
        "epoch,train_loss,test_generator_loss,test_discriminator_loss,test_d_real,test_d_fake,test_frechet,"
        "images_per_second,seconds");
  for (std::size_t row = 1; row < csv.size(); ++row) {
    CAPTURE(csv[row]);
    const std::vector<double> v = numbers_of(csv[row]);
    REQUIRE(v.size() == 9);
    CHECK(v[0] == static_cast<double>(row));
    for (int c : {1, 2, 3}) CHECK((std::isfinite(v[c]) && v[c] > 0));
    for (int c : {4, 5}) CHECK((v[c] > 0 && v[c] < 1));
    CHECK(std::isnan(v[6]));
  }

  // Both players were trained: each differs from what the seed initialised.
  torch::manual_seed(o.seed);
  tr::FamilySettings settings;
  settings.latent_dims = o.latent_dims;
  const auto initial = tr::make_family("dcgan", settings);
  const std::string checkpoint = (dir.path / "run" / "checkpoint.pt").string();
  const tr::LoadedCheckpoint loaded = tr::load_checkpoint(checkpoint);
  auto& gan = dynamic_cast<tr::DcganFamily&>(*loaded.family);
  auto& fresh = dynamic_cast<tr::DcganFamily&>(*initial);
  CHECK(max_abs_diff(gan.generator()->up1->weight, fresh.generator()->up1->weight) > 1e-4);
  CHECK(max_abs_diff(gan.discriminator()->down2->weight, fresh.discriminator()->down2->weight) > 1e-4);
  CHECK(max_abs_diff(gan.generator()->dense_norm->running_var, fresh.generator()->dense_norm->running_var) > 1e-4);

  // The report's course of training: a row per epoch, each the generator of its epoch on the fixed
  // latents; the last is the trained generator's.
  CHECK(gan.recorded_epochs() == std::vector<int64_t>{1, 2});
  {
    torch::NoGradGuard no_grad;
    gan.generator()->eval();
    const torch::Tensor last = gan.generator()->forward(gan.progress_latents());
    CHECK(max_abs_diff(gan.recorded_samples()[1], last) <= 1e-6);
    CHECK(max_abs_diff(gan.recorded_samples()[0], last) > 1e-3);
  }

  // fp32: the export's own check, then the runtime's prior samples against the checkpoint's
  // generator in eval mode on the same latents, on each backend.
  const std::string path = (dir.path / "dcgan.lkm").string();
  const tr::ExportReport report = tr::export_run(checkpoint, path);
  REQUIRE(report.methods_checked.size() == 1);
  CHECK(report.methods_checked[0].method == "decode");
  CHECK(report.max_abs_diff_reference <= 1e-4);
  if (lk::backend_available(lk::BackendKind::xnnpack)) CHECK((report.max_abs_diff_xnnpack >= 0 && report.max_abs_diff_xnnpack <= 1e-4));
  const lk::Model file = lk::Model::load_file(path);
  REQUIRE(file.latent().groups.size() == 1);
  CHECK(file.latent().groups[0].kind == lk::LatentKind::gaussian);
  CHECK(file.latent().groups[0].name == "z");
  CHECK(file.latent().dims() == o.latent_dims);
  CHECK(file.image().channels == 1);
  CHECK(file.provenance().model_family == "dcgan");
  CHECK(file.find_method("encode") == nullptr);

  std::vector<float> z = lk::sample_latents(file.latent(), 40, 7);
  torch::NoGradGuard no_grad;
  gan.generator()->eval();
  const torch::Tensor zt = torch::from_blob(z.data(), {40, o.latent_dims}, torch::kFloat32);
  const torch::Tensor expected_t = gan.generator()->forward(zt).permute({0, 2, 3, 1}).contiguous();
  const std::vector<float> expected(expected_t.data_ptr<float>(), expected_t.data_ptr<float>() + expected_t.numel());
  int backends = 0;
  for (lk::BackendKind kind : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
    if (!lk::backend_available(kind)) continue;
    ++backends;
    CHECK(max_abs_diff(lk::MethodRunner(file, "decode", kind).run({z}, 40)[0], expected) <= 1e-4);
  }
  CHECK(backends >= 1);

  // int8 weights: images near the float ones.
  const std::string quantised = (dir.path / "dcgan-int8w.lkm").string();
  const tr::ExportReport q = tr::export_run(checkpoint, quantised, {lk::QuantMode::int8_weights});
  CAPTURE(q.accuracy.psnr_db);
  CHECK(q.accuracy.psnr_db > 30);
  CHECK(q.file_bytes < report.file_bytes / 3);
  const lk::Model qfile = lk::Model::load_file(quantised);
  CHECK(max_abs_diff(lk::MethodRunner(qfile, "decode", lk::BackendKind::reference).run({z}, 40)[0], expected) < 0.1);

  // Integer activations are calibrated through an encoder, which a GAN has not.
  const std::string int8 = (dir.path / "dcgan-int8.lkm").string();
  CHECK_THROWS_WITH_AS(tr::export_run(checkpoint, int8, {lk::QuantMode::int8}), doctest::Contains("int8-weights"),
                       std::invalid_argument);
  CHECK(!fs::exists(int8));
}

TEST_CASE("dcgan --judge: a Frechet distance every epoch from fixed samples") {
  torch::set_num_threads(1);
  TempDir dir("dcgan_judge");
  // An untrained judge is a fixed feature map like any other: enough to check the plumbing.
  torch::manual_seed(3);
  tr::Judge judge;
  const std::string judge_path = (dir.path / "judge.pt").string();
  tr::save_judge(judge_path, judge, {}, {});

  tr::TrainOptions o = dcgan_run(dir.path / "run", 1);
  o.family_options = {{"judge", judge_path}};
  o.write_report = true;
  const tr::TrainResult result = tr::train(o);
  REQUIRE(result.epochs.size() == 1);
  for (const char* picture : {"samples.png", "samples_by_epoch.png", "index.html"}) {
    CAPTURE(picture);
    CHECK(fs::exists(dir.path / "run" / picture));
  }
  const double frechet = result.epochs[0].test.back();
  CHECK((std::isfinite(frechet) && frechet > 0));

  // The figure is the generator's samples against the test images: recomputed from the
  // checkpoint it is the same, and the test images against themselves are at distance 0.
  const tr::LoadedCheckpoint loaded = tr::load_checkpoint((dir.path / "run" / "checkpoint.pt").string());
  auto& gan = dynamic_cast<tr::DcganFamily&>(*loaded.family);
  CHECK(gan.options().at("judge") == judge_path);
  const tr::ImageDataset test_set = tr::load_dataset(o.data_dir, tr::Split::test, o.test_limit);
  const torch::Tensor test_images = tr::to_tensor(test_set);
  CHECK(gan.frechet_distance_to(test_images, o.seed) == doctest::Approx(frechet).epsilon(1e-6));
  tr::Judge reloaded = tr::load_judge(judge_path).judge;
  const tr::FeatureStatistics real = tr::feature_statistics(tr::read_images(reloaded, test_images).features);
  CHECK(tr::frechet_distance(real, real) == doctest::Approx(0).epsilon(1e-6));

  // A judge file that is not there stops a run before it trains, naming the file.
  o.run_dir = (dir.path / "missing").string();
  o.family_options = {{"judge", (dir.path / "no-such-judge.pt").string()}};
  CHECK_THROWS_WITH_AS(tr::train(o), doctest::Contains("no-such-judge.pt"), std::runtime_error);
  CHECK(!fs::exists(dir.path / "missing" / "checkpoint.pt"));
}

TEST_CASE("dcgan on coloured MNIST: a generator of three channels exported as libtorch runs it") {
  torch::set_num_threads(1);
  // "coloured-mnist" is made from the MNIST that resolve_dataset finds: the project's data folder.
  setenv("LATENTKIT_DATA", fs::path(LATENTKIT_MNIST_DIR).parent_path().c_str(), 1);
  TempDir dir("dcgan_coloured");
  tr::TrainOptions o = dcgan_run(dir.path / "run", 1);
  o.data_dir = "coloured-mnist";
  o.train_limit = 256;
  tr::train(o);
  const std::string path = (dir.path / "coloured.lkm").string();
  const tr::ExportReport report = tr::export_run((dir.path / "run" / "checkpoint.pt").string(), path);
  CHECK(report.max_abs_diff_reference <= 1e-4);
  if (lk::backend_available(lk::BackendKind::xnnpack)) CHECK((report.max_abs_diff_xnnpack >= 0 && report.max_abs_diff_xnnpack <= 1e-4));
  const lk::Model file = lk::Model::load_file(path);
  CHECK(file.image().channels == 3);
  CHECK(file.provenance().dataset == "coloured-mnist");
}

TEST_CASE("dcgan: a run interrupted and resumed ends as the run that was not") {
  // Both players' weights, both Adam states, the batch norms' statistics and the course of
  // training are in the checkpoint.
  torch::set_num_threads(1);
  TempDir straight("dcgan_straight"), interrupted("dcgan_interrupted");
  tr::TrainOptions o = dcgan_run(straight.path, 2);
  o.train_limit = 256;
  const tr::TrainResult reference = tr::train(o);
  REQUIRE(reference.epochs.size() == 2);

  tr::TrainOptions first = o;
  first.run_dir = interrupted.path.string();
  first.on_step = [](int64_t step) {
    if (step == 3) tr::request_stop();
  };
  REQUIRE(tr::train(first).interrupted);
  tr::TrainOptions second = tr::resume_options(interrupted.path.string());
  second.write_report = false;
  const tr::TrainResult done = tr::train(second);
  REQUIRE(done.epochs.size() == 2);
  for (int e = 0; e < 2; ++e) {
    CHECK(done.epochs[e].train_loss == reference.epochs[e].train_loss);
    // All but the Fréchet distance, NaN without a judge.
    const std::vector<double>& x = done.epochs[e].test;
    const std::vector<double>& y = reference.epochs[e].test;
    REQUIRE(x.size() == y.size());
    CHECK(std::vector<double>(x.begin(), x.end() - 1) == std::vector<double>(y.begin(), y.end() - 1));
  }
  const tr::LoadedCheckpoint a = tr::load_checkpoint((straight.path / "checkpoint.pt").string());
  const tr::LoadedCheckpoint b = tr::load_checkpoint((interrupted.path / "checkpoint.pt").string());
  for (std::size_t m = 0; m < a.family->modules().size(); ++m) {
    const auto& left = a.family->modules()[m].module;
    const auto& right = b.family->modules()[m].module;
    CAPTURE(a.family->modules()[m].name);
    for (const auto& p : left->named_parameters()) CHECK(torch::equal(p.value(), right->named_parameters()[p.key()]));
    for (const auto& p : left->named_buffers()) CHECK(torch::equal(p.value(), right->named_buffers()[p.key()]));
  }
}

TEST_CASE("dcgan's course of training keeps the first 20 epochs and then every 2nd or 4th or 8th one") {
  tr::FamilySettings settings;
  settings.latent_dims = 4;
  const auto family = tr::make_family("dcgan", settings);
  auto& gan = dynamic_cast<tr::DcganFamily&>(*family);
  CHECK(gan.recorded_epochs().empty());
  for (int64_t epoch = 1; epoch <= 20; ++epoch) gan.end_epoch(epoch);
  std::vector<int64_t> expected;
  for (int64_t epoch = 1; epoch <= 20; ++epoch) expected.push_back(epoch);
  CHECK(gan.recorded_epochs() == expected);
  for (int64_t epoch = 21; epoch <= 45; ++epoch) gan.end_epoch(epoch);
  expected.clear();
  for (int64_t epoch = 4; epoch <= 44; epoch += 4) expected.push_back(epoch);
  CHECK(gan.recorded_epochs() == expected);
  CHECK(gan.recorded_samples().sizes() == torch::IntArrayRef({11, tr::DcganFamily::kProgressColumns, 1, 28, 28}));
}

TEST_CASE("dcgan refuses options not its own and bad values and data-parallel training by name") {
  tr::FamilySettings settings;
  settings.options = {{"loss", "bce"}};
  CHECK_THROWS_WITH_AS(tr::make_family("dcgan", settings), doctest::Contains("takes no --loss"), std::invalid_argument);
  settings.options = {{"judge", ""}};
  CHECK_THROWS_WITH_AS(tr::make_family("dcgan", settings), doctest::Contains("--judge"), std::invalid_argument);
  settings.options = {{"channels", "2"}};
  CHECK_THROWS_WITH_AS(tr::make_family("dcgan", settings), doctest::Contains("--channels '2'"), std::invalid_argument);

  // The family's own learning rate when --lr is not given: DCGAN's 2e-4, not the VAE schedule's.
  const tr::FamilyDescription& description = *tr::find_family("dcgan");
  REQUIRE((description.default_learning_rate != nullptr));
  CHECK(description.default_learning_rate({}, 4e-3) == 2e-4);
  CHECK(description.default_latent_dims == 64);
  CHECK(tr::find_family("cvae")->default_latent_dims == 0);

  // A model for grey images refuses coloured ones, naming both shapes.
  settings.options = {};
  const auto grey = tr::make_family("dcgan", settings);
  tr::ImageDataset coloured;
  coloured.count = 1;
  coloured.height = coloured.width = 28;
  coloured.channels = 3;
  CHECK_THROWS_WITH_AS(grey->check_images(coloured, "somewhere"), doctest::Contains("28 x 28 x 1"), std::runtime_error);

  // Data-parallel: refused before a process group is joined or a folder made.
  TempDir dir("dcgan_refusals");
  tr::TrainOptions o = dcgan_run(dir.path / "run", 1);
  o.distributed.world_size = 2;
  CHECK_THROWS_WITH_AS(tr::train(o), doctest::Contains("cannot train data-parallel"), std::invalid_argument);
  CHECK(!fs::exists(dir.path / "run"));
  CHECK(!description.data_parallel);
  CHECK(tr::find_family("cvae")->data_parallel);
}
