// Coloured MNIST (seed 004): MNIST digits painted in named colours, 3 x 28 x 28, with a digit and a
// colour label per image. Generated deterministically from the grey images, so that a run names
// its data by a word ("coloured-mnist") and every machine sees the same pictures; `latentkit data`
// writes them as IDX files for other tools. Torch-free.
//
// Two kinds:
//   coloured-mnist          each image's colour drawn from the first kRandomColours of the palette,
//                           by the image's index and the split (a subset is a prefix of the whole);
//   coloured-mnist-a / -b   each digit in a colour of its own, different between set A and set B
//                           (the colour transfer of seed 004's question 2).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/trainer/mnist.h"

namespace latentkit::trainer {

struct NamedColour {
  const char* name;
  std::array<std::uint8_t, 3> rgb;
};

// Ten colours far enough apart for a small classifier to tell; ImageDataset::colours index it.
const std::vector<NamedColour>& colour_palette();
std::vector<std::string> colour_names();

// How many of the palette's first colours coloured-mnist draws from: the six corners of the RGB
// cube besides black and white, which no two digits' strokes can be confused between.
inline constexpr int kRandomColours = 6;

struct ColouringOptions {
  std::uint64_t seed = 4;  // seed 004
  int colours = kRandomColours;
  // Paint the background too, in another palette colour at kBackgroundLevel of its brightness
  // (the digit keeps its stroke's grey level as the mix).
  bool background = false;
};
inline constexpr float kBackgroundLevel = 0.35f;

// Each image of `grey` (channels 1) in a colour drawn by (seed, split, index); colours = the
// drawn palette indices. Throws std::invalid_argument for colours outside 1..palette size or an
// image that is not grey.
ImageDataset colour_randomly(const ImageDataset& grey, Split split, const ColouringOptions& options = {});

enum class TransferSet { a, b };
// The palette index of digit `digit` (0..9) in `set`: A paints digit d in colour d, B in colour
// (d + 3) mod 10, so no digit has the same colour in both.
int transfer_colour(TransferSet set, int digit);
ImageDataset colour_by_digit(const ImageDataset& grey, TransferSet set);

// Whether `name` is one of the generated datasets load_dataset knows.
bool is_coloured_mnist_name(const std::string& name);
// Loads MNIST from `mnist_dir` and colours it as `name` says.
ImageDataset load_coloured_mnist(const std::string& name, const std::string& mnist_dir, Split split,
                                 std::int64_t limit);

}  // namespace latentkit::trainer
