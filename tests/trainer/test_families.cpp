// The family interface: the registry lists the families (the tests take the list from it), a
// checkpoint records its family and loads as it, an unknown family is refused by name, metrics.csv
// has the family's columns, and the CVAE's split step (gradients, then the optimiser's step) is the
// step it always was.
#include "trainer/torch_doctest.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/families/cvae_family.h"
#include "latentkit/trainer/family.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/metrics_table.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/training_loop.h"
#include "trainer/checkpoint_fixtures.h"
#include "trainer/short_run.h"
#include "trainer/temp_dir.h"

namespace fs = std::filesystem;
namespace tr = latentkit::trainer;
namespace fixtures = latentkit::test_fixtures;

namespace {

using latentkit::trainer_test::TempDir;

// One epoch of 4 steps on 100 images, a small test set, no pictures.
tr::TrainOptions tiny_run(const std::string& family, const fs::path& dir) {
  torch::set_num_threads(1);
  tr::TrainOptions o = latentkit::trainer_test::short_run(family, dir, 1, 25, 100, 30);
  o.eval_k = 2;
  o.eval_images = 10;
  return o;
}

std::vector<torch::Tensor> parameters_of(tr::Family& family) {
  std::vector<torch::Tensor> all;
  for (const tr::NamedModule& named : family.modules()) {
    for (const torch::Tensor& p : named.module->parameters()) all.push_back(p);
  }
  return all;
}

bool same_parameters(tr::Family& a, tr::Family& b) {
  const auto pa = parameters_of(a), pb = parameters_of(b);
  if (pa.size() != pb.size()) return false;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    if (!torch::equal(pa[i], pb[i])) return false;
  }
  return true;
}

std::string family_entry(const std::string& checkpoint) {
  torch::serialize::InputArchive archive;
  archive.load_from(checkpoint);
  c10::IValue value;
  return archive.try_read("family", value) ? value.toStringRef() : std::string("(none)");
}

std::string first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TEST_CASE("the registry lists every family once, cvae among them, each with what the trainer needs") {
  const auto& all = tr::families();
  REQUIRE(!all.empty());
  CHECK(tr::find_family("cvae") == &tr::cvae_family());
  std::set<std::string> names;
  for (const tr::FamilyDescription* description : all) {
    const std::string name = description->name;
    CAPTURE(name);
    CHECK(names.insert(name).second);
    CHECK(tr::find_family(name) == description);
    CHECK(tr::known_families().find(name) != std::string::npos);
    CHECK(std::string(description->summary).size() > 0);
    REQUIRE(!description->test_metrics.empty());
    // Test figures share the checkpoint's top level with the run's own entries.
    std::set<std::string> columns = {"epoch", "train_loss", "images_per_second", "seconds", "family",
                                     "latent_dims", "dataset", "epochs_done", "binarization", "family_options"};
    for (const tr::MetricColumn& column : description->test_metrics) CHECK(columns.insert(column.name).second);
    // The run folder's own files are not pictures.
    std::set<std::string> files = {"checkpoint.pt", "metrics.csv", "index.html"};
    for (const tr::Figure& figure : description->figures) {
      CHECK(files.insert(figure.file).second);
      const auto& run_files = tr::run_files();
      CHECK(std::find_if(run_files.begin(), run_files.end(),
                         [&](const char* f) { return figure.file == std::string(f); }) != run_files.end());
    }

    const auto family = tr::make_family(name, {});
    CHECK(&family->description() == description);
    CHECK(!family->modules().empty());
    // A family fitted in closed form (pca) has no optimiser; the others have theirs.
    CHECK((!family->optimizers().empty() || name == "pca"));
  }
  CHECK_THROWS_WITH_AS(tr::make_family("gan", {}), doctest::Contains("unknown model family 'gan' (known: cvae"),
                       std::invalid_argument);
}

