// A Gaussian mixture prior (issue #23) through the two programs: latentkit-sample's `info` names
// it, `sample` draws the latents it saves from it (as sample_latents does), and `grid` still works
// over it (a model of the seed-000 decoder shape with random weights over z, 2 dimensions, three
// components); `latentkit export --prior gmm:K` fits one to a short CVAE run (the journey's).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "latentkit/atomic_file.h"
#include "latentkit/latents.h"
#include "latentkit/model_writer.h"
#include "latentkit/trainer/export.h"
#include "runtime/random_model.h"

namespace fs = std::filesystem;
namespace lk = latentkit;

using namespace latentkit::cli_test;

namespace {

lk::LatentGroup mixture_group() {
  lk::LatentGroup z{lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
  z.mixture.weights = {0.2f, 0.5f, 0.3f};
  z.mixture.means = {-3, 1, 0, 0, 4, -2};
  z.mixture.variances = {0.5f, 0.25f, 1, 2, 0.1f, 3};
  return z;
}

}  // namespace

TEST_CASE("latentkit-sample: info names a mixture prior, sample draws from it, grid works over it") {
  Scratch scratch("mixture_sample");
  const lk::LatentGroup z = mixture_group();
  const fs::path path = scratch.dir / "mixture.lkm";
  lk::write_file_atomically(path.string(), lk::serialize_model(lk::testing::seed000_decoder(5, {z})));
  const std::string model = quoted(path);

  const Run info = run(sample_cli + " " + model + " info");
  REQUIRE(info.exit_code == 0);
  CHECK(info.output.find("z (gaussian x2, prior: gaussian mixture of 3 components)") != std::string::npos);

  const fs::path latents = scratch.dir / "z.f32";
  const Run sample = run(sample_cli + " --save-latents " + quoted(latents) + " " + model + " sample -n 16 --seed 3 -o " +
                         quoted(scratch.dir / "sample.png"));
  INFO(sample.output);
  REQUIRE(sample.exit_code == 0);
  lk::LatentSpec spec;
  spec.groups = {z};
  CHECK(read_floats(latents) == lk::sample_latents(spec, 16, 3));

  CHECK(run(sample_cli + " " + model + " grid 3x3 -o " + quoted(scratch.dir / "grid.png")).exit_code == 0);
}

TEST_CASE("latentkit-sample: a file whose mixture is inconsistent is refused, naming the problem") {
  Scratch scratch("mixture_refused");
  lk::LatentGroup z = mixture_group();
  z.mixture.variances[4] = -0.5f;
  const fs::path path = scratch.dir / "bad.lkm";
  lk::write_file_atomically(path.string(), lk::serialize_model(lk::testing::seed000_decoder(5, {z})));
  const Run info = run(sample_cli + " " + quoted(path) + " info");
  CHECK(info.exit_code != 0);
  CHECK(info.output.find("mixture variance 4 is -0.500000 (must be finite and positive)") != std::string::npos);
}

TEST_CASE("latentkit export --prior gmm:3 fits a mixture to the run's codes, its samples decode") {
  Journey& j = journey();
  INFO(j.train.output);
  REQUIRE(j.train.exit_code == 0);
  const fs::path model = j.dir / "cvae-gmm3.lkm";
  const Run exported = run(cli + " export " + quoted(j.dir / "run") + " -o " + quoted(model) +
                           " --prior gmm:3 --data " LATENTKIT_MNIST_DIR);
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  CHECK(exported.output.find("prior: gaussian mixture of 3 components") != std::string::npos);

  const Run info = run(sample_cli + " " + quoted(model) + " info");
  CHECK(info.output.find("prior: gaussian mixture of 3 components") != std::string::npos);
  const Run sample = run(sample_cli + " " + quoted(model) + " sample -n 16 --seed 1 -o " + quoted(j.dir / "gmm3.png"));
  INFO(sample.output);
  CHECK(sample.exit_code == 0);
  CHECK(fs::exists(j.dir / "gmm3.png"));
}

TEST_CASE("latentkit export --prior gmm:auto chooses the number of components by held-out likelihood and says so") {
  Journey& j = journey();
  REQUIRE(j.train.exit_code == 0);
  const fs::path model = j.dir / "cvae-auto.lkm";
  const Run exported = run(cli + " export " + quoted(j.dir / "run") + " -o " + quoted(model) +
                           " --prior gmm:auto --data " LATENTKIT_MNIST_DIR);
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  const std::regex chosen(R"re(\s(\d+) components: +(-?[0-9.]+) nats  <- chosen)re");
  std::smatch m;
  REQUIRE(std::regex_search(exported.output, m, chosen));
  // Every candidate is listed, the chosen one has the highest held-out likelihood, and the file has it.
  const std::regex line(R"re(\s(\d+) components: +(-?[0-9.]+) nats)re");
  int listed = 0;
  for (auto it = std::sregex_iterator(exported.output.begin(), exported.output.end(), line); it != std::sregex_iterator(); ++it) {
    ++listed;
    CHECK(std::stod((*it)[2]) <= std::stod(m[2]));
  }
  CHECK(listed == static_cast<int>(latentkit::trainer::kAutoCandidates.size()));
  const lk::Model loaded = lk::Model::load_file(model.string());
  CHECK(loaded.latent().groups[0].mixture.components() == std::stoi(m[1]));
}

TEST_CASE("latentkit export refuses a --prior it does not know, writing nothing") {
  Journey& j = journey();
  REQUIRE(j.train.exit_code == 0);
  for (const std::string prior : {"gmm:0", "gmm:x", "gmm:", "gmm:-2", "uniform"}) {
    CAPTURE(prior);
    const fs::path model = j.dir / "refused.lkm";
    const Run r = run(cli + " export " + quoted(j.dir / "run") + " -o " + quoted(model) + " --prior " + prior);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("--prior takes normal, gmm:K with K from 1 to 256 components, or gmm:auto, not '" + prior + "'") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(model));
  }
}
