// The judge (trainer/judge.h) and latentkit-judge control: a judge trained a little tells colours
// and, well above chance, digits; its file round-trips and a wrong file is refused by name;
// control measures every label a model file has (read from the file) and refuses models it cannot
// judge. The judge is trained once for the whole file (a few seconds); the one model trained here
// is a joint-vae of one short epoch, through the latentkit program as a user would.
#include "trainer/torch_doctest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "latentkit/atomic_file.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/trainer/binarization.h"
#include "latentkit/trainer/coloured_mnist.h"
#include "latentkit/trainer/judge.h"
#include "latentkit/trainer/mnist.h"
#include "runtime/random_model.h"
#include "trainer/temp_dir.h"

namespace fs = std::filesystem;
namespace lk = latentkit;
namespace tr = latentkit::trainer;
using latentkit::cli_test::quoted;
using latentkit::cli_test::run;
using latentkit::trainer_test::TempDir;

namespace {

const std::string judge_cli = LATENTKIT_JUDGE_CLI;

// 2000 digits in two colourings, one epoch: what the tests below can afford.
const tr::JudgeTrainResult& small_judge() {
  static const tr::JudgeTrainResult result = [] {
    tr::JudgeTrainOptions o;
    o.mnist_dir = LATENTKIT_MNIST_DIR;
    o.epochs = 1;
    o.train_limit = 2000;
    o.test_limit = 1000;
    o.batch_size = 64;
    o.seed = 7;
    return tr::train_judge(o);
  }();
  return result;
}

// The small judge in a file, for the command-line tests.
fs::path small_judge_file(const TempDir& dir) {
  const fs::path path = dir.path / "judge.pt";
  tr::Judge judge = small_judge().judge;
  tr::save_judge(path.string(), judge, small_judge().coloured_mnist, small_judge().all_colours);
  return path;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// One label's line of `control --json`.
struct JsonLabel {
  std::string group, label, asked;
  bool primary = false;
  double share = -1;
  int64_t digit_total = 0, colour_total = 0;
};

int64_t sum_of(const std::string& counts) {
  int64_t total = 0;
  std::stringstream in(counts);
  std::string item;
  while (std::getline(in, item, ',')) total += std::stoll(item);
  return total;
}

std::vector<JsonLabel> json_labels(const std::string& json) {
  static const std::regex line(
      R"re(\{"group": "([^"]*)", "label": "([^"]*)", "category": \d+, "kind": "[a-z]+", "asked": "([^"]*)", )re"
      R"re("primary": (true|false), "share": ([-0-9.e+]+), "digits": \[([^\]]*)\], "colours": \[([^\]]*)\]\})re");
  std::vector<JsonLabel> labels;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), line); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    labels.push_back({m[1], m[2], m[3], m[4] == "true", std::stod(m[5]), sum_of(m[6]), sum_of(m[7])});
  }
  return labels;
}

// The labels of the file's digit... and colour... groups as the runtime reads them, as
// "GROUP=LABEL", without the unused ones.
std::set<std::string> file_labels(const fs::path& model) {
  std::set<std::string> labels;
  const lk::Model loaded = lk::Model::load_file(model.string());
  for (const lk::LatentGroup& g : loaded.latent().groups) {
    if (g.kind != lk::LatentKind::categorical) continue;
    if (g.name.rfind("digit", 0) != 0 && g.name.rfind("colour", 0) != 0) continue;
    for (const std::string& label : g.labels) {
      if (label.rfind("unused-", 0) != 0) labels.insert(g.name + "=" + label);
    }
  }
  return labels;
}

// A decoder of coloured 28 x 28 images with random weights over the latent groups `groups`.
// What every control report must be: each label of the file measured once, on `samples` samples
// judged for digit and colour, with a share in [0, 1].
std::vector<JsonLabel> check_control_report(const std::string& json, const fs::path& model, int64_t samples) {
  const std::vector<JsonLabel> labels = json_labels(json);
  std::set<std::string> measured;
  for (const JsonLabel& l : labels) {
    measured.insert(l.group + "=" + l.label);
    CHECK(l.share >= 0);
    CHECK(l.share <= 1);
    CHECK(l.digit_total == samples);
    CHECK(l.colour_total == samples);
  }
  CHECK(measured == file_labels(model));
  return labels;
}

