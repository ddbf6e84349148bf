// Seed 004 in the trainer: coloured MNIST is what it says and the same on every call; the
// Gumbel-softmax pieces behave; categories are named by what they draw; the three MLP VAE families
// train, export (fp32 and int8-weights) and run on both backends as libtorch does, with the
// categorical input set by label through the runtime; bad options are refused by name.
#include "trainer/torch_doctest.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "latentkit/backend.h"
#include "latentkit/latents.h"
#include "latentkit/method_runner.h"
#include "latentkit/trainer/category_naming.h"
#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/coloured_mnist.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/families/mlp_vae_family.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/mlp_vae.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/training_loop.h"
#include "trainer/short_run.h"
#include "trainer/temp_dir.h"

namespace fs = std::filesystem;
namespace lk = latentkit;
namespace tr = latentkit::trainer;

namespace {

using latentkit::trainer_test::TempDir;

// "coloured-mnist" is made from the MNIST that resolve_dataset finds: the project's data folder.
void use_project_data() { setenv("LATENTKIT_DATA", fs::path(LATENTKIT_MNIST_DIR).parent_path().c_str(), 1); }

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  return worst;
}

}  // namespace

TEST_CASE("coloured MNIST: each digit in its drawn colour, the same on every call, a subset a prefix") {
  use_project_data();
  const tr::ImageDataset grey = tr::load_mnist_dir(LATENTKIT_MNIST_DIR, tr::Split::train, 300);
  const tr::ImageDataset coloured = tr::load_dataset("coloured-mnist", tr::Split::train, 300);
  REQUIRE(coloured.channels == 3);
  REQUIRE(coloured.count == 300);
  CHECK(coloured.labels == grey.labels);
  REQUIRE(coloured.colours.size() == 300);
  std::vector<int> seen(tr::colour_palette().size(), 0);
  for (int64_t n = 0; n < coloured.count; ++n) {
    const int colour = coloured.colours[static_cast<std::size_t>(n)];
    REQUIRE(colour < tr::kRandomColours);
    ++seen[static_cast<std::size_t>(colour)];
    // Every pixel is the stroke's grey level times the colour: the brightest pixel shows it.
    const auto& rgb = tr::colour_palette()[static_cast<std::size_t>(colour)].rgb;
    const std::size_t pixels = 28 * 28;
    std::size_t brightest = 0;
    for (std::size_t p = 0; p < pixels; ++p) {
      if (grey.pixels[n * pixels + p] > grey.pixels[n * pixels + brightest]) brightest = p;
    }
    const float level = grey.pixels[n * pixels + brightest] / 255.0f;
    for (int c = 0; c < 3; ++c) {
      CHECK(std::abs(coloured.pixels[(n * pixels + brightest) * 3 + c] - level * rgb[c]) <= 1.0f);
    }
  }
  for (int c = 0; c < tr::kRandomColours; ++c) CHECK(seen[c] > 20);  // about 50 each
  // Deterministic, and the first images of a larger set are the smaller set.
  CHECK(tr::load_dataset("coloured-mnist", tr::Split::train, 300).pixels == coloured.pixels);
  const tr::ImageDataset more = tr::load_dataset("coloured-mnist", tr::Split::train, 400);
  CHECK(std::equal(coloured.pixels.begin(), coloured.pixels.end(), more.pixels.begin()));
  // The test split draws its own colours.
  CHECK(tr::load_dataset("coloured-mnist", tr::Split::test, 300).colours != coloured.colours);
}

TEST_CASE("coloured MNIST sets A and B: a colour per digit, different between the sets") {
  use_project_data();
  const tr::ImageDataset a = tr::load_dataset("coloured-mnist-a", tr::Split::test, 200);
  const tr::ImageDataset b = tr::load_dataset("coloured-mnist-b", tr::Split::test, 200);
  for (std::size_t n = 0; n < 200; ++n) {
    CHECK(a.colours[n] == tr::transfer_colour(tr::TransferSet::a, a.labels[n]));
    CHECK(b.colours[n] == tr::transfer_colour(tr::TransferSet::b, b.labels[n]));
    CHECK(a.colours[n] != b.colours[n]);
  }
  std::vector<int> colours_a;
  for (int d = 0; d < 10; ++d) colours_a.push_back(tr::transfer_colour(tr::TransferSet::a, d));
  std::sort(colours_a.begin(), colours_a.end());
  CHECK(std::unique(colours_a.begin(), colours_a.end()) == colours_a.end());  // ten different colours
}