TEST_CASE("training_codes: every family with a continuous latent gives one code per image, others refuse") {
  // What `latentkit export --prior gmm:K` fits its mixture to (export.h).
  tr::FamilySettings settings;
  settings.latent_dims = 3;
  const torch::Tensor images = torch::rand({5, 1, 28, 28});
  for (const char* name : {"cvae", "pca", "ae", "dae", "sae", "conv-ae", "mlp-vae"}) {
    CAPTURE(name);
    const torch::Tensor codes = tr::make_family(name, settings)->training_codes(images);
    CHECK(codes.sizes() == torch::IntArrayRef({5, 3}));
    CHECK(codes.dtype() == torch::kFloat32);
  }
  CHECK_THROWS_WITH_AS(tr::make_family("discrete-vae", settings)->training_codes(images),
                       doctest::Contains("has no continuous latent"), std::invalid_argument);
}

TEST_CASE("a checkpoint records its family and loads as it") {
  TempDir dir("records");
  for (const tr::FamilyDescription* description : tr::families()) {
    CAPTURE(description->name);
    torch::manual_seed(5);
    const auto family = tr::make_family(description->name, {});
    tr::RunInfo info;
    info.dataset = "mnist";
    info.epochs_done = 2;
    info.binarization = "dynamic";
    info.test.push_back({description->test_metrics[0].name, -123.5});
    const std::string path = (dir.path / (std::string(description->name) + ".pt")).string();
    tr::save_checkpoint(path, *family, info);
    CHECK(family_entry(path) == description->name);

    const tr::LoadedCheckpoint loaded = tr::load_checkpoint(path);
    CHECK(&loaded.family->description() == description);
    CHECK(same_parameters(*family, *loaded.family));
    CHECK(loaded.info.epochs_done == 2);
    CHECK(loaded.info.test_figure(description->test_metrics[0].name) == -123.5);
    CHECK(std::isnan(loaded.info.test_figure(description->test_metrics.back().name)));
  }
}

TEST_CASE("a checkpoint of an unknown family is refused by load, eval, export and resume, naming it") {
  TempDir dir("unknown");
  const std::string path = (dir.path / "checkpoint.pt").string();
  fixtures::write_cvae_checkpoint_naming(path, "gan");
  const std::string expected = "holds a model of family 'gan', which this latentkit does not know (known families: " +
                               tr::known_families() + ")";
  CHECK_THROWS_WITH_AS(tr::load_checkpoint(path), doctest::Contains(expected.c_str()), std::runtime_error);
  CHECK_THROWS_WITH_AS(tr::export_run(path, (dir.path / "m.lkm").string()), doctest::Contains(expected.c_str()),
                       std::runtime_error);
  CHECK(!fs::exists(dir.path / "m.lkm"));
  CHECK_THROWS_WITH_AS(tr::resume_options(dir.path.string()), doctest::Contains(expected.c_str()),
                       std::runtime_error);

  // The same file naming the CVAE loads: the family is all that was wrong.
  fixtures::write_cvae_checkpoint_naming(path, "cvae");
  CHECK(tr::load_checkpoint(path).family->description().name == std::string("cvae"));

  TempDir run("unknown_run");
  CHECK_THROWS_WITH_AS(tr::train(tiny_run("gan", run.path / "new")), doctest::Contains("unknown model family 'gan'"),
                       std::invalid_argument);
  CHECK(!fs::exists(run.path / "new"));
}

TEST_CASE("a checkpoint without a family entry (latentkit 0.2.0) loads as a CVAE and resumes as one") {
  TempDir named("named"), unnamed("unnamed");
  tr::train(tiny_run("cvae", named.path));
  fixtures::write_unnamed_copy((named.path / "checkpoint.pt").string(), (unnamed.path / "checkpoint.pt").string());
  REQUIRE(family_entry((unnamed.path / "checkpoint.pt").string()) == "(none)");

  const tr::LoadedCheckpoint a = tr::load_checkpoint((named.path / "checkpoint.pt").string());
  const tr::LoadedCheckpoint b = tr::load_checkpoint((unnamed.path / "checkpoint.pt").string());
  CHECK(b.family->description().name == std::string(tr::kFamilyOfUnnamedCheckpoints));
  CHECK(same_parameters(*a.family, *b.family));
  CHECK(b.info.test_figure("test_elbo") == a.info.test_figure("test_elbo"));

  // One more epoch on each: the same weights, bit for bit.
  for (const fs::path& dir : {named.path, unnamed.path}) {
    tr::TrainOptions more = tr::resume_options(dir.string());
    CHECK(more.family == "cvae");
    more.epochs = 2;
    more.write_report = false;
    CHECK(tr::train(more).epochs.size() == 2);
  }
  const tr::LoadedCheckpoint a2 = tr::load_checkpoint((named.path / "checkpoint.pt").string());
  const tr::LoadedCheckpoint b2 = tr::load_checkpoint((unnamed.path / "checkpoint.pt").string());
  CHECK(same_parameters(*a2.family, *b2.family));
  CHECK(family_entry((unnamed.path / "checkpoint.pt").string()) == "cvae");  // rewritten with its family
}

