// The ex-post prior's fitting (issue #23): EM recovers well-separated clusters, is the same for a
// seed, and refuses what it cannot fit.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "latentkit/error.h"
#include "latentkit/rng.h"
#include "latentkit/trainer/gaussian_mixture.h"

namespace lk = latentkit;
namespace lkt = latentkit::trainer;

namespace {
// 3000 codes of 2 dimensions: 30 % around (-5, 0) with standard deviations (1, 0.5), 70 % around
// (5, 2) with (0.5, 1).
std::vector<double> two_clusters() {
  lk::Rng rng(42);
  std::vector<double> codes;
  for (int i = 0; i < 3000; ++i) {
    const bool first = i % 10 < 3;
    codes.push_back(first ? -5 + 1.0 * rng.normal() : 5 + 0.5 * rng.normal());
    codes.push_back(first ? 0 + 0.5 * rng.normal() : 2 + 1.0 * rng.normal());
  }
  return codes;
}
}  // namespace

TEST_CASE("fit_gaussian_mixture recovers two well-separated clusters' weights, means and variances") {
  const lkt::GaussianMixtureFit fit = lkt::fit_gaussian_mixture(two_clusters(), 2, 2, 1);
  const lk::GaussianMixture& m = fit.mixture;
  REQUIRE(m.components() == 2);
  REQUIRE(m.means.size() == 4);
  const int left = m.means[0] < m.means[2] ? 0 : 1, right = 1 - left;
  CHECK(m.weights[left] == doctest::Approx(0.3).epsilon(0.02));
  CHECK(m.weights[right] == doctest::Approx(0.7).epsilon(0.02));
  CHECK(std::fabs(m.means[2 * left] + 5) < 0.1);
  CHECK(std::fabs(m.means[2 * left + 1]) < 0.1);
  CHECK(std::fabs(m.means[2 * right] - 5) < 0.1);
  CHECK(std::fabs(m.means[2 * right + 1] - 2) < 0.1);
  CHECK(m.variances[2 * left] == doctest::Approx(1.0).epsilon(0.15));
  CHECK(m.variances[2 * left + 1] == doctest::Approx(0.25).epsilon(0.15));
  CHECK(m.variances[2 * right] == doctest::Approx(0.25).epsilon(0.15));
  CHECK(m.variances[2 * right + 1] == doctest::Approx(1.0).epsilon(0.15));
  CHECK(fit.iterations < 200);
  double sum = 0;
  for (float w : m.weights) sum += w;
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("fit_gaussian_mixture is the same for a seed, and floors variances") {
  const std::vector<double> codes = two_clusters();
  const lkt::GaussianMixtureFit a = lkt::fit_gaussian_mixture(codes, 2, 3, 7), b = lkt::fit_gaussian_mixture(codes, 2, 3, 7);
  CHECK(a.mixture.weights == b.mixture.weights);
  CHECK(a.mixture.means == b.mixture.means);
  CHECK(a.mixture.variances == b.mixture.variances);
  CHECK(a.log_likelihood == b.log_likelihood);
  // Four codes on two points: each component collapses onto a point, and stops at the floor.
  const lkt::GaussianMixtureFit collapsed = lkt::fit_gaussian_mixture({0, 0, 0, 0, 1, 1, 1, 1}, 2, 2, 3);
  for (float v : collapsed.mixture.variances) CHECK(v == doctest::Approx(1e-6));
  for (float w : collapsed.mixture.weights) CHECK(w == doctest::Approx(0.5));
}

TEST_CASE("fit_gaussian_mixture refuses what it cannot fit") {
  CHECK_THROWS_WITH_AS(lkt::fit_gaussian_mixture({1, 2, 3, 4}, 2, 0, 1),
                       "a Gaussian mixture needs at least 1 component, not 0", lk::Error);
  CHECK_THROWS_WITH_AS(lkt::fit_gaussian_mixture({1, 2, 3, 4}, 2, 3, 1),
                       "fitting 3 components needs at least 3 codes, got 2", lk::Error);
  CHECK_THROWS_WITH_AS(lkt::fit_gaussian_mixture({1, 2, 3}, 2, 1, 1), "3 values are not codes of 2 dimensions",
                       lk::Error);
  CHECK_THROWS_WITH_AS(lkt::fit_gaussian_mixture({1, 2, NAN, 4}, 2, 1, 1),
                       "code 1 is not finite (dimension 0)", lk::Error);
}

TEST_CASE("mean_log_likelihood: a one-component mixture's is the normal density's, in closed form") {
  lk::GaussianMixture m;
  m.weights = {1.0f};
  m.means = {1.0f, -2.0f};
  m.variances = {4.0f, 0.25f};
  // Codes (1, -2) and (3, -1.5): log N = -log(2 pi) - 0.5 log(4 x 0.25) - 0.5 (e1^2 / 4 + e2^2 / 0.25).
  const double log_2pi = std::log(2 * M_PI);
  const double first = -log_2pi, second = -log_2pi - 0.5 * (4.0 / 4 + 0.25 / 0.25);
  CHECK(lkt::mean_log_likelihood(m, {1, -2, 3, -1.5}, 2) == doctest::Approx((first + second) / 2).epsilon(1e-12));
  CHECK_THROWS_AS(lkt::mean_log_likelihood(m, {1, -2, 3}, 2), lk::Error);
  CHECK_THROWS_AS(lkt::mean_log_likelihood(m, {1, -2, 3}, 3), lk::Error);
}

TEST_CASE("choose_components: held-out likelihood picks two for two clusters, over one and many") {
  const lkt::ComponentChoice choice = lkt::choose_components(two_clusters(), 2, {1, 2, 5000}, 1);
  CHECK(choice.components == 2);
  // 5000 components cannot be fitted to 2700 codes: skipped, not an error.
  REQUIRE(choice.held_out.size() == 2);
  CHECK(choice.held_out[0].first == 1);
  CHECK(choice.held_out[1].first == 2);
  CHECK(choice.held_out[1].second > choice.held_out[0].second + 0.5);
  CHECK(choice.held_out_log_likelihood == choice.held_out[1].second);
  CHECK_THROWS_AS(lkt::choose_components(two_clusters(), 2, {5000}, 1), lk::Error);
  CHECK_THROWS_AS(lkt::choose_components({0, 0, 1, 1}, 2, {1}, 1), lk::Error);
}
