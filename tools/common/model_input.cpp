#include "model_input.h"

#include "image_reader.h"
#include "latentkit/error.h"

namespace latentkit::cli {
namespace {

std::string shape_text(int64_t height, int64_t width, int64_t channels) {
  return std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels);
}

bool all_grey(const Picture& picture) {
  const std::vector<uint8_t>& p = picture.pixels;
  for (std::size_t i = 0; i + 2 < p.size(); i += 3) {
    if (p[i] != p[i + 1] || p[i] != p[i + 2]) return false;
  }
  return true;
}

}  // namespace

std::vector<float> to_model_input(const Picture& picture, const ImageSpec& spec, const std::string& name) {
  const std::string quoted = "'" + name + "'";
  // Bounded first, so that the product below stays far from overflowing.
  const bool bounded = picture.height >= 1 && picture.width >= 1 && picture.channels >= 1 &&
                       picture.height <= kMaxPictureSide && picture.width <= kMaxPictureSide && picture.channels <= 4;
  if (!bounded || static_cast<uint64_t>(int64_t{picture.height} * picture.width * picture.channels) !=
                      picture.pixels.size()) {
    throw Error(ErrorCode::invalid_argument, quoted + ": a picture of " +
                                                 shape_text(picture.height, picture.width, picture.channels) +
                                                 " with " + std::to_string(picture.pixels.size()) + " bytes");
  }
  const std::string is = quoted + " is " + shape_text(picture.height, picture.width, picture.channels);
  const std::string takes = "the model takes " + shape_text(spec.height, spec.width, spec.channels) + " images";
  if (picture.height != spec.height || picture.width != spec.width) {
    throw Error(ErrorCode::invalid_argument,
                is + " but " + takes + " (height x width x channels); latentkit does not resize images");
  }
  bool to_grey = false;
  if (picture.channels != spec.channels) {
    if (picture.channels == 3 && spec.channels == 1 && all_grey(picture)) {
      to_grey = true;
    } else if (picture.channels == 3 && spec.channels == 1) {
      throw Error(ErrorCode::invalid_argument,
                  is + " in colour but " + takes + " (grey); latentkit does not convert colour to grey");
    } else if (picture.channels == 1 && spec.channels == 3) {
      throw Error(ErrorCode::invalid_argument,
                  is + " (grey) but " + takes + " (RGB); latentkit does not convert grey to colour");
    } else {
      throw Error(ErrorCode::invalid_argument, is + " but " + takes + " (height x width x channels)");
    }
  }
  const float scale = spec.range == ValueRange::unit ? 255.0f : 127.5f;
  const float offset = spec.range == ValueRange::unit ? 0.0f : -1.0f;
  const int step = to_grey ? 3 : 1;
  std::vector<float> values(static_cast<std::size_t>(spec.pixels()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(picture.pixels[i * step]) / scale + offset;
  }
  return values;
}

std::vector<float> read_model_input(const std::string& text, const ImageSpec& spec) {
  const ImageSource source = parse_image_source(text);
  return to_model_input(read_image(source), spec, source.name());
}

}  // namespace latentkit::cli
