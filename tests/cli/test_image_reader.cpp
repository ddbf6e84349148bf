// Image input of the command-line programs (tools/common: png_reader, idx_image_reader,
// image_reader, model_input): what is read is checked pixel by pixel, and every refusal by its
// message. PNG files come from the program's own writer (write_png) and from tests/cli/
// png_builder.h, which builds every colour type, bit depth and chunk order by hand.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/png_builder.h"
#include "idx_image_reader.h"
#include "image_reader.h"
#include "latentkit/error.h"
#include "latentkit/image_grid.h"
#include "model_input.h"
#include "png_reader.h"
#include "png_writer.h"

namespace fs = std::filesystem;
namespace lk = latentkit;
namespace png = latentkit::test_png;
using lk::cli::ImageSource;

namespace {

// A scratch folder, removed with everything in it at the end of the test case.
struct Scratch {
  fs::path dir;
  Scratch() : dir(fs::temp_directory_path() / ("latentkit_image_input_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const fs::path path = dir / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }
};

// A deterministic picture whose every pixel and channel differs from its neighbours.
lk::Picture pattern(int width, int height, int channels) {
  lk::Picture p;
  p.width = width;
  p.height = height;
  p.channels = channels;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) p.pixels.push_back(static_cast<uint8_t>(x * 37 + y * 11 + c * 101));
    }
  }
  return p;
}

// The message of the Error `f` raises, after checking its code; "" (and a failed check) if none.
template <typename F>
std::string refusal(F&& f, lk::ErrorCode code = lk::ErrorCode::invalid_argument) {
  try {
    f();
  } catch (const lk::Error& e) {
    CHECK(e.code() == code);
    return e.what();
  }
  FAIL_CHECK("no error raised");
  return "";
}

#define CHECK_REFUSED(expr, needle)                         \
  do {                                                      \
    const std::string message = refusal([&] { (void)(expr); }); \
    INFO("message: ", message);                             \
    CHECK(message.find(needle) != std::string::npos);       \
  } while (0)

lk::Picture decode(const png::Png& file) {
  const std::vector<uint8_t> bytes = file.bytes();
  return lk::cli::decode_png(bytes.data(), bytes.size(), "t.png");
}

std::vector<uint8_t> idx_file(const std::vector<uint32_t>& dims, uint8_t type = 0x08) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  uint64_t n = 1;
  for (uint32_t d : dims) {
    png::put32(out, d);
    n *= d;
  }
  for (uint64_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>((i * 7 + 3) % 256));
  return out;
}

}  // namespace

TEST_CASE("PNG: what write_png writes reads back pixel for pixel, grey and RGB") {
  Scratch scratch;
  for (const int channels : {1, 3}) {
    CAPTURE(channels);
    const lk::Picture written = pattern(13, 7, channels);
    const std::string path = (scratch.dir / "p.png").string();
    lk::cli::write_png(path, written);
    const lk::Picture read = lk::cli::read_png(path);
    CHECK(read.width == 13);
    CHECK(read.height == 7);
    CHECK(read.channels == channels);
    CHECK(read.pixels == written.pixels);
    // The same through the command-line front door.
    CHECK(lk::cli::read_image(lk::cli::parse_image_source(path)).pixels == written.pixels);
  }
}

TEST_CASE("PNG: an opaque alpha channel is dropped, a transparent pixel is refused") {
  Scratch scratch;
  const std::string path = (scratch.dir / "a.png").string();
  for (const int channels : {2, 4}) {
    CAPTURE(channels);
    lk::Picture written = pattern(5, 4, channels);
    for (std::size_t i = channels - 1; i < written.pixels.size(); i += channels) written.pixels[i] = 255;
    lk::cli::write_png(path, written);
    const lk::Picture read = lk::cli::read_png(path);
    REQUIRE(read.channels == channels - 1);
    for (std::size_t p = 0; p < 20; ++p) {
      for (int c = 0; c < channels - 1; ++c) CHECK(read.pixels[p * (channels - 1) + c] == written.pixels[p * channels + c]);
    }
    written.pixels[(1 * 5 + 2) * channels + channels - 1] = 254;  // x 2, y 1
    lk::cli::write_png(path, written);
    CHECK_REFUSED(lk::cli::read_png(path), "transparent pixels (the first at x 2, y 1, alpha 254)");
  }
}

