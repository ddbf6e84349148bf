#include "latentkit/trainer/coloured_mnist.h"

#include <stdexcept>

#include "latentkit/rng.h"

namespace latentkit::trainer {

namespace {

// A hash of x (the first draw of the runtime's SplitMix64 seeded with it): a colour per (seed,
// split, image) without a generator whose stream a subset would shift.
std::uint64_t mix(std::uint64_t x) { return Rng(x).next_u64(); }

void require_grey(const ImageDataset& grey) {
  if (grey.channels != 1) {
    throw std::invalid_argument("colouring needs grey images; these have " + std::to_string(grey.channels) +
                                " channels");
  }
}

// Paints image `n` of `grey` into `out` (RGB): the stroke's grey level mixes the digit's colour with
// the background's (black when `background` < 0).
void paint(const ImageDataset& grey, int64_t n, int colour, int background, ImageDataset& out) {
  const NamedColour& fg = colour_palette()[static_cast<std::size_t>(colour)];
  const std::size_t pixels = static_cast<std::size_t>(grey.height * grey.width);
  const std::uint8_t* in = grey.pixels.data() + static_cast<std::size_t>(n) * pixels;
  std::uint8_t* rgb = out.pixels.data() + static_cast<std::size_t>(n) * pixels * 3;
  for (std::size_t p = 0; p < pixels; ++p) {
    const float level = static_cast<float>(in[p]) / 255.0f;
    for (int c = 0; c < 3; ++c) {
      float value = level * fg.rgb[c];
      if (background >= 0) {
        value += (1.0f - level) * kBackgroundLevel * colour_palette()[static_cast<std::size_t>(background)].rgb[c];
      }
      rgb[p * 3 + c] = static_cast<std::uint8_t>(value + 0.5f);
    }
  }
}

ImageDataset rgb_like(const ImageDataset& grey) {
  ImageDataset out;
  out.count = grey.count;
  out.height = grey.height;
  out.width = grey.width;
  out.channels = 3;
  out.pixels.resize(static_cast<std::size_t>(grey.count * grey.height * grey.width * 3));
  out.labels = grey.labels;
  out.colours.resize(static_cast<std::size_t>(grey.count));
  return out;
}

}  // namespace

const std::vector<NamedColour>& colour_palette() {
  static const std::vector<NamedColour> palette = {
      {"red", {255, 0, 0}},      {"green", {0, 255, 0}},     {"blue", {0, 0, 255}},    {"yellow", {255, 255, 0}},
      {"magenta", {255, 0, 255}}, {"cyan", {0, 255, 255}},    {"orange", {255, 128, 0}}, {"purple", {128, 0, 255}},
      {"white", {255, 255, 255}}, {"pink", {255, 128, 192}},
  };
  return palette;
}

std::vector<std::string> colour_names() {
  std::vector<std::string> names;
  for (const NamedColour& c : colour_palette()) names.emplace_back(c.name);
  return names;
}

ImageDataset colour_randomly(const ImageDataset& grey, Split split, const ColouringOptions& options) {
  require_grey(grey);
  const int palette = static_cast<int>(colour_palette().size());
  if (options.colours < 1 || options.colours > palette) {
    throw std::invalid_argument("coloured MNIST draws from 1 to " + std::to_string(palette) + " colours, not " +
                                std::to_string(options.colours));
  }
  if (options.background && options.colours < 2) {
    throw std::invalid_argument("a coloured background needs at least 2 colours (it differs from the digit's)");
  }
  ImageDataset out = rgb_like(grey);
  const std::uint64_t stream = mix(options.seed * 2 + (split == Split::test ? 1 : 0));
  const auto n_colours = static_cast<std::uint64_t>(options.colours);
  for (int64_t n = 0; n < grey.count; ++n) {
    const std::uint64_t draw = mix(stream ^ static_cast<std::uint64_t>(n));
    const int colour = static_cast<int>(draw % n_colours);
    int background = -1;
    if (options.background) {
      // Any colour but the digit's, from the draw's upper bits.
      background = static_cast<int>((static_cast<std::uint64_t>(colour) + 1 + (draw >> 32) % (n_colours - 1)) % n_colours);
    }
    paint(grey, n, colour, background, out);
    out.colours[static_cast<std::size_t>(n)] = static_cast<std::uint8_t>(colour);
  }
  return out;
}

int transfer_colour(TransferSet set, int digit) {
  if (digit < 0 || digit > 9) throw std::invalid_argument("digit " + std::to_string(digit) + " is not 0..9");
  return set == TransferSet::a ? digit : (digit + 3) % 10;
}

ImageDataset colour_by_digit(const ImageDataset& grey, TransferSet set) {
  require_grey(grey);
  ImageDataset out = rgb_like(grey);
  for (int64_t n = 0; n < grey.count; ++n) {
    const int digit = grey.labels[static_cast<std::size_t>(n)];
    if (digit > 9) {
      throw std::invalid_argument("image " + std::to_string(n) + " has label " + std::to_string(digit) +
                                  "; colouring by digit needs digits 0..9");
    }
    const int colour = transfer_colour(set, digit);
    paint(grey, n, colour, -1, out);
    out.colours[static_cast<std::size_t>(n)] = static_cast<std::uint8_t>(colour);
  }
  return out;
}

bool is_coloured_mnist_name(const std::string& name) {
  return name == "coloured-mnist" || name == "coloured-mnist-a" || name == "coloured-mnist-b";
}

ImageDataset load_coloured_mnist(const std::string& name, const std::string& mnist_dir, Split split, std::int64_t limit) {
  if (!is_coloured_mnist_name(name)) {
    throw std::invalid_argument("'" + name + "' is not a coloured MNIST (coloured-mnist, coloured-mnist-a, coloured-mnist-b)");
  }
  const ImageDataset grey = load_mnist_dir(mnist_dir, split, limit);
  if (name == "coloured-mnist-a") return colour_by_digit(grey, TransferSet::a);
  if (name == "coloured-mnist-b") return colour_by_digit(grey, TransferSet::b);
  return colour_randomly(grey, split);
}

}  // namespace latentkit::trainer
