// The corruptions of `latentkit-sample denoise` (tools/common/corruption.h): each does what its
// name says, at the rate asked, the same for the same seed, and a spec that does not parse or fit
// is refused with a message that names it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "corruption.h"
#include "latentkit/error.h"

namespace lk = latentkit;
using lk::cli::Corruption;

namespace {

const lk::ImageSpec kGrey28{28, 28, 1, lk::ValueRange::unit};

std::string refusal(const std::string& text) {
  try {
    lk::cli::parse_corruption(text);
  } catch (const lk::Error& e) {
    CHECK(e.code() == lk::ErrorCode::invalid_argument);
    return e.what();
  }
  FAIL("accepted: " << text);
  return {};
}

std::vector<float> grey(int count, const lk::ImageSpec& spec, float value) {
  return std::vector<float>(static_cast<std::size_t>(spec.pixels() * count), value);
}

}  // namespace

TEST_CASE("corruption specs: what parses, and what is refused with the reason") {
  CHECK(lk::cli::parse_corruption("mask:0.3").kind == Corruption::Kind::mask);
  CHECK(lk::cli::parse_corruption("mask-patch:7").kind == Corruption::Kind::mask_patch);
  CHECK(lk::cli::parse_corruption("gaussian:0.25").value == 0.25);
  CHECK(lk::cli::parse_corruption("salt-pepper:1").kind == Corruption::Kind::salt_pepper);
  CHECK(refusal("mask").find("no ':'") != std::string::npos);
  CHECK(refusal("mask:").find("'' is not a number") != std::string::npos);
  CHECK(refusal("mask:0.3x").find("'0.3x' is not a number") != std::string::npos);
  CHECK(refusal("mask:nan").find("not a finite number") != std::string::npos);
  CHECK(refusal("mask:-0.1").find("within 0..1") != std::string::npos);
  CHECK(refusal("salt-pepper:2").find("within 0..1") != std::string::npos);
  CHECK(refusal("mask-patch:0").find("whole number of pixels") != std::string::npos);
  CHECK(refusal("mask-patch:2.5").find("whole number of pixels") != std::string::npos);
  CHECK(refusal("gaussian:11").find("sigma must be within 0..10") != std::string::npos);
  const std::string unknown = refusal("blur:2");
  CHECK(unknown.find("unknown kind 'blur'") != std::string::npos);
  CHECK(unknown.find("mask:FRACTION, mask-patch:SIZE, gaussian:SIGMA or salt-pepper:FRACTION") != std::string::npos);
}

TEST_CASE("mask blacks out the fraction asked, whole pixels, the same for the same seed") {
  const lk::ImageSpec rgb{16, 16, 3, lk::ValueRange::symmetric};
  std::vector<float> images = grey(50, rgb, 0.5f);
  lk::cli::corrupt_images(images, 50, rgb, lk::cli::parse_corruption("mask:0.3"), 9);
  int black = 0;
  for (std::size_t p = 0; p < images.size(); p += 3) {
    // all three channels of a pixel together, to the range's low end (-1 here)
    CHECK(images[p] == images[p + 1]);
    CHECK(images[p] == images[p + 2]);
    if (images[p] == -1.0f) ++black;
    else CHECK(images[p] == 0.5f);
  }
  const double fraction = black / (50.0 * 256.0);
  CHECK(fraction > 0.27);
  CHECK(fraction < 0.33);
  std::vector<float> again = grey(50, rgb, 0.5f);
  lk::cli::corrupt_images(again, 50, rgb, lk::cli::parse_corruption("mask:0.3"), 9);
  CHECK(again == images);
  std::vector<float> other = grey(50, rgb, 0.5f);
  lk::cli::corrupt_images(other, 50, rgb, lk::cli::parse_corruption("mask:0.3"), 10);
  CHECK(other != images);
}

TEST_CASE("mask-patch blacks out one square of the size asked in each image") {
  std::vector<float> images = grey(20, kGrey28, 1.0f);
  lk::cli::corrupt_images(images, 20, kGrey28, lk::cli::parse_corruption("mask-patch:6"), 4);
  for (int i = 0; i < 20; ++i) {
    int top = 28, left = 28, bottom = -1, right = -1, count = 0;
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        if (images[static_cast<std::size_t>(i * 784 + y * 28 + x)] != 0.0f) continue;
        ++count;
        top = std::min(top, y), left = std::min(left, x), bottom = std::max(bottom, y), right = std::max(right, x);
      }
    }
    CHECK(count == 36);
    CHECK(bottom - top == 5);
    CHECK(right - left == 5);
  }
  std::vector<float> small = grey(1, lk::ImageSpec{5, 5, 1, lk::ValueRange::unit}, 1.0f);
  try {
    lk::cli::corrupt_images(small, 1, lk::ImageSpec{5, 5, 1, lk::ValueRange::unit},
                            lk::cli::parse_corruption("mask-patch:6"), 1);
    FAIL("a patch larger than the image was accepted");
  } catch (const lk::Error& e) {
    CHECK(std::string(e.what()).find("a 6x6 patch does not fit in 5x5 images") != std::string::npos);
  }
}

TEST_CASE("gaussian noise has the sigma asked and stays in the range, salt-pepper is the two ends") {
  std::vector<float> images = grey(40, kGrey28, 0.5f);
  lk::cli::corrupt_images(images, 40, kGrey28, lk::cli::parse_corruption("gaussian:0.1"), 2);
  double sum = 0, squares = 0;
  for (float v : images) {
    CHECK((v >= 0.0f && v <= 1.0f));
    sum += v - 0.5;
    squares += (v - 0.5) * (v - 0.5);
  }
  const double n = static_cast<double>(images.size());
  CHECK(std::fabs(sum / n) < 0.005);
  CHECK(std::sqrt(squares / n) == doctest::Approx(0.1).epsilon(0.05));
  std::vector<float> clipped = grey(2, kGrey28, 0.5f);
  lk::cli::corrupt_images(clipped, 2, kGrey28, lk::cli::parse_corruption("gaussian:5"), 2);
  for (float v : clipped) CHECK((v >= 0.0f && v <= 1.0f));

  std::vector<float> salted = grey(40, kGrey28, 0.5f);
  lk::cli::corrupt_images(salted, 40, kGrey28, lk::cli::parse_corruption("salt-pepper:0.2"), 5);
  int salt = 0, pepper = 0;
  for (float v : salted) {
    if (v == 1.0f) ++salt;
    else if (v == 0.0f) ++pepper;
    else CHECK(v == 0.5f);
  }
  CHECK((salt + pepper) / n == doctest::Approx(0.2).epsilon(0.1));
  CHECK(static_cast<double>(salt) / (salt + pepper) == doctest::Approx(0.5).epsilon(0.1));
}

TEST_CASE("PSNR in dB against the range's width") {
  const std::vector<float> a(100, 0.5f), b(100, 0.6f);
  CHECK(lk::cli::psnr_db(a.data(), b.data(), a.size(), kGrey28) == doctest::Approx(20.0).epsilon(1e-4));
  const lk::ImageSpec symmetric{28, 28, 1, lk::ValueRange::symmetric};  // peak 2: 6 dB more
  CHECK(lk::cli::psnr_db(a.data(), b.data(), a.size(), symmetric) == doctest::Approx(26.0206).epsilon(1e-4));
  CHECK(std::isinf(lk::cli::psnr_db(a.data(), a.data(), a.size(), kGrey28)));
}
