// fuzz_png: hostile image inputs through the command-line programs' readers (tools/common:
// png_reader with stb_image inside, idx_image_reader, image_reader, model_input).
//
// The first byte of an input picks the path:
//   0xFF   the rest is a PNG whose chunk CRCs are repaired first (tests/cli/png_builder.h), then
//          decode_png: byte mutations reach the header checks and stb_image instead of stopping
//          at the CRC check, which almost every mutation of a real PNG fails;
//   0xFE   byte 1 is an image index, the rest a file given to read_image with that index: the
//          IDX reader (and the refusal of a PNG with an index);
//   other  the bytes are a file given to read_image without an index: the choice between PNG,
//          IDX, gzip and neither, and the PNG reader with the CRCs as they are.
// Files are written to one memfd (a file in memory, no disk I/O) and read through
// /proc/self/fd/N. A latentkit::Error is a refusal, which is fine; anything else escaping, a
// sanitizer report or a broken invariant (checked with abort() and a "broken invariant"
// message) is a finding:
//   - an accepted picture has 1 or 3 channels, sides of 1..kMaxImageSide and w*h*c bytes; a PNG
//     the size its IHDR gives, an IDX image the bytes at its offset in the file;
//   - to_model_input with the picture's own shape accepts it, in both value ranges, with every
//     value in range, and tile_images turns the values back into the same bytes; a shape one
//     pixel taller is refused.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cli/png_builder.h"
#include "image_reader.h"
#include "latentkit/error.h"
#include "latentkit/image_grid.h"
#include "model_input.h"
#include "png_reader.h"

namespace lk = latentkit;
#include "memory_file.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_png: broken invariant: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

int file() { return latentkit::fuzz::memory_file("fuzz_png"); }
using latentkit::fuzz::write_all;

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void check_picture(const lk::Picture& p) {
  if (p.channels != 1 && p.channels != 3) finding("accepted with " + std::to_string(p.channels) + " channels");
  if (p.width < 1 || p.height < 1 || p.width > lk::cli::kMaxImageSide || p.height > lk::cli::kMaxImageSide) {
    finding("accepted a size of " + std::to_string(p.width) + "x" + std::to_string(p.height));
  }
  if (p.pixels.size() != static_cast<std::size_t>(p.width) * p.height * p.channels) {
    finding("a picture of " + std::to_string(p.width) + "x" + std::to_string(p.height) + "x" +
            std::to_string(p.channels) + " holds " + std::to_string(p.pixels.size()) + " bytes");
  }
  // Model input: the round trip is checked on small pictures (tile_images is not under test).
  if (p.pixels.size() > (std::size_t{1} << 16)) return;
  for (const lk::ValueRange range : {lk::ValueRange::unit, lk::ValueRange::symmetric}) {
    const lk::ImageSpec spec{p.height, p.width, p.channels, range};
    const std::vector<float> x = lk::cli::to_model_input(p, spec, "fuzz");
    const float lo = range == lk::ValueRange::unit ? 0.0f : -1.0f;
    for (const float v : x) {
      if (!(v >= lo && v <= 1.0f)) finding("a model input value " + std::to_string(v) + " outside the range");
    }
    if (lk::tile_images(x.data(), spec, 1, 1).pixels != p.pixels) finding("tile_images(to_model_input(p)) != p");
    try {
      (void)lk::cli::to_model_input(p, lk::ImageSpec{p.height + 1, p.width, p.channels, range}, "fuzz");
      finding("a picture one row short of the spec was accepted");
    } catch (const lk::Error&) {
    }
  }
}

void fuzz_decode_png(std::vector<uint8_t> bytes) {
  lk::test_png::repair_crcs(bytes);
  try {
    const lk::Picture p = lk::cli::decode_png(bytes.data(), bytes.size(), "fuzz.png");
    // Accepted: the signature and a whole IHDR chunk are there.
    if (p.width != static_cast<int>(be32(bytes.data() + 16)) || p.height != static_cast<int>(be32(bytes.data() + 20))) {
      finding("decoded " + std::to_string(p.width) + "x" + std::to_string(p.height) + " from a different IHDR");
    }
    check_picture(p);
  } catch (const lk::Error&) {
    // refused: fine
  }
}

void fuzz_read_image(const uint8_t* data, std::size_t size, std::optional<uint64_t> index) {
  const int fd = file();
  write_all(fd, data, size);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const lk::Picture p = lk::cli::read_image({path, index});
    check_picture(p);
    if (index) {
      // An IDX image: the bytes at its offset in the file.
      if (size < 8) finding("an IDX image from " + std::to_string(size) + " bytes");
      const uint64_t header = 4 + 4 * uint64_t{data[3]};
      if (header + be32(data + 4) * uint64_t{p.pixels.size()} != size) {
        finding("an IDX file of " + std::to_string(size) + " bytes is not its header and images");
      }
      const uint64_t offset = header + *index * p.pixels.size();
      if (offset + p.pixels.size() > size || !std::equal(p.pixels.begin(), p.pixels.end(), data + offset)) {
        finding("image " + std::to_string(*index) + " is not the bytes at offset " + std::to_string(offset));
      }
    }
  } catch (const lk::Error&) {
    // refused: fine
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size >= 1 && data[0] == 0xFF) {
    fuzz_decode_png(std::vector<uint8_t>(data + 1, data + size));
  } else if (size >= 2 && data[0] == 0xFE) {
    fuzz_read_image(data + 2, size - 2, uint64_t{data[1]});
  } else {
    fuzz_read_image(data, size, std::nullopt);
  }
  return 0;
}
