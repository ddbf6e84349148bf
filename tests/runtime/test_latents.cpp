// Sampling, grids, interpolation and tiling: what a user sees when rendering latents.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "latentkit/error.h"
#include "latentkit/image_grid.h"
#include "latentkit/latents.h"
#include "latentkit/rng.h"

namespace lk = latentkit;

namespace {
lk::LatentSpec gaussian(int dims) {
  lk::LatentSpec spec;
  spec.groups.push_back({lk::LatentKind::gaussian, "z", dims, 1, {}, {}, {}});
  return spec;
}
}  // namespace

TEST_CASE("Rng follows its specification: SplitMix64 reference outputs") {
  lk::Rng rng(0);
  CHECK(rng.next_u64() == 0xE220A8397B1DCDAFULL);  // the published SplitMix64 sequence for seed 0
  CHECK(rng.next_u64() == 0x6E789E6AA1B965F4ULL);
}

TEST_CASE("Rng normals match an independent implementation of the specification") {
  // Computed from the spec in rng.h with Python's float arithmetic and math.log.
  const double expected[] = {-0.04174152338145259, -0.18308020910924871, 0.8764814690994562,
                             0.18137224678834896,  -0.3059911682027954,  -1.6121698126951967};
  lk::Rng rng(7);
  for (double e : expected) CHECK(rng.normal() == doctest::Approx(e).epsilon(1e-14));
}

TEST_CASE("portable_log agrees with libm within 4 ulp") {
  lk::Rng rng(3);
  for (int i = 0; i < 100000; ++i) {
    const double x = std::ldexp(rng.uniform() + 0.5, static_cast<int>(rng.below(200)) - 100);
    const double ours = lk::portable_log(x), libm = std::log(x);
    REQUIRE(std::fabs(ours - libm) <= 4 * std::fabs(std::nextafter(libm, 0.0) - libm) + 1e-300);
  }
  CHECK(lk::portable_log(1.0) == 0.0);
}

TEST_CASE("sample_latents: a seed gives the same latents, bit for bit, another seed does not") {
  const lk::LatentSpec spec = gaussian(3);
  const auto a = lk::sample_latents(spec, 50, 7), b = lk::sample_latents(spec, 50, 7);
  const auto c = lk::sample_latents(spec, 50, 8);
  REQUIRE(a.size() == 150);
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  CHECK(a != c);
  // Latents are drawn in sequence: asking for more extends, never reshuffles.
  const auto longer = lk::sample_latents(spec, 60, 7);
  CHECK(std::equal(a.begin(), a.end(), longer.begin()));
}

TEST_CASE("sample_latents draws from the standard normal prior") {
  const auto z = lk::sample_latents(gaussian(2), 100000, 11);
  double sum = 0, squares = 0;
  for (float v : z) {
    sum += v;
    squares += double{v} * v;
  }
  const double mean = sum / z.size(), variance = squares / z.size() - mean * mean;
  CHECK(std::fabs(mean) < 0.01);
  CHECK(std::fabs(variance - 1) < 0.02);
}

namespace {
// Three components over 2 dimensions, as rng.h's mixture example below reads them.
lk::LatentSpec mixture_of_three() {
  lk::LatentSpec spec = gaussian(2);
  spec.groups[0].mixture.weights = {0.2f, 0.5f, 0.3f};
  spec.groups[0].mixture.means = {-3, 1, 0, 0, 4, -2};
  spec.groups[0].mixture.variances = {0.5f, 0.25f, 1, 2, 0.1f, 3};
  return spec;
}
}  // namespace

