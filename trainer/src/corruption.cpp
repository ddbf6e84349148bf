#include "latentkit/trainer/corruption.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace latentkit::trainer {

namespace {

const char* const kForms = "mask:FRACTION, mask-patch:SIZE, gaussian:SIGMA or salt-pepper:FRACTION";

[[noreturn]] void refuse(const std::string& text, const std::string& why) {
  throw std::invalid_argument("--noise '" + text + "': " + why + " (expected " + kForms + ")");
}

double number(const std::string& text, const std::string& value) {
  try {
    std::size_t used = 0;
    const double v = std::stod(value, &used);
    if (used == value.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  refuse(text, "'" + value + "' is not a finite number");
}

}  // namespace

Noise parse_noise(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) refuse(text, "no ':' between the kind and its amount");
  const std::string kind = text.substr(0, colon), value = text.substr(colon + 1);
  Noise noise;
  noise.amount = number(text, value);
  if (kind == "mask" || kind == "salt-pepper") {
    noise.kind = kind == "mask" ? NoiseKind::mask : NoiseKind::salt_pepper;
    if (!(noise.amount >= 0 && noise.amount < 1)) refuse(text, "the fraction must be in [0, 1)");
  } else if (kind == "mask-patch") {
    noise.kind = NoiseKind::mask_patch;
    if (noise.amount != std::floor(noise.amount) || noise.amount < 1 || noise.amount > 28) {
      refuse(text, "the patch's side must be a whole number of pixels from 1 to 28");
    }
  } else if (kind == "gaussian") {
    noise.kind = NoiseKind::gaussian;
    if (!(noise.amount > 0)) refuse(text, "sigma must be above 0");
  } else {
    refuse(text, "unknown kind '" + kind + "'");
  }
  return noise;
}

std::string to_string(const Noise& noise) {
  char amount[32];
  std::snprintf(amount, sizeof amount, "%g", noise.amount);
  switch (noise.kind) {
    case NoiseKind::mask: return std::string("mask:") + amount;
    case NoiseKind::mask_patch: return std::string("mask-patch:") + amount;
    case NoiseKind::gaussian: return std::string("gaussian:") + amount;
    case NoiseKind::salt_pepper: return std::string("salt-pepper:") + amount;
  }
  return amount;
}

torch::Tensor corrupt(const torch::Tensor& x, const Noise& noise, c10::optional<at::Generator> generator) {
  torch::NoGradGuard no_grad;
  switch (noise.kind) {
    case NoiseKind::mask: {
      const torch::Tensor keep = at::bernoulli(torch::full_like(x, 1 - noise.amount), generator);
      return x * keep;
    }
    case NoiseKind::salt_pepper: {
      const torch::Tensor hit = at::bernoulli(torch::full_like(x, noise.amount), generator);
      const torch::Tensor salt = at::bernoulli(torch::full_like(x, 0.5), generator);
      return torch::where(hit > 0, salt, x);
    }
    case NoiseKind::gaussian:
      return (x + noise.amount * at::normal(0.0, 1.0, x.sizes(), generator)).clamp(0, 1);
    case NoiseKind::mask_patch: {
      const int64_t side = static_cast<int64_t>(noise.amount);
      const int64_t h = x.size(2), w = x.size(3);
      if (side > h || side > w) throw std::invalid_argument("a mask-patch of " + std::to_string(side) + " pixels does not fit these images");
      // One top-left corner per image, each position equally likely.
      const torch::Tensor top = at::randint(0, h - side + 1, {x.size(0)}, generator, torch::kLong);
      const torch::Tensor left = at::randint(0, w - side + 1, {x.size(0)}, generator, torch::kLong);
      const torch::Tensor rows = torch::arange(h, torch::kLong).view({1, h, 1});
      const torch::Tensor cols = torch::arange(w, torch::kLong).view({1, 1, w});
      const torch::Tensor t = top.view({-1, 1, 1}), l = left.view({-1, 1, 1});
      const torch::Tensor inside = (rows >= t) & (rows < t + side) & (cols >= l) & (cols < l + side);
      return x.masked_fill(inside.unsqueeze(1), 0);
    }
  }
  return x;
}

}  // namespace latentkit::trainer
