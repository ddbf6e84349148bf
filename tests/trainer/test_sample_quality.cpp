// Sample quality (trainer/sample_quality.h): the Fréchet distance against closed forms, including
// covariances that do not commute, and the classifier score at its two ends; the judge reads a
// grey image as that grey in all three channels.
#include "trainer/torch_doctest.h"

#include <cmath>

#include "latentkit/trainer/judge.h"
#include "latentkit/trainer/sample_quality.h"

namespace tr = latentkit::trainer;

namespace {

tr::FeatureStatistics gaussian(const torch::Tensor& mean, const torch::Tensor& covariance) {
  tr::FeatureStatistics s;
  s.mean = mean.to(torch::kFloat64);
  s.covariance = covariance.to(torch::kFloat64);
  s.count = 1000;
  return s;
}

}  // namespace

TEST_CASE("frechet_distance: 0 to itself and |m|^2 + d (a - b)^2 between N(0, a^2 I) and N(m, b^2 I)") {
  const torch::Tensor m = torch::tensor({1.0, -2.0, 0.5, 3.0}, torch::kFloat64);
  const auto a = gaussian(torch::zeros({4}), torch::eye(4) * 1.0);
  const auto b = gaussian(m, torch::eye(4) * 4.0);
  CHECK(tr::frechet_distance(a, a) == doctest::Approx(0).epsilon(1e-9));
  CHECK(tr::frechet_distance(b, b) == doctest::Approx(0).epsilon(1e-9));
  // |m|^2 = 14.25; 4 dims x (1 - 2)^2 = 4.
  CHECK(tr::frechet_distance(a, b) == doctest::Approx(18.25).epsilon(1e-9));
  CHECK(tr::frechet_distance(b, a) == doctest::Approx(18.25).epsilon(1e-9));
}

TEST_CASE("frechet_distance: covariances that do not commute, against the 2 x 2 closed form") {
  // For 2 x 2 positive definite A, B: tr (A^1/2 B A^1/2)^1/2 = sqrt(tr(AB) + 2 sqrt(det A det B)).
  const torch::Tensor A = torch::tensor({{2.0, 0.8}, {0.8, 1.0}}, torch::kFloat64);
  const torch::Tensor B = torch::tensor({{0.5, -0.3}, {-0.3, 3.0}}, torch::kFloat64);
  const torch::Tensor mean_a = torch::tensor({0.0, 1.0}, torch::kFloat64), mean_b = torch::tensor({2.0, 0.0}, torch::kFloat64);
  const double cross = std::sqrt(A.mm(B).trace().item<double>() +
                                 2 * std::sqrt(A.det().item<double>() * B.det().item<double>()));
  const double expected = 5.0 + A.trace().item<double>() + B.trace().item<double>() - 2 * cross;
  CHECK(tr::frechet_distance(gaussian(mean_a, A), gaussian(mean_b, B)) == doctest::Approx(expected).epsilon(1e-9));
}

TEST_CASE("feature_statistics: the sample mean and unbiased covariance, and too few rows refused") {
  const torch::Tensor x = torch::tensor({{1.0, 2.0}, {3.0, 2.0}, {5.0, 8.0}}, torch::kFloat64);
  const tr::FeatureStatistics s = tr::feature_statistics(x);
  CHECK(s.count == 3);
  CHECK(s.mean[0].item<double>() == doctest::Approx(3.0));
  CHECK(s.mean[1].item<double>() == doctest::Approx(4.0));
  CHECK(s.covariance[0][0].item<double>() == doctest::Approx(4.0));
  CHECK(s.covariance[0][1].item<double>() == doctest::Approx(6.0));
  CHECK(s.covariance[1][1].item<double>() == doctest::Approx(12.0));
  CHECK_THROWS_AS(tr::feature_statistics(torch::zeros({1, 4})), std::invalid_argument);
  CHECK_THROWS_AS(tr::feature_statistics(torch::zeros({8})), std::invalid_argument);
}

TEST_CASE("classifier_score: the number of classes for sure balanced verdicts, 1 for one class or none sure") {
  const torch::Tensor balanced = torch::eye(10, torch::kFloat64).repeat({3, 1});
  CHECK(tr::classifier_score(balanced) == doctest::Approx(10.0).epsilon(1e-9));
  torch::Tensor one_class = torch::zeros({30, 10}, torch::kFloat64);
  one_class.select(1, 4).fill_(1.0);
  CHECK(tr::classifier_score(one_class) == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(tr::classifier_score(torch::full({30, 10}, 0.1, torch::kFloat64)) == doctest::Approx(1.0).epsilon(1e-9));
  // Half the classes, sure and balanced: 5.
  CHECK(tr::classifier_score(torch::eye(10, torch::kFloat64).slice(0, 0, 5).repeat({2, 1})) ==
        doctest::Approx(5.0).epsilon(1e-9));
  CHECK_THROWS_AS(tr::classifier_score(torch::zeros({0, 10})), std::invalid_argument);
}

TEST_CASE("read_images: a grey image reads as the same grey in three channels, with features and probabilities per image") {
  torch::manual_seed(3);
  tr::Judge judge;
  const torch::Tensor grey = torch::rand({7, 1, 28, 28});
  const tr::JudgeReading from_grey = tr::read_images(judge, grey);
  const tr::JudgeReading from_rgb = tr::read_images(judge, grey.repeat({1, 3, 1, 1}));
  REQUIRE(from_grey.features.sizes() == torch::IntArrayRef({7, 128}));
  REQUIRE(from_grey.digit_probabilities.sizes() == torch::IntArrayRef({7, tr::kJudgeDigits}));
  CHECK(torch::allclose(from_grey.features, from_rgb.features));
  CHECK(torch::allclose(from_grey.digit_probabilities.sum(1), torch::ones({7}, torch::kFloat64)));
  CHECK_THROWS_AS(tr::read_images(judge, torch::rand({2, 2, 28, 28})), std::invalid_argument);
}