TEST_CASE("latentkit data's IDX files load back as the same coloured images, labels and colours") {
  use_project_data();
  TempDir dir("coloured_idx");
  const tr::ImageDataset written = tr::load_dataset("coloured-mnist", tr::Split::test, 50);
  tr::write_mnist_dir(written, dir.path.string(), tr::Split::test);
  const tr::ImageDataset read = tr::load_mnist_dir(dir.path.string(), tr::Split::test);
  CHECK(read.channels == 3);
  CHECK(read.pixels == written.pixels);
  CHECK(read.labels == written.labels);
  CHECK(read.colours == written.colours);
  const torch::Tensor x = tr::to_tensor(read);
  CHECK(x.sizes() == torch::IntArrayRef({50, 3, 28, 28}));
  // Channel c of pixel (y, x) is byte (y * 28 + x) * 3 + c.
  CHECK(x[7][2][14][9].item<float>() * 255.0f == doctest::Approx(read.pixels[7 * 2352 + (14 * 28 + 9) * 3 + 2]));
}

TEST_CASE("Gumbel-softmax: samples on the simplex, hard ones one-hot, KL 0 only for the uniform") {
  torch::manual_seed(3);
  const torch::Tensor logits = torch::randn({64, 4, 10});
  const torch::Tensor soft = tr::gumbel_softmax(logits, 0.5, false);
  CHECK(torch::allclose(soft.sum(-1), torch::ones({64, 4}), 1e-5, 1e-5));
  CHECK(soft.min().item<float>() >= 0);
  const torch::Tensor hard = tr::gumbel_softmax(logits, 0.5, true);
  CHECK(torch::equal(hard.sum(-1), torch::ones({64, 4})));
  CHECK(torch::equal(std::get<0>(hard.max(-1)), torch::ones({64, 4})));
  // Low temperature: the sample's most likely category follows the logits more often than not.
  const torch::Tensor peaked = torch::zeros({1000, 1, 3}).index_put_({torch::indexing::Slice(), 0, 2}, 3.0);
  const double share = (tr::gumbel_softmax(peaked, 0.1, true).select(2, 2).sum() / 1000).item<double>();
  CHECK(share == doctest::Approx(std::exp(3.0) / (2 + std::exp(3.0))).epsilon(0.06));
  CHECK(tr::categorical_kl(torch::zeros({2, 3, 10})).abs().max().item<float>() < 1e-6);
  CHECK((tr::categorical_kl(logits) > 0).all().item<bool>());
  CHECK(tr::annealed_temperature(0, 0.0003, 0.5) == 1.0);
  CHECK(tr::annealed_temperature(1000, 0.0003, 0.5) == doctest::Approx(std::exp(-0.3)));
  CHECK(tr::annealed_temperature(100000, 0.0003, 0.5) == 0.5);
}

