// The training loop never loses a run: exact resume after an interruption, NaN stops that keep the
// last good checkpoint, run folders that never mix two runs, checkpoints that survive kill -9; and
// the CVAE's IWAE bound behaves as theory says. Small runs of the CVAE family on real MNIST images
// (a few hundred, 1 thread).
#include "trainer/torch_doctest.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/evaluation.h"
#include "latentkit/trainer/families/cvae_family.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/training_loop.h"
#include "trainer/short_run.h"
#include "trainer/temp_dir.h"

namespace fs = std::filesystem;
namespace tr = latentkit::trainer;

namespace {

using latentkit::trainer_test::TempDir;

// 2 epochs of 7 steps (200 images, batch 32), a small test set, no pictures.
tr::TrainOptions tiny_run(const fs::path& dir) {
  torch::set_num_threads(1);
  tr::TrainOptions o = latentkit::trainer_test::short_run("cvae", dir, 2, 32, 200, 50);
  o.eval_k = 4;
  o.eval_images = 20;
  return o;
}

// A CVAE run's test figure by its column's name.
double figure(const tr::EpochReport& report, const std::string& name) {
  const auto& columns = tr::cvae_family().test_metrics;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (name == columns[c].name) return report.test.at(c);
  }
  FAIL("no column " << name);
  return 0;
}

void require_same_weights(const std::string& a_path, const std::string& b_path) {
  tr::LoadedCheckpoint a = tr::load_checkpoint(a_path), b = tr::load_checkpoint(b_path);
  const auto ma = a.family->modules(), mb = b.family->modules();
  REQUIRE(ma.size() == mb.size());
  for (std::size_t m = 0; m < ma.size(); ++m) {
    auto pa = ma[m].module->named_parameters(), pb = mb[m].module->named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (const auto& item : pa) {
      INFO(ma[m].name, ".", item.key());
      CHECK(torch::equal(item.value(), pb[item.key()]));  // bit for bit
    }
  }
  CHECK(a.info.epochs_done == b.info.epochs_done);
  CHECK(a.info.test_figure("test_elbo") == b.info.test_figure("test_elbo"));
}

}  // namespace

TEST_CASE("a run interrupted twice and resumed ends with the same weights as one that was not") {
  TempDir straight("straight"), interrupted("interrupted");
  const tr::TrainResult reference = tr::train(tiny_run(straight.path));
  REQUIRE(reference.epochs.size() == 2);
  REQUIRE(reference.step == 14);

  // Interrupted in the middle of epoch 1 (after step 3), exactly where Ctrl-C would stop it.
  tr::TrainOptions first = tiny_run(interrupted.path);
  first.on_step = [](int64_t step) {
    if (step == 3) tr::request_stop();
  };
  const tr::TrainResult part1 = tr::train(first);
  CHECK(part1.interrupted);
  CHECK(part1.step == 3);
  CHECK(part1.epochs.empty());
  CHECK(tr::load_checkpoint((interrupted.path / "checkpoint.pt").string()).info.epochs_done == 0);

  // Resumed with the settings from the checkpoint; interrupted again at the epoch boundary.
  tr::TrainOptions second = tr::resume_options(interrupted.path.string());
  CHECK(second.resume);
  CHECK(second.train_limit == 200);
  CHECK(second.batch_size == 32);
  second.write_report = false;
  second.on_step = [](int64_t step) {
    if (step == 7) tr::request_stop();
  };
  const tr::TrainResult part2 = tr::train(second);
  CHECK(part2.interrupted);
  CHECK(part2.step == 7);
  REQUIRE(part2.epochs.size() == 1);

  tr::TrainOptions third = tr::resume_options(interrupted.path.string());
  third.write_report = false;
  const tr::TrainResult done = tr::train(third);
  CHECK_FALSE(done.interrupted);
  CHECK(done.step == 14);
  REQUIRE(done.epochs.size() == 2);
  for (int e = 0; e < 2; ++e) {
    CHECK(done.epochs[e].train_loss == reference.epochs[e].train_loss);
    CHECK(figure(done.epochs[e], "test_elbo") == figure(reference.epochs[e], "test_elbo"));
    CHECK(figure(done.epochs[e], "iwae_k") == figure(reference.epochs[e], "iwae_k"));
    if (e == 1) CHECK(figure(done.epochs[e], "test_iwae") == figure(reference.epochs[e], "test_iwae"));
  }
  // The IWAE bound is computed after the last epoch only.
  CHECK(figure(done.epochs[0], "iwae_k") == 0);
  CHECK(figure(done.epochs[1], "iwae_k") > 0);
  require_same_weights((straight.path / "checkpoint.pt").string(), (interrupted.path / "checkpoint.pt").string());
}