TEST_CASE("metrics.csv has the family's columns between the loop's") {
  TempDir dir("metrics");
  const tr::TrainResult result = tr::train(tiny_run("cvae", dir.path));
  const tr::FamilyDescription& cvae = tr::cvae_family();
  std::string expected = "epoch,train_loss";
  for (const tr::MetricColumn& column : cvae.test_metrics) expected += std::string(",") + column.name;
  expected += ",images_per_second,seconds";
  CHECK(first_line(dir.path / "metrics.csv") == expected);
  CHECK(tr::metrics_csv_header(cvae) == expected);
  // The CVAE's columns are the nine every earlier run wrote.
  CHECK(expected ==
        "epoch,train_loss,test_elbo,test_reconstruction,test_kl,test_iwae,iwae_k,images_per_second,seconds");
  REQUIRE(result.epochs.size() == 1);
  CHECK(result.epochs[0].test.size() == cvae.test_metrics.size());

  // The checkpoint's copy of the table reads back as the same epochs; another family's table is refused.
  const torch::Tensor table = tr::metrics_tensor(cvae, result.epochs);
  CHECK(table.size(1) == static_cast<int64_t>(cvae.test_metrics.size()) + 4);
  const std::vector<tr::EpochReport> back = tr::reports_from_metrics(cvae, table);
  REQUIRE(back.size() == 1);
  CHECK(back[0].test == result.epochs[0].test);
  CHECK(back[0].train_loss == result.epochs[0].train_loss);
  CHECK_THROWS_WITH_AS(tr::reports_from_metrics(cvae, table.slice(1, 0, 5)), doctest::Contains("columns"),
                       std::runtime_error);
}

TEST_CASE("the CVAE's split step (gradients, then the optimiser's step) gives the one-call step's parameters") {
  torch::set_num_threads(1);
  const tr::ImageDataset data = tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::train, 64);
  const torch::Tensor images = (tr::to_tensor(data) >= 0.5f).to(torch::kFloat32);
  constexpr double kRate = 4e-3;

  // The step as train_step did it before the family interface: loss, backward, step in one call.
  torch::manual_seed(3);
  tr::Cvae model(2);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(kRate));
  torch::manual_seed(9);  // the reparameterisation noise
  std::vector<double> losses;
  for (int64_t step = 0; step < 4; ++step) {
    const torch::Tensor batch = images.slice(0, 16 * step, 16 * step + 16);
    auto q = model->encode(batch);
    auto terms = tr::vae_terms(model->decode_logits(tr::reparameterize(q)), batch, q);
    auto loss = (terms.reconstruction + terms.kl).mean();
    losses.push_back(loss.item<double>());
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }

  torch::manual_seed(3);
  tr::FamilySettings settings;
  settings.latent_dims = 2;
  settings.learning_rate = kRate;
  const auto family = tr::make_family("cvae", settings);
  torch::manual_seed(9);
  for (int64_t step = 0; step < 4; ++step) {
    const double loss = family->compute_gradients(images.slice(0, 16 * step, 16 * step + 16));
    CHECK(loss == losses[step]);
    family->apply_gradients();
  }
  const auto split = parameters_of(*family);
  const auto reference = model->parameters();
  REQUIRE(split.size() == reference.size());
  for (std::size_t i = 0; i < split.size(); ++i) CHECK(torch::equal(split[i], reference[i]));

  // A non-finite loss computes no gradient, so that the caller can refuse the step.
  const double poisoned = family->compute_gradients(images.slice(0, 0, 16) * std::nan(""));
  CHECK(std::isnan(poisoned));
  for (const torch::Tensor& p : parameters_of(*family)) {
    CHECK((!p.grad().defined() || p.grad().abs().sum().item<double>() == 0));
  }
}
