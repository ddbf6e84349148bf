// Corruptions of images, to show a denoising autoencoder at work on the device: the kinds and
// the KIND:VALUE syntax of `latentkit train dae --noise`, so a user corrupts test images the
// way the model was trained to undo.
//
//   mask:F          each pixel (all its channels) becomes black with probability F, 0 <= F <= 1
//   mask-patch:S    one S x S square at a random place becomes black, 1 <= S <= the image side
//   gaussian:SIGMA  N(0, SIGMA^2) is added to every value, then clipped to the range; SIGMA is in
//                   units of the range's width (intensities in [0, 1] for MNIST), 0 <= SIGMA <= 10
//   salt-pepper:F   each pixel becomes black or white (half each) with probability F
//
// "Black" and "white" are the model's range ends (0 and 1, or -1 and 1). The random draws come
// from latentkit::Rng (rng.h): the same seed corrupts the same way on every platform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/graph.h"

namespace latentkit::cli {

struct Corruption {
  enum class Kind { mask, mask_patch, gaussian, salt_pepper };
  Kind kind = Kind::mask;
  double value = 0;
  std::string text;  // as given, for messages and captions
};

// Throws Error(invalid_argument) naming the text and what is expected.
Corruption parse_corruption(const std::string& text);

// Corrupts `count` images of `spec` in place (HWC floats, in the spec's range). A patch larger
// than the image is refused with invalid_argument.
void corrupt_images(std::vector<float>& images, int count, const ImageSpec& spec, const Corruption& corruption,
                    uint64_t seed);

// Peak signal-to-noise ratio of `b` against `a`, in dB, with the range's width as the peak;
// +inf when they are equal.
double psnr_db(const float* a, const float* b, std::size_t n, const ImageSpec& spec);

}  // namespace latentkit::cli