fs::path write_rgb_model(const fs::path& path, const std::vector<lk::LatentGroup>& groups) {
  lk::LatentSpec spec;
  spec.groups = groups;
  std::mt19937_64 rng(11);
  lk::testing::DecoderBuilder builder(spec.dims());
  builder.fully_connected(28 * 28 * 3, lk::testing::random_weights(rng, int64_t{28 * 28 * 3} * spec.dims(), spec.dims()));
  builder.activation(lk::OpKind::sigmoid);
  builder.reshape({28, 28, 3});
  lk::ModelDescription d = builder.finish();
  d.latent = spec;
  lk::write_file_atomically(path.string(), lk::serialize_model(d));
  return path;
}

}  // namespace

TEST_CASE("judge: trained a little on coloured MNIST, it tells the colours, and the digits well above chance") {
  const tr::JudgeTrainResult& trained = small_judge();
  MESSAGE("small judge (4000 images, 1 epoch): ", trained.seconds, " s; coloured-mnist digit ",
          trained.coloured_mnist.digit, ", colour ", trained.coloured_mnist.colour, "; all ten colours digit ",
          trained.all_colours.digit, ", colour ", trained.all_colours.colour);
  CHECK(trained.coloured_mnist.images == 1000);
  CHECK(trained.coloured_mnist.colour >= 0.9);
  CHECK(trained.all_colours.colour >= 0.9);
  // Chance is 0.1.
  CHECK(trained.coloured_mnist.digit >= 0.5);
  CHECK(trained.all_colours.digit >= 0.5);

  // On held-out images it was not measured on: test images 1000..1999.
  const tr::ImageDataset grey = tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::test, 2000);
  tr::ImageDataset later = tr::colour_randomly(grey, tr::Split::test);
  const auto drop = [](auto& v, std::size_t n) { v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n)); };
  drop(later.pixels, static_cast<std::size_t>(1000 * later.image_bytes()));
  drop(later.labels, 1000);
  drop(later.colours, 1000);
  later.count = 1000;
  tr::Judge judge = trained.judge;
  const tr::JudgeAccuracy held_out = tr::judge_accuracy(judge, later);
  CHECK(held_out.colour >= 0.9);
  CHECK(held_out.digit >= 0.5);

  // What it is asked to judge must be coloured MNIST.
  const tr::ImageDataset grey_few = tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::test, 10);
  CHECK_THROWS_WITH_AS(tr::judge_accuracy(judge, grey_few), doctest::Contains("28 x 28 RGB images, not 28 x 28 x 1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(tr::classify(judge, torch::zeros({2, 1, 28, 28})), doctest::Contains("[N, 3, 28, 28]"),
                       std::invalid_argument);
}

TEST_CASE("judge: saved and loaded, it gives the same verdicts and keeps its figures") {
  TempDir dir("judge");
  const fs::path path = small_judge_file(dir);
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));
  const tr::LoadedJudge loaded = tr::load_judge(path.string());
  CHECK(loaded.coloured_mnist.digit == small_judge().coloured_mnist.digit);
  CHECK(loaded.coloured_mnist.colour == small_judge().coloured_mnist.colour);
  CHECK(loaded.all_colours.images == small_judge().all_colours.images);

  const tr::ImageDataset images =
      tr::all_colours_dataset(tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::test, 300), tr::Split::test);
  const torch::Tensor x = tr::to_tensor(images);
  tr::Judge original = small_judge().judge;
  tr::Judge reloaded = loaded.judge;
  const tr::Verdicts a = tr::classify(original, x), b = tr::classify(reloaded, x);
  CHECK(a.digits == b.digits);
  CHECK(a.colours == b.colours);
  // The logits themselves, bit for bit.
  torch::NoGradGuard no_grad;
  original->eval();
  CHECK(torch::equal(original->forward(x).digit, reloaded->forward(x).digit));
  CHECK(torch::equal(original->forward(x).colour, reloaded->forward(x).colour));
}

