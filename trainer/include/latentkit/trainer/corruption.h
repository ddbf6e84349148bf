// The denoising autoencoder's input noise (seed 003: "noise by blacking out part of the image, or
// per-pixel noise"), as `latentkit train dae --noise KIND:AMOUNT` names it:
//
//   mask:FRACTION         each pixel set to 0 with probability FRACTION (0 <= F < 1)
//   mask-patch:SIZE       one SIZE x SIZE square per image, at a uniformly drawn position wholly
//                         inside it, set to 0 (1 <= SIZE <= the image's side)
//   gaussian:SIGMA        x + SIGMA * N(0, 1), clamped to [0, 1] so that the input stays an image
//                         (SIGMA > 0)
//   salt-pepper:FRACTION  each pixel, with probability FRACTION, replaced by 0 or 1 (even odds)
//
// The target of the training is always the clean image.
#pragma once

#include <string>

#include <torch/torch.h>

namespace latentkit::trainer {

enum class NoiseKind { mask, mask_patch, gaussian, salt_pepper };

struct Noise {
  NoiseKind kind = NoiseKind::mask;
  double amount = 0.5;  // the fraction, the patch's side or sigma
};

// Throws std::invalid_argument naming --noise, the text and the accepted forms.
Noise parse_noise(const std::string& text);
std::string to_string(const Noise& noise);  // parse_noise's form

// A corrupted copy of `x` ([B, 1, H, W] in [0, 1]); the draws come from `generator` (libtorch's
// default one when absent: the training's, which the checkpoint saves).
torch::Tensor corrupt(const torch::Tensor& x, const Noise& noise, c10::optional<at::Generator> generator = c10::nullopt);

// The seed of the one corruption of a test set that every evaluation measures the denoising on.
constexpr uint64_t kTestCorruptionSeed = 0xde7015e;

}  // namespace latentkit::trainer
