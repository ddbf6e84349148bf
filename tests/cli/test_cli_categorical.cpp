// Categorical latent groups through latentkit-sample: `info` lists their labels, `sample` takes a
// category per group (--set GROUP=LABEL, --digit, --colour), `grid --sweep GROUP` gives one row
// per category; and the refusals (an unknown group or label, a Gaussian group, a swept group also
// set, rows that do not match the categories). The model: the seed-000 decoder shape with random
// weights over z (2 Gaussian), digit (10, labels 0..9) and colour (red, green, blue).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "latentkit/atomic_file.h"
#include "latentkit/model_writer.h"
#include "runtime/random_model.h"

namespace fs = std::filesystem;
namespace lk = latentkit;

using namespace latentkit::cli_test;

namespace {

constexpr int kDims = 2 + 10 + 3;

fs::path write_model(const Scratch& scratch) {
  const lk::LatentGroup z{lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
  const lk::LatentGroup digit{lk::LatentKind::categorical, "digit", 10, 1,
                              {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, {}, {}};
  const lk::LatentGroup colour{lk::LatentKind::categorical, "colour", 3, 1, {"red", "green", "blue"}, {}, {}};
  const fs::path path = scratch.dir / "joint.lkm";
  lk::write_file_atomically(path.string(), lk::serialize_model(lk::testing::seed000_decoder(5, {z, digit, colour})));
  return path;
}

// The category latent `i` has in the group at [offset, offset + size), or -1 if not one-hot.
int category_of(const std::vector<float>& z, int i, int offset, int size) {
  int hot = -1;
  for (int k = 0; k < size; ++k) {
    const float v = z[static_cast<std::size_t>(i * kDims + offset + k)];
    if (v == 1.0f && hot < 0) {
      hot = k;
    } else if (v != 0.0f) {
      return -1;
    }
  }
  return hot;
}

}  // namespace

TEST_CASE("latentkit-sample: info lists the labels, sample takes a category per group") {
  Scratch scratch("categorical_sample");
  const std::string model = quoted(write_model(scratch));
  const Run info = run(sample_cli + " " + model + " info");
  REQUIRE(info.exit_code == 0);
  CHECK(info.output.find("digit (1 categorical of 10: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)") != std::string::npos);
  CHECK(info.output.find("colour (1 categorical of 3: red, green, blue)") != std::string::npos);

  const fs::path free_z = scratch.dir / "free.f32", red7_z = scratch.dir / "red7.f32";
  const fs::path free_x = scratch.dir / "free.x", red7_x = scratch.dir / "red7.x";
  REQUIRE(run(sample_cli + " --save-latents " + quoted(free_z) + " --save-images " + quoted(free_x) + " " + model +
              " sample -n 16 --seed 3 -o " + quoted(scratch.dir / "free.png")).exit_code == 0);
  const Run red7 = run(sample_cli + " --save-latents " + quoted(red7_z) + " --save-images " + quoted(red7_x) + " " +
                       model + " sample -n 16 --seed 3 --digit 7 --colour red -o " + quoted(scratch.dir / "red7.png"));
  INFO(red7.output);
  REQUIRE(red7.exit_code == 0);
  CHECK(red7.output.find("digit=7, colour=red") != std::string::npos);
  const std::vector<float> free = read_floats(free_z), chosen = read_floats(red7_z);
  REQUIRE(free.size() == 16 * kDims);
  REQUIRE(chosen.size() == free.size());
  int free_digits_seen = 0;
  for (int i = 0; i < 16; ++i) {
    CHECK(category_of(chosen, i, 2, 10) == 7);
    CHECK(category_of(chosen, i, 12, 3) == 0);
    CHECK(chosen[static_cast<std::size_t>(i * kDims)] == free[static_cast<std::size_t>(i * kDims)]);  // z kept
    free_digits_seen |= 1 << category_of(free, i, 2, 10);
  }
  CHECK(free_digits_seen != (1 << 7));  // unset, the prior draws other digits too
  CHECK(read_floats(red7_x) != read_floats(free_x));  // the decoder sees the categories

  // --set is the general form, by label or index: the same latents.
  const fs::path set_z = scratch.dir / "set.f32";
  REQUIRE(run(sample_cli + " --save-latents " + quoted(set_z) + " " + model +
              " sample -n 16 --seed 3 --set digit=7 --set colour=0 -o " + quoted(scratch.dir / "set.png"))
              .exit_code == 0);
  CHECK(read_floats(set_z) == chosen);
}

TEST_CASE("latentkit-sample: a category prior is listed by info and never draws a category of weight 0") {
  Scratch scratch("category_prior");
  lk::LatentGroup z{lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
  lk::LatentGroup digit{lk::LatentKind::categorical, "digit", 10, 1,
                        {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, {}, {}};
  lk::LatentGroup colour{lk::LatentKind::categorical, "colour", 3, 1, {"red", "unused-1", "blue"}, {}, {}};
  colour.category_weights = {0.75f, 0, 0.25f};
  const fs::path path = scratch.dir / "prior.lkm";
  lk::write_file_atomically(path.string(), lk::serialize_model(lk::testing::seed000_decoder(5, {z, digit, colour})));
  const std::string model = quoted(path);
  const Run info = run(sample_cli + " " + model + " info");
  INFO(info.output);
  REQUIRE(info.exit_code == 0);
  CHECK(info.output.find("colour (1 categorical of 3: red 75 %, unused-1 0 %, blue 25 %)") != std::string::npos);
  CHECK(info.output.find("digit (1 categorical of 10: 0, 1, 2,") != std::string::npos);  // no prior: uniform

  const fs::path drawn = scratch.dir / "drawn.f32";
  REQUIRE(run(sample_cli + " --save-latents " + quoted(drawn) + " " + model + " sample -n 200 --seed 4 -o " +
              quoted(scratch.dir / "drawn.png")).exit_code == 0);
  const std::vector<float> latents = read_floats(drawn);
  REQUIRE(latents.size() == 200 * kDims);
  int counts[3] = {};
  for (int i = 0; i < 200; ++i) {
    const int c = category_of(latents, i, 12, 3);
    REQUIRE(c >= 0);
    ++counts[c];
  }
  CHECK(counts[1] == 0);
  CHECK(counts[0] > counts[2]);
  // Asked for by label, the category of weight 0 is still drawn: the prior is for what is not set.
  const fs::path asked = scratch.dir / "asked.f32";
  REQUIRE(run(sample_cli + " --save-latents " + quoted(asked) + " " + model + " sample -n 4 --seed 4 --colour unused-1 -o " +
              quoted(scratch.dir / "asked.png")).exit_code == 0);
  CHECK(category_of(read_floats(asked), 0, 12, 3) == 1);
}

TEST_CASE("latentkit-sample grid --sweep: one row per category, z1 along the columns") {
  Scratch scratch("categorical_grid");
  const std::string model = quoted(write_model(scratch));
  const fs::path z_path = scratch.dir / "grid.f32";
  const Run grid = run(sample_cli + " --save-latents " + quoted(z_path) + " " + model +
                       " grid 10x4 --sweep digit --colour blue --x-range -1,2 -o " + quoted(scratch.dir / "grid.png"));
  INFO(grid.output);
  REQUIRE(grid.exit_code == 0);
  const std::vector<float> z = read_floats(z_path);
  REQUIRE(z.size() == 40 * kDims);
  for (int row = 0; row < 10; ++row) {
    for (int col = 0; col < 4; ++col) {
      const int i = row * 4 + col;
      CHECK(category_of(z, i, 2, 10) == row);
      CHECK(category_of(z, i, 12, 3) == 2);
      CHECK(z[static_cast<std::size_t>(i * kDims)] == -1.0f + static_cast<float>(col));
      CHECK(z[static_cast<std::size_t>(i * kDims + 1)] == 0.0f);
    }
  }
  CHECK(fs::file_size(scratch.dir / "grid.png") > 100);
}

TEST_CASE("latentkit-sample refuses categories the model does not have, writing nothing") {
  Scratch scratch("categorical_refusals");
  const std::string model = quoted(write_model(scratch)) + " ";
  const fs::path out = scratch.dir / "out.png";
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"sample --set shape=round", "no latent group 'shape' (its categorical groups: digit, colour)"},
      {"sample --colour purple", "latent group 'colour' has no category 'purple' (its labels: red, green, blue"},
      {"sample --digit 10", "latent group 'digit' has no category '10'"},
      {"sample --set z=1", "latent group 'z' is Gaussian"},
      {"sample --set colour", "should be GROUP=LABEL"},
      {"sample --set colour=red --colour blue", "'colour' is set twice"},
      {"grid 5x4 --sweep colour", "one row per category, so 3 rows, not 5 (use 3x4)"},
      {"grid 3x4 --sweep colour --colour red", "a swept group takes every category"},
      {"grid 3x4 --sweep z", "'z' is Gaussian"},
  };
  for (const Case& c : cases) {
    const Run r = run(sample_cli + " " + model + c.args + " -o " + quoted(out));
    INFO(c.args, "\n", r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(c.message) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }
}