TEST_CASE("categories are named by the label most of their images have, and shared labels get suffixes") {
  const std::vector<std::string> digits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  const std::vector<std::string> colours = {"red", "green", "blue"};
  // Three categories; colour tells them apart perfectly, digit poorly.
  tr::CategoryCounts digit_counts = {{5, 5, 0, 0, 0, 0, 0, 0, 0, 0}, {5, 5, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  tr::CategoryCounts colour_counts = {{10, 0, 0}, {0, 0, 10}, {0, 0, 0}};
  tr::VariableNaming naming = tr::name_variable(digit_counts, colour_counts, digits, colours);
  CHECK(naming.kind == "colour");
  CHECK(naming.labels == std::vector<std::string>{"red", "blue", "unused-2"});
  CHECK(naming.purity == 1.0);
  // Digits tell apart better; two categories draw mostly 7s: the one with more 7s is "7".
  digit_counts = {{0, 0, 0, 0, 0, 0, 0, 4, 1, 0}, {0, 0, 0, 0, 0, 0, 0, 9, 0, 1}, {10, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  colour_counts = {{2, 2, 1}, {4, 3, 3}, {3, 3, 4}};
  naming = tr::name_variable(digit_counts, colour_counts, digits, colours);
  CHECK(naming.kind == "digit");
  CHECK(naming.labels == std::vector<std::string>{"7-2", "7", "0"});
  CHECK(naming.purity == doctest::Approx(23.0 / 25.0));
  // An anchored variable keeps its kind whatever it draws.
  CHECK(tr::name_variable(digit_counts, colour_counts, digits, colours, "colour").kind == "colour");
  CHECK(tr::group_names({"digit", "colour", "digit"}) == std::vector<std::string>{"digit", "colour", "digit2"});
}

TEST_CASE("mlp-vae, discrete-vae, joint-vae: trained, exported and run by the runtime as libtorch runs them") {
  torch::set_num_threads(1);
  use_project_data();
  TempDir dir("mlp_vae_families");
  for (const char* family : {"mlp-vae", "discrete-vae", "joint-vae"}) {
    CAPTURE(family);
    tr::TrainOptions o = latentkit::trainer_test::short_run(family, dir.path / family, 1, 100, 600, 100);
    o.data_dir = "coloured-mnist";
    o.binarization = tr::Binarization::none;
    if (std::string(family) != "mlp-vae") o.family_options = {{"categorical", "2x10"}, {"labelled", "0.2"}};
    const tr::TrainResult result = tr::train(o);
    REQUIRE(result.epochs.size() == 1);
    // The test loss is the sum of its terms, and each is a number of nats.
    const std::vector<double>& f = result.epochs[0].test;
    CHECK(f[0] == doctest::Approx(f[1] + f[2] + f[3]));
    CHECK(f[1] > 0);
    CHECK((std::string(family) == "discrete-vae" ? f[2] == 0 : f[2] > 0));
    CHECK((std::string(family) == "mlp-vae" ? f[3] == 0 : f[3] > 0));

    const std::string checkpoint = (dir.path / family / "checkpoint.pt").string();
    const std::string path = (dir.path / (std::string(family) + ".lkm")).string();
    const tr::ExportReport report = tr::export_run(checkpoint, path);
    for (const tr::MethodCheck& check : report.methods_checked) {
      CAPTURE(check.method);
      CHECK(check.reference <= 1e-4);
      if (lk::backend_available(lk::BackendKind::xnnpack)) CHECK((check.xnnpack >= 0 && check.xnnpack <= 1e-4));
    }
    const lk::Model file = lk::Model::load_file(path);
    CHECK(file.image().channels == 3);
    CHECK((file.find_method("encode") != nullptr) == (std::string(family) == "mlp-vae"));

    // The runtime's prior samples with a category set by label, decoded on each backend, against
    // the checkpoint's decoder on the same latents.
    const tr::LoadedCheckpoint loaded = tr::load_checkpoint(checkpoint);
    auto& vae = dynamic_cast<tr::MlpVaeFamily&>(*loaded.family);
    vae.model()->eval();
    const lk::LatentSpec& spec = file.latent();
    std::vector<float> z = lk::sample_latents(spec, 40, 7);
    for (std::size_t g = 0; g < spec.groups.size(); ++g) {
      const lk::LatentGroup& group = spec.groups[g];
      if (group.kind != lk::LatentKind::categorical) continue;
      REQUIRE(group.labels.size() == 10);
      const std::string label = group.labels[3];
      lk::set_category(spec, static_cast<int>(g), 0, lk::find_category(group, label), z.data(), 40);
      CHECK(z[static_cast<std::size_t>(lk::group_offset(spec, static_cast<int>(g)) + 3)] == 1.0f);
    }
    torch::NoGradGuard no_grad;
    const torch::Tensor zt = torch::from_blob(z.data(), {40, spec.dims()}, torch::kFloat32);
    const torch::Tensor expected_t = vae.model()->decode(zt).permute({0, 2, 3, 1}).contiguous();
    const std::vector<float> expected(expected_t.data_ptr<float>(), expected_t.data_ptr<float>() + expected_t.numel());
    for (lk::BackendKind kind : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
      if (!lk::backend_available(kind)) continue;
      CHECK(max_abs_diff(lk::MethodRunner(file, "decode", kind).run({z}, 40)[0], expected) <= 1e-4);
    }

    // int8 weights: the same spec and labels, images near the float ones.
    const std::string quantised = (dir.path / (std::string(family) + "-int8w.lkm")).string();
    const tr::ExportReport q = tr::export_run(checkpoint, quantised, {lk::QuantMode::int8_weights});
    CHECK(q.accuracy.psnr_db > 30);
    const lk::Model qfile = lk::Model::load_file(quantised);
    REQUIRE(qfile.latent().groups.size() == spec.groups.size());
    for (std::size_t g = 0; g < spec.groups.size(); ++g) CHECK(qfile.latent().groups[g].labels == spec.groups[g].labels);
    CHECK(max_abs_diff(lk::MethodRunner(qfile, "decode", lk::BackendKind::reference).run({z}, 40)[0], expected) < 0.1);
  }
}

TEST_CASE("joint-vae --labelled: the anchored variables become the digit and the colour groups") {
  torch::set_num_threads(1);
  use_project_data();
  TempDir dir("joint_vae_labelled");
  tr::TrainOptions o = latentkit::trainer_test::short_run("joint-vae", dir.path, 3, 50, 1000, 100);
  o.data_dir = "coloured-mnist";
  o.binarization = tr::Binarization::none;
  o.family_options = {{"categorical", "2x10"}, {"labelled", "1"}};
  tr::train(o);
  const std::string path = (dir.path / "joint.lkm").string();
  tr::export_run((dir.path / "checkpoint.pt").string(), path);
  const lk::Model file = lk::Model::load_file(path);
  const lk::LatentSpec& spec = file.latent();
  REQUIRE(spec.groups.size() == 3);
  CHECK(spec.groups[1].name == "digit");
  CHECK(spec.groups[2].name == "colour");
  // Every colour coloured-mnist draws has its category, named by it.
  for (int c = 0; c < tr::kRandomColours; ++c) {
    CAPTURE(c);
    const std::string colour = tr::colour_palette()[static_cast<std::size_t>(c)].name;
    CHECK(lk::find_category(spec.groups[2], colour) == c);
  }
  // How well: the share of training images whose colour is their category's.
  double colour_purity = 0;
  for (const lk::Metric& m : file.provenance().metrics) {
    if (m.name == "category_purity_colour") colour_purity = m.value;
  }
  CHECK(colour_purity > 0.9);

  // The category prior fitted at export: the shares of the posteriors of coloured-mnist's training
  // images, which are painted in its six colours only; the other categories are (all but) never drawn.
  for (std::size_t g = 1; g < 3; ++g) {
    const std::vector<float>& w = spec.groups[g].category_weights;
    REQUIRE(w.size() == 10);
    double sum = 0;
    for (float v : w) sum += v;
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
  const std::vector<float>& colour = spec.groups[2].category_weights;
  double painted = 0;
  for (int c = 0; c < tr::kRandomColours; ++c) painted += colour[static_cast<std::size_t>(c)];
  CHECK(painted > 0.99);
}

TEST_CASE("MLP VAE families refuse options that are not theirs, and malformed ones, by name") {
  tr::FamilySettings settings;
  settings.options = {{"categorical", "2x10"}};
  CHECK_THROWS_WITH_AS(tr::make_family("mlp-vae", settings), doctest::Contains("takes no --categorical"), std::invalid_argument);
  settings.options = {{"capacity", "5:5:30:100"}};
  CHECK_THROWS_WITH_AS(tr::make_family("discrete-vae", settings), doctest::Contains("takes no --capacity"), std::invalid_argument);
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"categorical", "2x1"}, {"categorical", "ax10"}, {"anneal", "0.1"}, {"anneal", "0.1:0"}, {"gumbel", "warm"},
           {"labelled", "2"}, {"labelled", "0.1:-1"}, {"capacity", "5:5:0:10"}}) {
    CAPTURE(flag);
    CAPTURE(value);
    settings.options = {{flag, value}};
    CHECK_THROWS_WITH_AS(tr::make_family("joint-vae", settings), doctest::Contains(("--" + flag).c_str()), std::invalid_argument);
  }
  // A model built for grey images refuses coloured ones, naming both shapes.
  settings.options = {};
  const auto grey_model = tr::make_family("mlp-vae", settings);
  tr::ImageDataset coloured;
  coloured.count = 1;
  coloured.height = coloured.width = 28;
  coloured.channels = 3;
  CHECK_THROWS_WITH_AS(grey_model->check_images(coloured, "somewhere"), doctest::Contains("28 x 28 x 1"), std::runtime_error);
}

TEST_CASE("joint-vae --capacity and --gumbel hard: each step's loss is finite and reaches every layer") {
  torch::manual_seed(5);
  tr::FamilySettings settings;
  settings.image_channels = 3;
  settings.learning_rate = 1e-3;
  settings.options = {{"capacity", "5:5:30:100"}, {"gumbel", "hard"}};
  const auto family = tr::make_family("joint-vae", settings);
  const torch::Tensor batch = torch::rand({8, 3, 28, 28});
  auto& vae = dynamic_cast<tr::MlpVaeFamily&>(*family);
  const double first = family->compute_gradients(batch);
  CHECK(std::isfinite(first));
  for (const auto& parameter : vae.model()->named_parameters()) {
    CAPTURE(parameter.key());
    REQUIRE(parameter.value().grad().defined());
    CHECK(parameter.value().grad().abs().sum().item<double>() > 0);
  }
  family->apply_gradients();
  // The capacity grows with the steps: the loss of the same batch changes as C(step) moves.
  CHECK(std::isfinite(family->compute_gradients(batch)));
  CHECK(vae.temperature() < 1.0);  // one step of annealing done
}