TEST_CASE("PNG: low bit depths, palettes and interlacing are read exactly") {
  SUBCASE("grey at 1, 2 and 4 bits is scaled to 0..255") {
    for (const int depth : {1, 2, 4}) {
      CAPTURE(depth);
      const uint32_t levels = 1u << depth;
      std::vector<uint32_t> samples;
      for (uint32_t i = 0; i < 11 * 3; ++i) samples.push_back((i * 5) % levels);
      const lk::Picture p = decode(png::make_png({11, 3, depth, 0, 0}, samples));
      REQUIRE(p.channels == 1);
      REQUIRE(p.pixels.size() == samples.size());
      for (std::size_t i = 0; i < samples.size(); ++i) CHECK(p.pixels[i] == samples[i] * 255 / (levels - 1));
    }
  }
  SUBCASE("a palette is expanded to RGB; an index beyond it reads as black") {
    const std::vector<uint8_t> palette = {10, 20, 30, 40, 50, 60, 70, 80, 90};
    const std::vector<uint32_t> indices = {0, 1, 2, 3, 2, 1};  // 3 is beyond the 3-entry palette
    for (const int depth : {2, 8}) {
      CAPTURE(depth);
      const lk::Picture p = decode(png::make_png({3, 2, depth, 3, 0}, indices, palette));
      CHECK(p.channels == 3);
      CHECK(p.pixels == std::vector<uint8_t>{10, 20, 30, 40, 50, 60, 70, 80, 90, 0, 0, 0, 70, 80, 90, 40, 50, 60});
    }
  }
  SUBCASE("an opaque tRNS entry changes nothing; a used transparent one is refused") {
    const std::vector<uint8_t> palette = {1, 2, 3, 4, 5, 6};
    CHECK(decode(png::make_png({2, 1, 8, 3, 0}, {0, 1}, palette, {255, 255})).pixels ==
          std::vector<uint8_t>{1, 2, 3, 4, 5, 6});
    CHECK_REFUSED(decode(png::make_png({2, 1, 8, 3, 0}, {0, 1}, palette, {255, 0})),
                  "transparent pixels (the first at x 1, y 0, alpha 0)");
    // A grey colour key that no pixel has, then one that pixel 0 has.
    CHECK(decode(png::make_png({2, 1, 8, 0, 0}, {7, 9}, {}, {0, 8})).pixels == std::vector<uint8_t>{7, 9});
    CHECK_REFUSED(decode(png::make_png({2, 1, 8, 0, 0}, {7, 9}, {}, {0, 7})), "transparent pixels");
  }
  SUBCASE("Adam7-interlaced images equal their plain form") {
    for (const std::pair<int, int>& format : std::vector<std::pair<int, int>>{{0, 1}, {0, 8}, {2, 8}, {6, 8}, {3, 4}}) {
      for (const std::pair<uint32_t, uint32_t>& size :
           std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}, {3, 2}, {9, 17}, {16, 16}}) {
        const int colour = format.first, depth = format.second;
        const uint32_t w = size.first, h = size.second;
        CAPTURE(colour);
        CAPTURE(depth);
        CAPTURE(w);
        CAPTURE(h);
        std::vector<uint32_t> samples;
        const int spp = png::samples_per_pixel(colour);
        for (uint32_t i = 0; i < w * h * spp; ++i) {
          samples.push_back(colour == 6 && i % 4 == 3 ? 255 : (i * 29 + 5) % (1u << depth));
        }
        std::vector<uint8_t> palette;
        for (int i = 0; i < 16 * 3; ++i) palette.push_back(static_cast<uint8_t>(i * 5));
        if (colour != 3) palette.clear();
        const lk::Picture plain = decode(png::make_png({w, h, depth, colour, 0}, samples, palette));
        const lk::Picture interlaced = decode(png::make_png({w, h, depth, colour, 1}, samples, palette));
        CHECK(interlaced.pixels == plain.pixels);
        CHECK(plain.pixels.size() == w * h * (colour == 0 ? 1u : 3u));
      }
    }
  }
  SUBCASE("image data split over several IDAT chunks, ancillary chunks anywhere allowed") {
    png::Png file = png::make_png({4, 2, 8, 0, 0}, {0, 1, 2, 3, 4, 5, 6, 7});
    const std::size_t i = file.find("IDAT");
    std::vector<uint8_t> all = file.chunks[i].data;
    file.chunks[i].data.assign(all.begin(), all.begin() + 5);
    file.chunks.insert(file.chunks.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                       {{"IDAT", std::vector<uint8_t>(all.begin() + 5, all.end() - 3)},
                        {"IDAT", std::vector<uint8_t>(all.end() - 3, all.end())},
                        {"tEXt", {'a', 0, 'b'}}});
    file.chunks.insert(file.chunks.begin() + 1, {"gAMA", {0, 0, 177, 143}});
    CHECK(decode(file).pixels == std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 6, 7});
  }
}