TEST_CASE("a NaN loss stops the run, names the step and keeps the last good checkpoint") {
  TempDir dir("nan");
  tr::TrainOptions o = tiny_run(dir.path);
  o.inject_nan_at_step = 8;  // 0-based: the 9th step, epoch 2, its second batch
  std::string message;
  try {
    tr::train(o);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK(message.find("the loss became nan at step 9 (epoch 2, batch 2 of 7)") != std::string::npos);
  CHECK(message.find("last good checkpoint (epoch 1)") != std::string::npos);
  const tr::LoadedCheckpoint kept = tr::load_checkpoint((dir.path / "checkpoint.pt").string());
  CHECK(kept.info.epochs_done == 1);
  CHECK(std::isfinite(kept.info.test_figure("test_elbo")));

  // The kept checkpoint resumes (and, with the poison gone, finishes).
  tr::TrainOptions resumed = tr::resume_options(dir.path.string());
  resumed.write_report = false;
  CHECK(tr::train(resumed).epochs.size() == 2);

  TempDir early("nan_early");
  tr::TrainOptions first_step = tiny_run(early.path);
  first_step.inject_nan_at_step = 0;
  CHECK_THROWS_WITH_AS(tr::train(first_step), doctest::Contains("No checkpoint was written yet"),
                       std::runtime_error);
}

TEST_CASE("a run folder never mixes two runs") {
  TempDir dir("mix");
  tr::TrainOptions o = tiny_run(dir.path);
  o.epochs = 1;
  o.eval_k = 0;
  tr::train(o);
  CHECK_THROWS_WITH_AS(tr::train(o), doctest::Contains("already holds a run"), std::runtime_error);
  o.overwrite = true;
  { std::ofstream(dir.path / "metrics.csv.tmp") << "left by a killed write"; }
  CHECK(tr::train(o).epochs.size() == 1);
  CHECK(!fs::exists(dir.path / "metrics.csv.tmp"));  // the old run's leftovers go with it
  o.resume = true;
  CHECK_THROWS_AS(tr::train(o), std::invalid_argument);

  TempDir empty("mix_empty");
  tr::TrainOptions nothing = tiny_run(empty.path);
  nothing.resume = true;
  CHECK_THROWS_WITH_AS(tr::train(nothing), doctest::Contains("no checkpoint.pt"), std::runtime_error);
  CHECK_THROWS(tr::resume_options(empty.path.string()));
}

TEST_CASE("a checkpoint survives its writer being killed with SIGKILL at any moment") {
  TempDir dir("kill");
  const std::string path = (dir.path / "checkpoint.pt").string();
  const auto family = tr::make_family("cvae", {});
  tr::RunInfo info;
  info.dataset = "mnist";
  info.binarization = "dynamic";
  tr::save_checkpoint(path, *family, info);
  int64_t last_seen = 0;
  for (int round = 0; round < 6; ++round) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Rewrite the checkpoint forever, each with a larger epoch count.
      for (int64_t i = last_seen + 1;; ++i) {
        info.epochs_done = i;
        tr::save_checkpoint(path, *family, info);
      }
    }
    ::usleep(20000 + 13000 * round);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status));
    const tr::LoadedCheckpoint loaded = tr::load_checkpoint(path);  // never torn
    CHECK(loaded.info.epochs_done >= last_seen);
    last_seen = loaded.info.epochs_done;
  }
  MESSAGE("checkpoints completed before the kills: ", last_seen);
}

TEST_CASE("IWAE: k = 1 is an ELBO estimate, the bound is above the ELBO and tightens with k") {
  TempDir dir("iwae");
  tr::TrainOptions o = tiny_run(dir.path);
  o.epochs = 1;
  o.eval_k = 0;
  tr::train(o);
  tr::LoadedCheckpoint loaded = tr::load_checkpoint((dir.path / "checkpoint.pt").string());
  tr::Cvae& model = dynamic_cast<tr::CvaeFamily&>(*loaded.family).model();
  const tr::ImageDataset test = tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::test, 100);
  const torch::Tensor x = tr::binarized_test_images(test, tr::Binarization::dynamic);

  const double elbo = tr::evaluate(model, x, 3).elbo;
  const double k1 = tr::iwae_per_image(model, x, 1, 3).mean().item<double>();
  const double k10 = tr::iwae_per_image(model, x, 10, 3).mean().item<double>();
  const double k100 = tr::iwae_per_image(model, x, 100, 3).mean().item<double>();
  MESSAGE("ELBO ", elbo, ", IWAE k=1 ", k1, ", k=10 ", k10, ", k=100 ", k100);
  // Same posterior samples as evaluate(): only the KL differs (Monte Carlo instead of analytic).
  CHECK(std::fabs(k1 - elbo) < 1.0);
  CHECK(k10 > k1);
  CHECK(k100 > k10);
  CHECK(k100 > elbo);

  // Fixed seed: the same figure twice; a small decoder batch (bounded memory) measures the same
  // bound with other samples (a barely trained model: its IWAE-100 varies by about a nat).
  CHECK(tr::iwae_per_image(model, x, 10, 3).equal(tr::iwae_per_image(model, x, 10, 3)));
  const double k100_small_batches = tr::iwae_per_image(model, x, 100, 3, /*max_decodes=*/64).mean().item<double>();
  CHECK(std::fabs(k100_small_batches - k100) < 4.0);
  CHECK(k100_small_batches > k10);

  const tr::EvalResult both = tr::evaluate_with_iwae(model, x, 3, 10, 40);
  CHECK(both.iwae_k == 10);
  CHECK(both.iwae_images == 40);
  CHECK(both.elbo == elbo);
}

TEST_CASE("datasets by name or folder, with clear errors") {
  CHECK(tr::resolve_dataset("some/folder") == "some/folder");
  if (fs::is_directory("/usr/share/datasets/fashion-mnist")) {
    CHECK(tr::resolve_dataset("fashion-mnist") == "/usr/share/datasets/fashion-mnist");
    const tr::ImageDataset fashion = tr::load_mnist_dir(tr::resolve_dataset("fashion-mnist"), tr::Split::test, 10);
    CHECK(fashion.count == 10);
    CHECK(fashion.height == 28);
    CHECK(tr::class_names("/usr/share/datasets/fashion-mnist/")[9] == "Ankle boot");
  } else {
    CHECK_THROWS_WITH_AS(tr::resolve_dataset("fashion-mnist"), doctest::Contains("dataset-fashion-mnist"),
                         std::runtime_error);
  }
  CHECK(tr::class_names(LATENTKIT_MNIST_DIR)[3] == "3");
  TempDir dir("baddata");
  CHECK_THROWS_WITH_AS(tr::load_mnist_dir(dir.path.string(), tr::Split::train), doctest::Contains("train-images-idx3-ubyte"),
                       std::runtime_error);
}