TEST_CASE("judge: a missing, foreign, truncated or garbled file is refused by name") {
  TempDir dir("judge_refusals");
  const fs::path good = small_judge_file(dir);
  const std::string bytes = read_bytes(good);

  CHECK_THROWS_WITH_AS(tr::load_judge((dir.path / "absent.pt").string()), doctest::Contains("no judge file at"),
                       std::runtime_error);
  const fs::path garbage = dir.path / "garbage.pt";
  write_bytes(garbage, "this is not a judge\n");
  CHECK_THROWS_WITH_AS(tr::load_judge(garbage.string()), doctest::Contains("is not a judge file"), std::runtime_error);
  const fs::path half = dir.path / "half.pt";
  write_bytes(half, bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_AS(tr::load_judge(half.string()), std::runtime_error);
  // A libtorch archive of something else: a module with other parameters.
  const fs::path foreign = dir.path / "foreign.pt";
  torch::serialize::OutputArchive archive;
  torch::nn::Linear(3, 4)->save(archive);
  archive.save_to(foreign.string());
  CHECK_THROWS_WITH_AS(tr::load_judge(foreign.string()), doctest::Contains("not a judge file"), std::runtime_error);
}

TEST_CASE("latentkit-judge control: every label of the file, second categories judged as their digit, unused ones not") {
  TempDir dir("judge_labels");
  const fs::path judge = small_judge_file(dir);
  const lk::LatentGroup z{lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
  const lk::LatentGroup digit{lk::LatentKind::categorical, "digit", 4, 1, {"0", "7", "7-2", "unused-3"}, {}, {}};
  const lk::LatentGroup colour{lk::LatentKind::categorical, "colour", 3, 1, {"red", "green", "red-2"}, {}, {}};
  const fs::path model = write_rgb_model(dir.path / "random.lkm", {z, digit, colour});

  const auto r = run(judge_cli + " control " + quoted(model) + " --judge " + quoted(judge) + " --samples 40 --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<JsonLabel> labels = check_control_report(r.out, model, 40);
  for (const JsonLabel& l : labels) CHECK(l.primary == (l.label.find('-') == std::string::npos));
  for (const JsonLabel& l : labels) {
    if (l.label == "7-2") CHECK(l.asked == "7");
    if (l.label == "red-2") CHECK(l.asked == "red");
  }
  CHECK(r.out.find(R"("not_judged": ["unused-3"])") != std::string::npos);
  CHECK(r.out.find(R"("offered": ["0", "7"], "missing": ["1", "2", "3", "4", "5", "6", "8", "9"])") != std::string::npos);

  // The text form says the same.
  const auto text = run(judge_cli + " control " + quoted(model) + " --judge " + quoted(judge) + " --samples 40");
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("digit=7-2") != std::string::npos);
  CHECK(text.out.find("not judged: unused-3") != std::string::npos);
}

TEST_CASE("latentkit-judge control: refuses a model without categories, grey images, and a missing or damaged judge") {
  TempDir dir("judge_cli_refusals");
  const fs::path judge = small_judge_file(dir);
  const fs::path gaussian = dir.path / "gaussian.lkm";
  lk::write_file_atomically(gaussian.string(), lk::serialize_model(lk::testing::seed000_decoder(3, 2)));
  const lk::LatentGroup z{lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
  const lk::LatentGroup digit{lk::LatentKind::categorical, "digit", 3, 1, {"0", "1", "2"}, {}, {}};
  const fs::path grey = dir.path / "grey.lkm";
  lk::write_file_atomically(grey.string(), lk::serialize_model(lk::testing::seed000_decoder(3, {z, digit})));
  const fs::path rgb = write_rgb_model(dir.path / "rgb.lkm", {z, digit});

  auto refused = [&](const std::string& arguments, const std::string& message) {
    const auto r = run(judge_cli + " control " + arguments);
    INFO(arguments, "\n", r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find(message) != std::string::npos);
  };
  refused(quoted(gaussian) + " --judge " + quoted(judge), "has no categorical latent group");
  refused(quoted(grey) + " --judge " + quoted(judge), "draws 28x28x1 images; the judge reads 28x28x3");
  refused(quoted(rgb) + " --judge " + quoted(dir.path / "absent.pt"), "no judge file at");
  const fs::path garbled = dir.path / "garbled.pt";
  write_bytes(garbled, std::string(1000, 'x'));
  refused(quoted(rgb) + " --judge " + quoted(garbled), "is not a judge file");
  refused(quoted(dir.path / "absent.lkm") + " --judge " + quoted(judge), "absent.lkm");

  // train writes nothing when it cannot: a folder that does not exist.
  const auto r = run(judge_cli + " train --out " + quoted(dir.path / "no" / "judge.pt") + " --train-limit 10");
  CHECK(r.exit_code != 0);
  CHECK_FALSE(fs::exists(dir.path / "no"));
}

TEST_CASE("latentkit-judge control: a short joint-vae run draws the colour asked for more often than its prior") {
  TempDir dir("judge_joint");
  const fs::path judge = small_judge_file(dir);
  const fs::path run_dir = dir.path / "joint", model = dir.path / "joint.lkm";
  // The coloured sets are made from $LATENTKIT_DATA/mnist.
  const std::string data = "LATENTKIT_DATA=" + quoted(fs::path(LATENTKIT_MNIST_DIR).parent_path()) + " ";
  // As short as a run can be and still name a colour group: with one epoch of 2000 images (16
  // steps) both variables draw white blobs and are both named "colour"; 250 steps with a quarter
  // of the labels anchor variable 1 to the colours (measured: the best colour 95 % of samples,
  // the worst 38 %, each well above its share of plain prior samples).
  const auto trained = run(data + latentkit::cli_test::cli + " train joint-vae --data coloured-mnist --train-limit 4000 "
                           "--test-limit 200 --epochs 2 --batch 32 --labelled 0.25 --no-report --threads 1 --seed 1 --out " +
                           quoted(run_dir));
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  const auto exported = run(data + latentkit::cli_test::cli + " export " + quoted(run_dir) + " -o " + quoted(model));
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);

  const auto r = run(judge_cli + " control " + quoted(model) + " --judge " + quoted(judge) + " --samples 200 --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<JsonLabel> labels = check_control_report(r.out, model, 200);

  std::smatch prior;
  REQUIRE(std::regex_search(r.out, prior, std::regex(R"re("prior": \{"digits": \[[^\]]*\], "colours": \[([^\]]*)\]\})re")));
  std::vector<double> prior_share;
  std::stringstream counts(prior[1].str());
  for (std::string item; std::getline(counts, item, ',');) prior_share.push_back(std::stod(item) / 200.0);
  const std::vector<std::string> colours = tr::colour_names();
  REQUIRE(prior_share.size() == colours.size());
  double best = 0, worst = 1;
  int colour_labels = 0;
  for (const JsonLabel& l : labels) {
    if (l.group != "colour" || !l.primary) continue;
    ++colour_labels;
    const auto asked = static_cast<std::size_t>(
        std::find(colours.begin(), colours.end(), l.asked) - colours.begin());
    INFO("colour=", l.label, ": ", l.share, " of samples, ", prior_share[asked], " of prior samples");
    CHECK(l.share > prior_share[asked]);
    best = std::max(best, l.share);
    worst = std::min(worst, l.share);
  }
  MESSAGE("short joint-vae run: ", colour_labels, " colours, drawn in ", worst, " .. ", best, " of samples");
  CHECK(colour_labels > 0);
  CHECK(best >= 0.8);
}

namespace {

// One image set's figures in `score --json`: "NAME": {"images": N, "frechet_distance": F, ...}.
struct JsonFigures {
  int64_t images = -1, digit_total = -1;
  double frechet_distance = -1, classifier_score = -1;
};

JsonFigures json_figures(const std::string& json, const std::string& name) {
  std::smatch m;
  const std::regex figures("\"" + name + R"re(": \{"images": (\d+), "frechet_distance": ([-0-9.e+]+), )re"
                           R"re("classifier_score": ([-0-9.e+]+), "digits": \[([^\]]*)\]\})re");
  JsonFigures f;
  if (std::regex_search(json, m, figures)) {
    f.images = std::stoll(m[1]);
    f.frechet_distance = std::stod(m[2]);
    f.classifier_score = std::stod(m[3]);
    f.digit_total = sum_of(m[4]);
  }
  return f;
}

}  // namespace

TEST_CASE("latentkit-judge score: a fitted prior's samples of a short ae run are nearer the test set than N(0, I)'s") {
  TempDir dir("judge_score");
  const fs::path judge = small_judge_file(dir);
  const fs::path run_dir = dir.path / "ae", normal = dir.path / "normal.lkm", fitted = dir.path / "gmm.lkm";
  const std::string data = quoted(fs::path(LATENTKIT_MNIST_DIR));
  const auto trained = run(latentkit::cli_test::cli + " train ae --code 8 --data " + data + " --train-limit 2000 "
                           "--test-limit 200 --epochs 2 --batch 32 --no-report --threads 1 --seed 1 --out " + quoted(run_dir));
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  for (const auto& [file, prior] : {std::pair{normal, "normal"}, std::pair{fitted, "gmm:10"}}) {
    const auto exported = run(latentkit::cli_test::cli + " export " + quoted(run_dir) + " -o " + quoted(file) +
                              " --prior " + prior);
    INFO(exported.output);
    REQUIRE(exported.exit_code == 0);
  }

  auto score = [&](const fs::path& model) {
    const auto r = run(judge_cli + " score " + quoted(model) + " --judge " + quoted(judge) + " --data " + data +
                       " --samples 500 --test-limit 500 --json");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const JsonFigures samples = json_figures(r.out, "model_samples"), real = json_figures(r.out, "training_images"),
                      decoded = json_figures(r.out, "test_codes_decoded");
    CHECK(samples.images == 500);
    CHECK(samples.digit_total == 500);
    CHECK(real.images == 500);
    CHECK(decoded.images == 500);  // an autoencoder has an encode method
    // Real images are the nearest to real images, and no sample beats their classifier score by much.
    CHECK(real.frechet_distance < samples.frechet_distance);
    CHECK(real.frechet_distance < decoded.frechet_distance);
    CHECK(samples.classifier_score >= 1);
    CHECK(samples.classifier_score <= 10);
    return std::pair{r.out, samples};
  };
  const auto [normal_json, from_normal] = score(normal);
  const auto [fitted_json, from_fitted] = score(fitted);
  CHECK(normal_json.find(R"("prior": "normal")") != std::string::npos);
  CHECK(fitted_json.find(R"("prior": "gaussian mixture of 10 components over code")") != std::string::npos);
  MESSAGE("short ae run, Frechet distance of 500 samples: N(0, I) ", from_normal.frechet_distance, ", gmm:10 ",
          from_fitted.frechet_distance);
  CHECK(from_fitted.frechet_distance < 0.7 * from_normal.frechet_distance);

  // What it refuses: a model of RGB images against grey MNIST, a missing judge.
  const lk::LatentGroup z{lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
  const fs::path rgb = write_rgb_model(dir.path / "rgb.lkm", {z});
  const auto mismatched = run(judge_cli + " score " + quoted(rgb) + " --judge " + quoted(judge) + " --data " + data +
                              " --samples 10 --test-limit 10");
  CHECK(mismatched.exit_code == 1);
  CHECK(mismatched.out.empty());
  CHECK(mismatched.err.find("28x28x1 images, the model draws 28x28x3") != std::string::npos);
  const auto no_judge = run(judge_cli + " score " + quoted(normal) + " --judge " + quoted(dir.path / "absent.pt"));
  CHECK(no_judge.exit_code == 1);
  CHECK(no_judge.err.find("no judge file at") != std::string::npos);
}