TEST_CASE("PNG: every prefix of a file is refused as truncated, every flipped byte is caught") {
  const std::vector<uint8_t> bytes = png::make_png({6, 5, 8, 2, 0}, std::vector<uint32_t>(90, 200)).bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    const std::string message = refusal([&] { lk::cli::decode_png(bytes.data(), n, "t.png"); });
    CHECK(message.find("'t.png': ") == 0);
    CHECK(message.find(n == 0 ? "empty, not a PNG file" : "truncated") != std::string::npos);
  }
  CHECK(lk::cli::decode_png(bytes.data(), bytes.size(), "t.png").pixels == std::vector<uint8_t>(90, 200));
  // A flipped bit anywhere after the signature: a CRC mismatch, or (in a length field) a chunk
  // that no longer fits or whose CRC is read from elsewhere. Never a decoded image.
  for (std::size_t at = 8; at < bytes.size(); ++at) {
    CAPTURE(at);
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0x10;
    refusal([&] { lk::cli::decode_png(bad.data(), bad.size(), "t.png"); });
  }
  std::vector<uint8_t> bad = bytes;
  bad[bytes.size() - 20] ^= 1;  // inside IDAT
  CHECK_REFUSED(lk::cli::decode_png(bad.data(), bad.size(), "t.png"), "chunk 'IDAT' at byte 33 fails its CRC check");
}

