// From a read image to the floats a model's image input takes (encode, reconstruct, ...).
//
// The image must already be what the model's ImageSpec describes: same height and width, same
// channels; nothing is resized, cropped or padded. Colour is never guessed either:
//   - an RGB image whose every pixel is grey (R = G = B), for a grey model, is read as grey:
//     the file's three channels are a storage detail (a palette PNG, an editor that saves grey
//     as RGB), nothing is lost;
//   - any other RGB image for a grey model, and a grey image for an RGB model, are refused.
// Values: byte v becomes v / 255 for a [0, 1] model, v / 127.5 - 1 for a [-1, 1] model, the
// inverse of what tile_images (latentkit/image_grid.h) does to a model's output, and what the
// trainer feeds the model (bytes / 255).
//
// A refusal is Error(invalid_argument) naming the image and both shapes as height x width x
// channels, e.g. "'a.png' is 32x32x3 but the model takes 28x28x1 images; ...".
#pragma once

#include <string>
#include <vector>

#include "latentkit/graph.h"
#include "latentkit/image_grid.h"

namespace latentkit::cli {

// `picture` as spec.pixels() floats (HWC); `name` is how messages call the image.
std::vector<float> to_model_input(const Picture& picture, const ImageSpec& spec, const std::string& name);

// The whole step for a command-line argument: parse_image_source(text), read_image, then
// to_model_input (image_reader.h).
std::vector<float> read_model_input(const std::string& text, const ImageSpec& spec);

}  // namespace latentkit::cli