TEST_CASE("sample_latents from a mixture matches an independent implementation of rng.h's specification") {
  // Computed with Python's float arithmetic and math.log from the specification (components 1, 1,
  // 0, 2): a platform or compiler that picks another component or fuses a multiply-add fails.
  const float expected[] = {2.2315926551818848f,  -1.8098444938659668f, -0.37562984228134155f, -2.8498525619506836f,
                            -3.1382508277893066f, 0.5538125038146973f,  4.348351955413818f,    -1.746894121170044f};
  const auto z = lk::sample_latents(mixture_of_three(), 4, 7);
  REQUIRE(z.size() == 8);
  for (std::size_t i = 0; i < z.size(); ++i) CHECK(z[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  const auto again = lk::sample_latents(mixture_of_three(), 4, 7);
  CHECK(std::memcmp(z.data(), again.data(), z.size() * sizeof(float)) == 0);
}

TEST_CASE("sample_latents from a mixture: each component as often as its weight, with its mean and variance") {
  lk::LatentSpec spec = gaussian(2);
  // Components 10 apart with standard deviations <= 0.5: the nearest mean tells the component.
  spec.groups[0].mixture.weights = {0.2f, 0.5f, 0.3f};
  spec.groups[0].mixture.means = {-10, 5, 0, 0, 10, -5};
  spec.groups[0].mixture.variances = {0.25f, 0.04f, 0.09f, 0.16f, 0.01f, 0.25f};
  const int n = 20000;
  const auto z = lk::sample_latents(spec, n, 3);
  double count[3] = {}, sum[3][2] = {}, squares[3][2] = {};
  for (int i = 0; i < n; ++i) {
    const float x = z[2 * i], y = z[2 * i + 1];
    const int k = x < -5 ? 0 : x < 5 ? 1 : 2;
    count[k] += 1;
    sum[k][0] += x;
    sum[k][1] += y;
    squares[k][0] += double{x} * x;
    squares[k][1] += double{y} * y;
  }
  const auto& m = spec.groups[0].mixture;
  for (int k = 0; k < 3; ++k) {
    CAPTURE(k);
    // The share's standard deviation is at most sqrt(0.25 / 20000) = 0.0035.
    CHECK(std::fabs(count[k] / n - m.weights[k]) < 0.015);
    for (int d = 0; d < 2; ++d) {
      const double mean = sum[k][d] / count[k], variance = squares[k][d] / count[k] - mean * mean;
      CHECK(std::fabs(mean - m.means[2 * k + d]) < 0.03);
      CHECK(std::fabs(variance / m.variances[2 * k + d] - 1) < 0.1);
    }
  }
}

TEST_CASE("sample_latents: a one-component mixture is mean + sqrt(variance) x the standard normal draws") {
  // With one component nothing is drawn to choose it, so the normals are the N(0, I) prior's.
  lk::LatentSpec spec = gaussian(3);
  spec.groups[0].mixture.weights = {1};
  spec.groups[0].mixture.means = {2, -1, 0.5f};
  spec.groups[0].mixture.variances = {4, 0.25f, 1};
  const auto shifted = lk::sample_latents(spec, 100, 9);
  const auto standard = lk::sample_latents(gaussian(3), 100, 9);
  REQUIRE(shifted.size() == standard.size());
  const float mean[] = {2, -1, 0.5f}, sd[] = {2, 0.5f, 1};
  for (std::size_t i = 0; i < shifted.size(); ++i) {
    CHECK(shifted[i] == doctest::Approx(mean[i % 3] + sd[i % 3] * standard[i]).epsilon(1e-6));
  }
}

TEST_CASE("sample_latents: a mixture group keeps its place among other groups") {
  lk::LatentSpec spec = mixture_of_three();
  spec.groups.push_back({lk::LatentKind::categorical, "digit", 10, 1, {}, {}, {}});
  const auto z = lk::sample_latents(spec, 50, 4);
  REQUIRE(z.size() == 50 * 12);
  for (int i = 0; i < 50; ++i) {
    float hot = 0;
    for (int k = 0; k < 10; ++k) hot += z[12 * i + 2 + k];
    CHECK(hot == 1);
  }
  // A grid ignores the mixture: it spans the decoder's latent space around 0, as for N(0, I).
  CHECK(lk::grid_latents(mixture_of_three(), 2, 2, {-1, 1}, {-1, 1}) == lk::grid_latents(gaussian(2), 2, 2, {-1, 1}, {-1, 1}));
}

TEST_CASE("sample_latents: categorical groups are one-hot") {
  lk::LatentSpec spec;
  spec.groups.push_back({lk::LatentKind::categorical, "digit", 10, 2, {}, {}, {}});
  const auto z = lk::sample_latents(spec, 100, 5);
  REQUIRE(z.size() == 100 * 20);
  for (std::size_t g = 0; g < z.size(); g += 10) {
    float sum = 0;
    for (int k = 0; k < 10; ++k) sum += z[g + k];
    CHECK(sum == 1.0f);
  }
}

TEST_CASE("sample_latents with category weights: each category as often as its weight, one of weight 0 never") {
  lk::LatentSpec spec = gaussian(1);
  spec.groups.push_back({lk::LatentKind::categorical, "style", 4, 2, {}, {}, {}});
  spec.groups[1].category_weights = {0.1f, 0.2f, 0.7f, 0, 0, 0, 0, 1};
  const int n = 20000;
  const auto z = lk::sample_latents(spec, n, 5);
  double count[2][4] = {};
  for (int i = 0; i < n; ++i) {
    for (int v = 0; v < 2; ++v) {
      int hot = -1, ones = 0;
      for (int k = 0; k < 4; ++k) {
        const float value = z[static_cast<std::size_t>(i) * 9 + 1 + static_cast<std::size_t>(v) * 4 + static_cast<std::size_t>(k)];
        if (value == 1.0f) hot = k, ++ones;
        else REQUIRE(value == 0.0f);
      }
      REQUIRE(ones == 1);
      count[v][hot] += 1;
    }
  }
  for (int k = 0; k < 4; ++k) {
    CAPTURE(k);
    // The share's standard deviation is at most sqrt(0.25 / 20000) = 0.0035.
    CHECK(std::fabs(count[0][k] / n - spec.groups[1].category_weights[static_cast<std::size_t>(k)]) < 0.015);
  }
  CHECK(count[0][3] == 0);
  CHECK(count[1][3] == n);
}

TEST_CASE("sample_latents with category weights follows rng.h's weighted draw, one per variable, in order") {
  lk::LatentSpec spec;
  spec.groups.push_back({lk::LatentKind::categorical, "c", 3, 2, {}, {}, {}});
  spec.groups[0].category_weights = {0.25f, 0.25f, 0.5f, 0.5f, 0, 0.5f};
  const auto z = lk::sample_latents(spec, 50, 13);
  lk::Rng rng(13);
  for (int i = 0; i < 50; ++i) {
    for (int v = 0; v < 2; ++v) {
      const float* w = spec.groups[0].category_weights.data() + 3 * v;
      const double u = rng.uniform() * ((double{w[0]} + w[1]) + w[2]);
      const int expected = u < w[0] ? 0 : u < double{w[0]} + w[1] ? 1 : 2;
      for (int k = 0; k < 3; ++k) {
        CHECK(z[static_cast<std::size_t>(i) * 6 + static_cast<std::size_t>(v) * 3 + static_cast<std::size_t>(k)] ==
              (k == expected ? 1.0f : 0.0f));
      }
    }
  }
}

TEST_CASE("set_category puts one variable of a categorical group on the asked category, in every latent") {
  lk::LatentSpec spec;
  spec.groups.push_back({lk::LatentKind::gaussian, "style", 2, 1, {}, {}, {}});
  spec.groups.push_back({lk::LatentKind::categorical, "digit", 10, 2, {}, {}, {}});
  spec.groups.push_back({lk::LatentKind::categorical, "colour", 3, 1, {"red", "green", "blue"}, {}, {}});
  auto z = lk::sample_latents(spec, 4, 9);
  const auto before = z;
  CHECK(lk::group_offset(spec, 0) == 0);
  CHECK(lk::group_offset(spec, 1) == 2);
  CHECK(lk::group_offset(spec, 2) == 22);
  lk::set_category(spec, 1, 1, 7, z.data(), 4);
  lk::set_category(spec, 2, 0, 2, z.data(), 4);
  for (int i = 0; i < 4; ++i) {
    const float* one = z.data() + i * 25;
    for (int k = 0; k < 12; ++k) CHECK(one[k] == before[i * 25 + k]);  // style and digit variable 0 kept
    for (int k = 0; k < 10; ++k) CHECK(one[12 + k] == (k == 7 ? 1.0f : 0.0f));
    for (int k = 0; k < 3; ++k) CHECK(one[22 + k] == (k == 2 ? 1.0f : 0.0f));
  }
  const auto set = z;
  CHECK_THROWS_WITH_AS(lk::set_category(spec, 0, 0, 0, z.data(), 4),
                       "latent group 0 ('style') is Gaussian, not categorical: it has no categories to set", lk::Error);
  CHECK_THROWS_WITH_AS(lk::set_category(spec, 1, 2, 0, z.data(), 4),
                       "latent group 1 ('digit') has 2 categorical variable(s), no 2", lk::Error);
  CHECK_THROWS_WITH_AS(lk::set_category(spec, 2, 0, 3, z.data(), 4),
                       "latent group 2 ('colour') has categories 0..2, not 3", lk::Error);
  CHECK_THROWS_WITH_AS(lk::set_category(spec, 3, 0, 0, z.data(), 4), "latent group 3 does not exist (the model has 3)",
                       lk::Error);
  CHECK(z == set);  // a refused call writes nothing
}

TEST_CASE("find_group and find_category name groups and categories by label or index") {
  lk::LatentSpec spec;
  spec.groups.push_back({lk::LatentKind::gaussian, "style", 2, 1, {}, {}, {}});
  spec.groups.push_back({lk::LatentKind::categorical, "digit", 10, 1, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, {}, {}});
  spec.groups.push_back({lk::LatentKind::categorical, "colour", 3, 1, {"red", "green", "blue"}, {}, {}});
  spec.groups.push_back({lk::LatentKind::categorical, "unlabelled", 4, 1, {}, {}, {}});
  CHECK(lk::find_group(spec, "colour") == 2);
  CHECK_THROWS_WITH_AS(lk::find_group(spec, "color"),
                       "the model has no latent group 'color' (its categorical groups: digit, colour, unlabelled)",
                       lk::Error);
  CHECK(lk::find_category(spec.groups[1], "7") == 7);
  CHECK(lk::find_category(spec.groups[2], "blue") == 2);
  CHECK(lk::find_category(spec.groups[2], "1") == 1);  // an index where no label matches
  CHECK(lk::find_category(spec.groups[3], "3") == 3);
  CHECK_THROWS_WITH_AS(lk::find_category(spec.groups[2], "purple"),
                       "latent group 'colour' has no category 'purple' (its labels: red, green, blue; or an index 0..2)",
                       lk::Error);
  CHECK_THROWS_AS(lk::find_category(spec.groups[2], "3"), lk::Error);
  CHECK_THROWS_AS(lk::find_category(spec.groups[3], "-1"), lk::Error);
  CHECK_THROWS_AS(lk::find_category(spec.groups[3], "99999999999999"), lk::Error);
  // A digit group trained without labels may lack a digit: category 7 exists, but it draws a 3.
  const lk::LatentGroup partial{lk::LatentKind::categorical, "digit", 10, 1,
                                {"0", "1", "3-2", "3", "4", "5", "6", "8-2", "8", "9"}, {}, {}};
  CHECK(lk::find_category(partial, "3") == 3);
  CHECK(lk::find_category(partial, "3-2") == 2);
  CHECK_THROWS_WITH_AS(lk::find_category(partial, "7"),
                       "latent group 'digit' has no category '7' (its labels: 0, 1, 3-2, 3, 4, 5, 6, 8-2, 8, 9)", lk::Error);
}

TEST_CASE("category_grid_latents: one row per category, the first dimension along X") {
  lk::LatentSpec spec;
  spec.groups.push_back({lk::LatentKind::gaussian, "style", 2, 1, {}, {}, {}});
  spec.groups.push_back({lk::LatentKind::categorical, "colour", 3, 1, {"red", "green", "blue"}, {}, {}});
  spec.groups.push_back({lk::LatentKind::categorical, "digit", 4, 2, {}, {}, {}});
  const auto z = lk::category_grid_latents(spec, 1, 5, {-2, 2});
  const int dims = 2 + 3 + 8;
  REQUIRE(z.size() == static_cast<std::size_t>(3 * 5 * dims));
  for (int row = 0; row < 3; ++row) {
    for (int col = 0; col < 5; ++col) {
      const float* one = z.data() + (row * 5 + col) * dims;
      CHECK(one[0] == -2.0f + col);
      CHECK(one[1] == 0.0f);
      for (int k = 0; k < 3; ++k) CHECK(one[2 + k] == (k == row ? 1.0f : 0.0f));
      for (int k = 0; k < 8; ++k) CHECK(one[5 + k] == (k % 4 == 0 ? 1.0f : 0.0f));  // both variables on category 0
    }
  }
  // A group of two variables: both on the row's category.
  const auto two = lk::category_grid_latents(spec, 2, 1, {0, 0});
  REQUIRE(two.size() == static_cast<std::size_t>(4 * dims));
  for (int k = 0; k < 8; ++k) CHECK(two[2 * dims + 5 + k] == (k % 4 == 2 ? 1.0f : 0.0f));
  CHECK_THROWS_WITH_AS(lk::category_grid_latents(spec, 0, 5, {-1, 1}),
                       "latent group 'style' is Gaussian: only a categorical group gives one row per category",
                       lk::Error);
  CHECK_THROWS_AS(lk::category_grid_latents(spec, 1, 0, {-1, 1}), lk::Error);
  CHECK_THROWS_AS(lk::category_grid_latents(spec, 3, 5, {-1, 1}), lk::Error);
}

TEST_CASE("normal_quantile matches known values") {
  CHECK(lk::normal_quantile(0.5) == doctest::Approx(0.0).epsilon(1e-12));
  CHECK(lk::normal_quantile(0.95) == doctest::Approx(1.6448536269514722).epsilon(1e-10));
  CHECK(lk::normal_quantile(0.001) == doctest::Approx(-3.090232306167813).epsilon(1e-10));
  CHECK_THROWS_AS(lk::normal_quantile(1.0), lk::Error);
}

TEST_CASE("grid_latents: z1 along X, z2 along Y from the top, other dimensions 0") {
  const lk::LatentSpec spec = gaussian(3);
  const auto z = lk::grid_latents(spec, 3, 5, {-2, 2}, {-1, 1});
  REQUIRE(z.size() == 3 * 5 * 3);
  auto at = [&](int row, int col, int d) { return z[(row * 5 + col) * 3 + d]; };
  CHECK(at(0, 0, 0) == -2.0f);
  CHECK(at(0, 4, 0) == 2.0f);
  CHECK(at(2, 2, 0) == 0.0f);
  CHECK(at(0, 0, 1) == 1.0f);   // top row: the top of the Y range
  CHECK(at(2, 0, 1) == -1.0f);  // bottom row
  CHECK(at(1, 3, 1) == 0.0f);
  for (int i = 0; i < 15; ++i) CHECK(z[i * 3 + 2] == 0.0f);
  CHECK_THROWS_AS(lk::grid_latents(gaussian(1), 5, 5, {-1, 1}, {-1, 1}), lk::Error);
  CHECK_THROWS_AS(lk::grid_latents(spec, 0, 5, {-1, 1}, {-1, 1}), lk::Error);
}

TEST_CASE("interpolate_latents includes both ends") {
  const auto z = lk::interpolate_latents({0, 10}, {4, -10}, 5);
  REQUIRE(z.size() == 10);
  CHECK(z[0] == 0.0f);
  CHECK(z[1] == 10.0f);
  CHECK(z[4] == 2.0f);
  CHECK(z[5] == 0.0f);
  CHECK(z[8] == 4.0f);
  CHECK(z[9] == -10.0f);
  CHECK_THROWS_AS(lk::interpolate_latents({0}, {1, 2}, 3), lk::Error);
}

TEST_CASE("tile_images lays tiles out row-major with gaps and maps [0, 1] to 0..255") {
  const lk::ImageSpec spec{2, 2, 1, lk::ValueRange::unit};
  std::vector<float> images(6 * 4);
  for (int i = 0; i < 6; ++i) {
    for (int p = 0; p < 4; ++p) images[i * 4 + p] = i / 5.0f;
  }
  images[0] = -3.0f;  // out of range values are clamped
  images[1] = 7.0f;
  const lk::Picture picture = lk::tile_images(images.data(), spec, 2, 3, 1);
  CHECK(picture.width == 3 * 2 + 2);
  CHECK(picture.height == 2 * 2 + 1);
  auto px = [&](int x, int y) { return picture.pixels[y * picture.width + x]; };
  CHECK(px(0, 0) == 0);
  CHECK(px(1, 0) == 255);
  CHECK(px(2, 0) == 0);    // gap
  CHECK(px(3, 0) == 51);   // tile 1: 0.2
  CHECK(px(6, 4) == 255);  // tile 5 (row 1, col 2): 1.0
  CHECK(px(0, 2) == 0);    // gap row
}