TEST_CASE("PNG: what is refused, and the message that says why") {
  const png::Format grey{4, 4, 8, 0, 0};
  const std::vector<uint32_t> grey_samples(16, 9);
  SUBCASE("signatures") {
    const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
    CHECK_REFUSED(lk::cli::decode_png(text.data(), text.size(), "t.png"), "'t.png': not a PNG file");
    std::vector<uint8_t> crlf = png::make_png(grey, grey_samples).bytes();
    crlf[4] = '\n';  // \r\n -> \n\n: a text-mode copy
    CHECK_REFUSED(lk::cli::decode_png(crlf.data(), crlf.size(), "t.png"), "PNG signature is damaged");
  }
  SUBCASE("16-bit samples") {
    CHECK_REFUSED(decode(png::make_png({2, 2, 16, 0, 0}, std::vector<uint32_t>(4, 60000))),
                  "a 16-bit grey PNG; latentkit reads 8-bit PNGs");
    CHECK_REFUSED(decode(png::make_png({2, 2, 16, 2, 0}, std::vector<uint32_t>(12, 60000))), "a 16-bit RGB PNG");
  }
  SUBCASE("sizes beyond the limit or zero, before anything is decoded") {
    png::Png file = png::make_png(grey, grey_samples);
    file.chunks[0].data = png::ihdr({4097, 1, 8, 0, 0});
    CHECK_REFUSED(decode(file), "the image is 4097x1 pixels (width x height); the limit is 4096 a side");
    file.chunks[0].data = png::ihdr({1, 0x7FFFFFFF, 8, 0, 0});
    CHECK_REFUSED(decode(file), "the image is 1x2147483647 pixels");
    file.chunks[0].data = png::ihdr({0, 4, 8, 0, 0});
    CHECK_REFUSED(decode(file), "IHDR gives a size of 0x4 pixels");
    // The largest size, with the 4x4 image's few bytes of data: refused for the data.
    file.chunks[0].data = png::ihdr({4096, 4096, 8, 6, 0});
    CHECK_REFUSED(decode(file), "cannot hold the 67112960 bytes a 4096x4096 RGBA image needs");
  }
  SUBCASE("header fields") {
    png::Png file = png::make_png(grey, grey_samples);
    file.chunks[0].data = png::ihdr({4, 4, 4, 2, 0});
    CHECK_REFUSED(decode(file), "IHDR gives a bit depth of 4, not valid for colour type 2 (RGB)");
    file.chunks[0].data = png::ihdr({4, 4, 8, 5, 0});
    CHECK_REFUSED(decode(file), "IHDR gives colour type 5, not a PNG colour type");
    file.chunks[0].data = png::ihdr({4, 4, 8, 0, 2});
    CHECK_REFUSED(decode(file), "IHDR gives interlace method 2");
    file.chunks[0].data = png::ihdr(grey);
    file.chunks[0].data[10] = 1;
    CHECK_REFUSED(decode(file), "IHDR gives compression method 1");
    file.chunks[0].data.push_back(0);
    CHECK_REFUSED(decode(file), "its IHDR chunk is 14 bytes long, not 13");
  }
  SUBCASE("chunk order and presence") {
    png::Png file = png::make_png(grey, grey_samples);
    std::swap(file.chunks[0], file.chunks[1]);
    CHECK_REFUSED(decode(file), "the first chunk is 'IDAT', not IHDR");

    file = png::make_png(grey, grey_samples);
    file.chunks.insert(file.chunks.begin() + 1, file.chunks[0]);
    CHECK_REFUSED(decode(file), "a second chunk 'IHDR' at byte 33");

    file = png::make_png(grey, grey_samples);
    file.chunks.erase(file.chunks.begin() + 1);
    CHECK_REFUSED(decode(file), "no IDAT chunk");

    file = png::make_png(grey, grey_samples);
    file.chunks.pop_back();
    CHECK_REFUSED(decode(file), "truncated: the file ends after");

    file = png::make_png(grey, grey_samples);
    file.chunks.insert(file.chunks.begin() + 2, {"tEXt", {'a', 0}});
    file.chunks.insert(file.chunks.begin() + 3, {"IDAT", {}});
    CHECK_REFUSED(decode(file), "the image data must be consecutive");

    CHECK_REFUSED(decode(png::make_png({2, 1, 8, 3, 0}, {0, 1})), "a palette image without a PLTE chunk");
    CHECK_REFUSED(decode(png::make_png(grey, grey_samples, {1, 2, 3})), "a grey image with a palette");
    CHECK_REFUSED(decode(png::make_png({2, 1, 1, 3, 0}, {0, 1}, std::vector<uint8_t>(9, 0))),
                  "not a palette for a 1-bit image");
    CHECK_REFUSED(decode(png::make_png({1, 1, 8, 6, 0}, {1, 2, 3, 255}, {}, {0, 1, 0, 2, 0, 3})),
                  "a tRNS chunk in an image with an alpha channel");
    CHECK_REFUSED(decode(png::make_png({1, 1, 8, 3, 0}, {0}, {1, 2, 3}, {255, 255})),
                  "of 2 bytes does not fit a palette image");
  }
  SUBCASE("unknown critical chunks, Apple's CgBI among them") {
    png::Png file = png::make_png(grey, grey_samples);
    file.chunks.insert(file.chunks.begin() + 1, {"CgBI", {0, 0, 0, 0}});
    CHECK_REFUSED(decode(file), "an Apple-specific variant of PNG");
    file.chunks[1].type = "ABCD";
    CHECK_REFUSED(decode(file), "chunk 'ABCD' at byte 33 is a critical chunk this reader does not know");
    file.chunks[1].type = "aBCD";  // ancillary: skipped
    CHECK(decode(file).pixels == std::vector<uint8_t>(16, 9));
    file.chunks[1].type = "aB1D";
    CHECK_REFUSED(decode(file), "the chunk at byte 33 has no valid type");
  }
  SUBCASE("image data that is not zlib, or too short, with correct CRCs") {
    png::Png file = png::make_png(grey, grey_samples);
    file.chunks[1].data[0] = 0x77;  // not a zlib header
    CHECK_REFUSED(decode(file), "corrupt image data (");
    file = png::make_png(grey, grey_samples);
    file.chunks[1].data.resize(file.chunks[1].data.size() - 9);  // the stored block is cut short
    CHECK_REFUSED(decode(file), "corrupt image data (");
  }
  SUBCASE("a zip bomb: 2 KiB of image data inflating to 300 KiB for a 16x16 image") {
    png::Png file = png::make_png({16, 16, 8, 0, 0}, std::vector<uint32_t>(256, 0));
    file.chunks[1].data = png::zlib_zeros(300 << 10);
    CHECK(file.chunks[1].data.size() < 2200);
    CHECK_REFUSED(decode(file), "its compressed image data inflates to more than a 16x16 image can hold");
    // The same stream with just the image's 16 x 17 bytes is an all-black image.
    file.chunks[1].data = png::zlib_zeros(16 * 17);
    CHECK(decode(file).pixels == std::vector<uint8_t>(256, 0));
  }
}

