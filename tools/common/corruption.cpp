#include "corruption.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "latentkit/error.h"
#include "latentkit/rng.h"

namespace latentkit::cli {

namespace {

[[noreturn]] void refuse(const std::string& text, const std::string& why) {
  throw Error(ErrorCode::invalid_argument,
              "corruption '" + text + "': " + why +
                  " (expected mask:FRACTION, mask-patch:SIZE, gaussian:SIGMA or salt-pepper:FRACTION)");
}

double parse_number(const std::string& text, const std::string& item) {
  double value = 0;
  try {
    std::size_t used = 0;
    value = std::stod(item, &used);
    if (used != item.size()) throw std::invalid_argument(item);
  } catch (const std::exception&) {
    refuse(text, "'" + item + "' is not a number");
  }
  if (!std::isfinite(value)) refuse(text, "'" + item + "' is not a finite number");
  return value;
}

float low_end(const ImageSpec& spec) { return spec.range == ValueRange::unit ? 0.0f : -1.0f; }
float range_width(const ImageSpec& spec) { return spec.range == ValueRange::unit ? 1.0f : 2.0f; }

}  // namespace

Corruption parse_corruption(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) refuse(text, "no ':' between the kind and its value");
  const std::string kind = text.substr(0, colon), item = text.substr(colon + 1);
  Corruption c;
  c.text = text;
  c.value = parse_number(text, item);
  if (kind == "mask" || kind == "salt-pepper") {
    c.kind = kind == "mask" ? Corruption::Kind::mask : Corruption::Kind::salt_pepper;
    if (c.value < 0 || c.value > 1) refuse(text, "the fraction must be within 0..1");
  } else if (kind == "mask-patch") {
    c.kind = Corruption::Kind::mask_patch;
    if (c.value < 1 || c.value > 4096 || c.value != std::floor(c.value)) {
      refuse(text, "the patch size must be a whole number of pixels, 1..4096");
    }
  } else if (kind == "gaussian") {
    c.kind = Corruption::Kind::gaussian;
    if (c.value < 0 || c.value > 10) refuse(text, "sigma must be within 0..10");
  } else {
    refuse(text, "unknown kind '" + kind + "'");
  }
  return c;
}

void corrupt_images(std::vector<float>& images, int count, const ImageSpec& spec, const Corruption& c,
                    uint64_t seed) {
  const int64_t per_image = spec.pixels();
  const int64_t positions = int64_t{spec.height} * spec.width;
  if (count < 0 || static_cast<int64_t>(images.size()) != per_image * count) {
    throw Error(ErrorCode::invalid_argument, "corrupt_images: the buffer does not hold the images");
  }
  const int side = static_cast<int>(c.value);
  if (c.kind == Corruption::Kind::mask_patch && (side > spec.height || side > spec.width)) {
    throw Error(ErrorCode::invalid_argument, "corruption '" + c.text + "': a " + std::to_string(side) + "x" +
                                                 std::to_string(side) + " patch does not fit in " +
                                                 std::to_string(spec.height) + "x" + std::to_string(spec.width) +
                                                 " images");
  }
  const float lo = low_end(spec), hi = lo + range_width(spec);
  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    float* image = images.data() + per_image * i;
    auto set_pixel = [&](int64_t position, float value) {
      std::fill(image + position * spec.channels, image + (position + 1) * spec.channels, value);
    };
    switch (c.kind) {
      case Corruption::Kind::mask:
        for (int64_t p = 0; p < positions; ++p) {
          if (rng.uniform() < c.value) set_pixel(p, lo);
        }
        break;
      case Corruption::Kind::salt_pepper:
        for (int64_t p = 0; p < positions; ++p) {
          if (rng.uniform() < c.value) set_pixel(p, rng.uniform() < 0.5 ? lo : hi);
        }
        break;
      case Corruption::Kind::mask_patch: {
        const int top = static_cast<int>(rng.below(static_cast<uint64_t>(spec.height - side + 1)));
        const int left = static_cast<int>(rng.below(static_cast<uint64_t>(spec.width - side + 1)));
        for (int y = top; y < top + side; ++y) {
          for (int x = left; x < left + side; ++x) set_pixel(int64_t{y} * spec.width + x, lo);
        }
        break;
      }
      case Corruption::Kind::gaussian:
        for (int64_t v = 0; v < per_image; ++v) {
          const double noisy = image[v] + c.value * range_width(spec) * rng.normal();
          image[v] = static_cast<float>(std::clamp(noisy, double{lo}, double{hi}));
        }
        break;
    }
  }
}

double psnr_db(const float* a, const float* b, std::size_t n, const ImageSpec& spec) {
  double squared = 0;
  for (std::size_t i = 0; i < n; ++i) squared += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  if (n == 0 || squared == 0) return std::numeric_limits<double>::infinity();
  const double peak = range_width(spec);
  return 10.0 * std::log10(peak * peak / (squared / static_cast<double>(n)));
}

}  // namespace latentkit::cli