TEST_CASE("PNG files: io errors name the file") {
  Scratch scratch;
  const std::string missing = (scratch.dir / "missing.png").string();
  CHECK(refusal([&] { lk::cli::read_png(missing); }, lk::ErrorCode::io).find("cannot open '" + missing + "'") == 0);
  CHECK(refusal([&] { lk::cli::read_png(scratch.dir.string()); }, lk::ErrorCode::io).find("is a folder") !=
        std::string::npos);
  const std::string empty = scratch.write("empty.png", {});
  CHECK_REFUSED(lk::cli::read_png(empty), "'" + empty + "': empty, not a PNG file");
}

TEST_CASE("IDX: one image by index, checked against the header and the file size") {
  Scratch scratch;
  const std::vector<uint8_t> bytes = idx_file({3, 4, 5});
  const std::string path = scratch.write("images-idx3-ubyte", bytes);
  for (uint64_t index = 0; index < 3; ++index) {
    CAPTURE(index);
    const lk::Picture p = lk::cli::read_idx_image(path, index);
    CHECK(p.height == 4);
    CHECK(p.width == 5);
    CHECK(p.channels == 1);
    CHECK(p.pixels == std::vector<uint8_t>(bytes.begin() + 16 + index * 20, bytes.begin() + 16 + (index + 1) * 20));
  }
  const std::vector<uint8_t> colour = idx_file({2, 3, 2, 3});
  const lk::Picture c = lk::cli::read_idx_image(scratch.write("colour-idx4", colour), 1);
  CHECK(c.height == 3);
  CHECK(c.width == 2);
  CHECK(c.channels == 3);
  CHECK(c.pixels == std::vector<uint8_t>(colour.begin() + 20 + 18, colour.end()));

  CHECK_REFUSED(lk::cli::read_idx_image(path, 3), "image 3 is out of range: the file holds 3 images (0 to 2)");
  CHECK_REFUSED(lk::cli::read_idx_image(path, UINT64_MAX), "is out of range");
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 1);
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("cut", cut), 0),
                "truncated: 3 x 4 x 5 needs 60 bytes of data after the header; the file has 59");
  cut.assign(bytes.begin(), bytes.begin() + 10);
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("cut", cut), 0), "truncated: 10 bytes, less than the 16-byte header");
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("long", longer), 0), "the file has 61 (not an IDX file");
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("labels", idx_file({10})), 0), "1 dimensions; images are");
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("float", idx_file({1, 2, 2}, 0x0D)), 0), "data type 0D");
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("rgba", idx_file({1, 2, 2, 4})), 0), "4 channels");
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("empty-set", idx_file({0, 2, 2})), 0), "holds no images");
  std::vector<uint8_t> huge = idx_file({1, 1, 1});
  huge[10] = 0x20;  // height 0x2001 = 8193
  huge[11] = 0x01;
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("huge", huge), 0), "images of 8193x1 pixels");
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("gz", {0x1f, 0x8b, 8, 0}), 0), "gzip-compressed; decompress");
  CHECK_REFUSED(lk::cli::read_idx_image(scratch.write("png", {137, 'P', 'N', 'G'}), 0), "not an IDX file");
}

TEST_CASE("Image sources: PATH:INDEX, and the kind of file from its first bytes") {
  Scratch scratch;
  const ImageSource a = lk::cli::parse_image_source("digit.png");
  CHECK(a.path == "digit.png");
  CHECK_FALSE(a.index.has_value());
  const ImageSource b = lk::cli::parse_image_source("data/t10k-images-idx3-ubyte:17");
  CHECK(b.path == "data/t10k-images-idx3-ubyte");
  CHECK(b.index == uint64_t{17});
  CHECK(b.name() == "data/t10k-images-idx3-ubyte:17");
  for (const char* text : {"x:", "x:1a", ":3", "a:b/c.png", "x:-1"}) {
    CAPTURE(text);
    CHECK(lk::cli::parse_image_source(text).path == text);
  }
  CHECK_REFUSED(lk::cli::parse_image_source("x:99999999999999999999"), "the image index 99999999999999999999 is too large");
  // An existing file whose name ends in :DIGITS is that file.
  const std::string odd = scratch.write("shot:1", {});
  CHECK(lk::cli::parse_image_source(odd).path == odd);

  const lk::Picture written = pattern(3, 2, 3);
  const std::string png_path = (scratch.dir / "p.png").string();
  lk::cli::write_png(png_path, written);
  const std::vector<uint8_t> idx = idx_file({2, 3, 2});
  const std::string idx_path = scratch.write("images", idx);
  CHECK(lk::cli::read_image({png_path, std::nullopt}).pixels == written.pixels);
  CHECK(lk::cli::read_image(lk::cli::parse_image_source(idx_path + ":1")).pixels ==
        std::vector<uint8_t>(idx.begin() + 16 + 6, idx.end()));
  // A PNG named like an IDX file and the other way round: the bytes decide.
  fs::copy_file(png_path, scratch.dir / "t10k-images-idx3-ubyte");
  CHECK(lk::cli::read_image({(scratch.dir / "t10k-images-idx3-ubyte").string(), std::nullopt}).pixels ==
        written.pixels);

  CHECK_REFUSED(lk::cli::read_image({png_path, 0}), "is a PNG file, which holds one image; ':0' picks an image");
  CHECK_REFUSED(lk::cli::read_image({idx_path, std::nullopt}), "is an IDX file, which holds many images: say which as '" +
                                                                   idx_path + ":INDEX'");
  CHECK_REFUSED(lk::cli::read_image({scratch.write("a.png.gz", {0x1f, 0x8b, 8, 0, 0}), std::nullopt}),
                "is gzip-compressed; decompress it first");
  CHECK_REFUSED(lk::cli::read_image({scratch.write("note.txt", {'h', 'e', 'l', 'l', 'o'}), std::nullopt}),
                "is neither a PNG nor an IDX file (it starts with 68 65 6C 6C)");
  CHECK_REFUSED(lk::cli::read_image({scratch.write("empty", {}), std::nullopt}), "is empty, not an image");
  CHECK_REFUSED(lk::cli::read_image({scratch.write("favicon.png", {0, 0, 1, 0, 1, 0}), std::nullopt}),
                "is neither a PNG nor an IDX file (it starts with 00 00 01 00)");
  CHECK_REFUSED(lk::cli::read_image({scratch.write("floats", idx_file({1, 2, 2}, 0x0D)), 0}), "data type 0D");
  CHECK(refusal([&] { lk::cli::read_image({(scratch.dir / "nope.png").string(), std::nullopt}); }, lk::ErrorCode::io)
            .find("cannot open") == 0);
}

TEST_CASE("Model input: values in the spec's range, the inverse of tile_images") {
  lk::Picture all;  // one row of every byte value, grey
  all.width = 256;
  all.height = 1;
  all.channels = 1;
  for (int v = 0; v < 256; ++v) all.pixels.push_back(static_cast<uint8_t>(v));
  for (const lk::ValueRange range : {lk::ValueRange::unit, lk::ValueRange::symmetric}) {
    const lk::ImageSpec spec{1, 256, 1, range};
    const std::vector<float> x = lk::cli::to_model_input(all, spec, "all");
    REQUIRE(x.size() == 256);
    if (range == lk::ValueRange::unit) {
      CHECK(x[0] == 0.0f);
      CHECK(x[255] == 1.0f);
      CHECK(x[51] == doctest::Approx(0.2f));
    } else {
      CHECK(x[0] == -1.0f);
      CHECK(x[255] == 1.0f);
      CHECK(x[51] == doctest::Approx(-0.6f));
    }
    CHECK(lk::tile_images(x.data(), spec, 1, 1).pixels == all.pixels);
  }
  // HWC order is kept.
  const lk::Picture rgb = pattern(3, 2, 3);
  const std::vector<float> x = lk::cli::to_model_input(rgb, {2, 3, 3, lk::ValueRange::unit}, "rgb");
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i] == rgb.pixels[i] / 255.0f);
}

TEST_CASE("Model input: a size or colour that does not fit the model is refused, naming both") {
  const lk::ImageSpec mnist{28, 28, 1, lk::ValueRange::unit};
  CHECK(refusal([&] { lk::cli::to_model_input(pattern(32, 32, 3), mnist, "a.png"); }) ==
        "'a.png' is 32x32x3 but the model takes 28x28x1 images (height x width x channels); latentkit does not "
        "resize images");
  CHECK_REFUSED(lk::cli::to_model_input(pattern(28, 27, 1), mnist, "b.png"), "'b.png' is 27x28x1 but the model takes 28x28x1");
  CHECK_REFUSED(lk::cli::to_model_input(pattern(28, 28, 3), mnist, "c.png"),
                "'c.png' is 28x28x3 in colour but the model takes 28x28x1 images (grey); latentkit does not convert "
                "colour to grey");
  CHECK_REFUSED(lk::cli::to_model_input(pattern(28, 28, 1), lk::ImageSpec{28, 28, 3, lk::ValueRange::unit}, "d.png"),
                "'d.png' is 28x28x1 (grey) but the model takes 28x28x3 images (RGB)");
  // A Picture that is not what it says is refused, not read past its end.
  lk::Picture broken = pattern(28, 28, 1);
  broken.pixels.pop_back();
  CHECK_REFUSED(lk::cli::to_model_input(broken, mnist, "f"), "'f': a picture of 28x28x1 with 783 bytes");
  broken.width = broken.height = 1 << 30;
  CHECK_REFUSED(lk::cli::to_model_input(broken, mnist, "f"), "'f': a picture of 1073741824x1073741824x1");
  // Grey stored as RGB is grey.
  lk::Picture grey_rgb = pattern(28, 28, 1);
  lk::Picture stored;
  stored.width = stored.height = 28;
  stored.channels = 3;
  for (const uint8_t v : grey_rgb.pixels) stored.pixels.insert(stored.pixels.end(), {v, v, v});
  CHECK(lk::cli::to_model_input(stored, mnist, "e.png") == lk::cli::to_model_input(grey_rgb, mnist, "e.png"));
  stored.pixels.back() ^= 1;
  CHECK_REFUSED(lk::cli::to_model_input(stored, mnist, "e.png"), "in colour");
}

TEST_CASE("Model input from a command-line argument: read_model_input") {
  Scratch scratch;
  const std::vector<uint8_t> idx = idx_file({5, 28, 28});
  const std::string path = scratch.write("t10k-images-idx3-ubyte", idx);
  const lk::ImageSpec mnist{28, 28, 1, lk::ValueRange::unit};
  const std::vector<float> x = lk::cli::read_model_input(path + ":4", mnist);
  REQUIRE(x.size() == 784);
  for (std::size_t i = 0; i < 784; ++i) CHECK(x[i] == idx[16 + 4 * 784 + i] / 255.0f);
  CHECK_REFUSED(lk::cli::read_model_input(path + ":4", lk::ImageSpec{32, 32, 3, lk::ValueRange::unit}),
                "'" + path + ":4' is 28x28x1 but the model takes 32x32x3 images");
  CHECK_REFUSED(lk::cli::read_model_input(path + ":5", mnist), "image 5 is out of range");
}
