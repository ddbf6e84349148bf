#include "png_reader.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

#include "input_file.h"
#include "latentkit/error.h"

namespace latentkit::cli {
namespace {

// stb_image allocates through these: each allocation is refused above the cap the current
// decode set (see AllocationCap), so that no zlib stream can make it allocate more than the
// image's announced size needs. One decode at a time per thread.
thread_local std::size_t g_allocation_cap = std::numeric_limits<std::size_t>::max();
thread_local bool g_allocation_refused = false;

void* capped_malloc(std::size_t n) {
  if (n > g_allocation_cap) {
    g_allocation_refused = true;
    return nullptr;
  }
  return std::malloc(n);
}

void* capped_realloc(void* p, std::size_t n) {
  if (n > g_allocation_cap) {
    g_allocation_refused = true;
    return nullptr;
  }
  return std::realloc(p, n);
}

}  // namespace
}  // namespace latentkit::cli

#define STBI_MALLOC(n) latentkit::cli::capped_malloc(n)
#define STBI_REALLOC(p, n) latentkit::cli::capped_realloc(p, n)
#define STBI_FREE(p) std::free(p)
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS 4096
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

namespace latentkit::cli {
namespace {

static_assert(STBI_MAX_DIMENSIONS == kMaxImageSide, "stb's own limit is ours");

constexpr std::array<uint8_t, 8> kSignature = {137, 80, 78, 71, 13, 10, 26, 10};
// Deflate's largest expansion: 258 bytes from a 1-bit length code and a 1-bit distance code.
constexpr uint64_t kMaxDeflateRatio = 1032;

class AllocationCap {
 public:
  explicit AllocationCap(std::size_t cap) {
    g_allocation_cap = cap;
    g_allocation_refused = false;
  }
  ~AllocationCap() { g_allocation_cap = std::numeric_limits<std::size_t>::max(); }
  AllocationCap(const AllocationCap&) = delete;
  AllocationCap& operator=(const AllocationCap&) = delete;
  bool refused() const { return g_allocation_refused; }
};

uint32_t crc32(const uint8_t* data, std::size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void append_chunk(std::vector<uint8_t>& out, const char* type, const uint8_t* data, std::size_t size) {
  put_be32(out, static_cast<uint32_t>(size));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data, data + size);
  put_be32(out, crc32(out.data() + start, size + 4));
}

bool is_type(const uint8_t* type, const char* name) { return std::equal(type, type + 4, name); }

std::string type_text(const uint8_t* type) { return std::string(type, type + 4); }

const char* colour_name(int colour) {
  switch (colour) {
    case 0: return "grey";
    case 2: return "RGB";
    case 3: return "palette";
    case 4: return "grey + alpha";
    case 6: return "RGBA";
    default: return "?";
  }
}

// Samples per pixel in the scanlines (a palette index is one sample).
int samples_per_pixel(int colour) {
  switch (colour) {
    case 2: return 3;
    case 4: return 2;
    case 6: return 4;
    default: return 1;
  }
}

struct Header {
  uint32_t width = 0, height = 0;
  int depth = 0, colour = 0, interlace = 0;
};

// Bytes of filtered scanlines (one filter byte a row) for a width x height pass.
uint64_t scanline_bytes(uint64_t width, uint64_t height, int bits_per_pixel) {
  if (width == 0 || height == 0) return 0;
  return height * (1 + (width * static_cast<uint64_t>(bits_per_pixel) + 7) / 8);
}

// The exact number of bytes the zlib stream must inflate to for this header.
uint64_t image_data_bytes(const Header& h) {
  const int bits = samples_per_pixel(h.colour) * h.depth;
  if (h.interlace == 0) return scanline_bytes(h.width, h.height, bits);
  // Adam7: for each pass, its first column and row and its steps.
  static constexpr int kPass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                      {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  uint64_t total = 0;
  for (const auto& p : kPass) {
    const uint64_t w = h.width > static_cast<uint32_t>(p[0]) ? (h.width - p[0] + p[2] - 1) / p[2] : 0;
    const uint64_t r = h.height > static_cast<uint32_t>(p[1]) ? (h.height - p[1] + p[3] - 1) / p[3] : 0;
    total += scanline_bytes(w, r, bits);
  }
  return total;
}

class Refusal {
 public:
  explicit Refusal(const std::string& name) : name_(name) {}
  [[noreturn]] void operator()(const std::string& problem) const {
    throw Error(ErrorCode::invalid_argument, "'" + name_ + "': " + problem);
  }

 private:
  const std::string& name_;
};

Header parse_ihdr(const uint8_t* d, std::size_t length, const Refusal& refuse) {
  if (length != 13) refuse("its IHDR chunk is " + std::to_string(length) + " bytes long, not 13 (corrupt)");
  Header h;
  h.width = be32(d);
  h.height = be32(d + 4);
  h.depth = d[8];
  h.colour = d[9];
  h.interlace = d[12];
  if (h.width == 0 || h.height == 0) {
    refuse("IHDR gives a size of " + std::to_string(h.width) + "x" + std::to_string(h.height) + " pixels (corrupt)");
  }
  if (h.width > static_cast<uint32_t>(kMaxImageSide) || h.height > static_cast<uint32_t>(kMaxImageSide)) {
    refuse("the image is " + std::to_string(h.width) + "x" + std::to_string(h.height) +
           " pixels (width x height); the limit is " + std::to_string(kMaxImageSide) + " a side");
  }
  bool valid_depth = false;
  switch (h.colour) {
    case 0: valid_depth = h.depth == 1 || h.depth == 2 || h.depth == 4 || h.depth == 8 || h.depth == 16; break;
    case 3: valid_depth = h.depth == 1 || h.depth == 2 || h.depth == 4 || h.depth == 8; break;
    case 2:
    case 4:
    case 6: valid_depth = h.depth == 8 || h.depth == 16; break;
    default: refuse("IHDR gives colour type " + std::to_string(h.colour) + ", not a PNG colour type (0, 2, 3, 4 or 6)");
  }
  if (!valid_depth) {
    refuse("IHDR gives a bit depth of " + std::to_string(h.depth) + ", not valid for colour type " +
           std::to_string(h.colour) + " (" + colour_name(h.colour) + ")");
  }
  if (h.depth == 16) {
    refuse(std::string("a 16-bit ") + colour_name(h.colour) +
           " PNG; latentkit reads 8-bit PNGs (save it with 8 bits per channel)");
  }
  if (d[10] != 0) refuse("IHDR gives compression method " + std::to_string(d[10]) + "; PNG defines only 0");
  if (d[11] != 0) refuse("IHDR gives filter method " + std::to_string(d[11]) + "; PNG defines only 0");
  if (h.interlace > 1) refuse("IHDR gives interlace method " + std::to_string(h.interlace) + "; PNG defines 0 and 1");
  return h;
}

// What the chunk walk keeps for the decoder.
struct Checked {
  Header header;
  const uint8_t* ihdr = nullptr;  // the 13 bytes
  const uint8_t* palette = nullptr;
  std::size_t palette_bytes = 0;
  const uint8_t* transparency = nullptr;
  std::size_t transparency_bytes = 0;
  bool has_transparency = false;
  std::vector<uint8_t> idat;  // every IDAT chunk's data, in order
};

Checked walk_chunks(const uint8_t* data, std::size_t size, const Refusal& refuse) {
  if (size == 0) refuse("empty, not a PNG file");
  if (size < kSignature.size() && std::equal(data, data + size, kSignature.begin())) {
    refuse("truncated: " + std::to_string(size) + " bytes, less than the 8-byte PNG signature");
  }
  if (size < kSignature.size() || !std::equal(kSignature.begin(), kSignature.end(), data)) {
    if (size >= 4 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') {
      refuse("its PNG signature is damaged (was the file copied as text, changing line endings?)");
    }
    refuse("not a PNG file (it does not start with the PNG signature)");
  }
  Checked c;
  bool seen_ihdr = false, in_idat = false, idat_done = false;
  std::size_t pos = kSignature.size();
  for (;;) {
    const std::string at = " at byte " + std::to_string(pos);
    if (size - pos < 8) {
      refuse(pos == size ? "truncated: the file ends after " + std::to_string(size) + " bytes, before its IEND chunk"
                         : "truncated: the chunk header" + at + " is cut off");
    }
    const uint32_t length = be32(data + pos);
    const uint8_t* type = data + pos + 4;
    for (int i = 0; i < 4; ++i) {
      const bool letter = (type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z');
      if (!letter) refuse("the chunk" + at + " has no valid type (corrupt)");
    }
    const std::string name = "chunk '" + type_text(type) + "'" + at;
    if (length > 0x7FFFFFFFu) refuse(name + " gives a length of " + std::to_string(length) + " (corrupt)");
    if (size - pos - 8 < uint64_t{length} + 4) {
      refuse("truncated: " + name + " holds " + std::to_string(length) + " bytes and its CRC, but the file ends " +
             std::to_string(size - pos - 8) + " bytes later");
    }
    const uint8_t* body = type + 4;
    if (crc32(type, std::size_t{length} + 4) != be32(body + length)) {
      refuse(name + " fails its CRC check (the file is corrupt)");
    }
    if (!seen_ihdr && !is_type(type, "IHDR")) refuse("the first chunk is '" + type_text(type) + "', not IHDR (corrupt)");
    const bool is_idat = is_type(type, "IDAT");
    if (in_idat && !is_idat) {
      in_idat = false;
      idat_done = true;
    }
    const bool after_idat = in_idat || idat_done;
    const int colour = c.header.colour;
    if (is_type(type, "IHDR")) {
      if (seen_ihdr) refuse("a second " + name + " (corrupt)");
      c.header = parse_ihdr(body, length, refuse);
      c.ihdr = body;
      seen_ihdr = true;
    } else if (is_type(type, "PLTE")) {
      if (c.palette != nullptr) refuse("a second " + name + " (corrupt)");
      if (colour == 0 || colour == 4) refuse("a grey image with a palette (" + name + "; corrupt)");
      if (after_idat) refuse(name + " comes after the image data (corrupt)");
      const std::size_t entries = length / 3;
      if (length % 3 != 0 || entries == 0 || entries > 256 ||
          (colour == 3 && entries > (std::size_t{1} << c.header.depth))) {
        refuse(name + " is " + std::to_string(length) + " bytes, not a palette for a " +
               std::to_string(c.header.depth) + "-bit image (corrupt)");
      }
      c.palette = body;  // kept for colour type 3; a suggested palette (RGB, RGBA) is not used
      c.palette_bytes = length;
    } else if (is_type(type, "tRNS")) {
      if (c.transparency != nullptr) refuse("a second " + name + " (corrupt)");
      if (colour == 4 || colour == 6) {
        refuse("a tRNS chunk in an image with an alpha channel (" + name + "; corrupt)");
      }
      if (after_idat) refuse(name + " comes after the image data (corrupt)");
      const bool fits = colour == 0 ? length == 2
                      : colour == 2 ? length == 6
                                    : c.palette != nullptr && length >= 1 && length <= c.palette_bytes / 3;
      if (!fits) refuse(name + " of " + std::to_string(length) + " bytes does not fit a " + colour_name(colour) +
                        " image" + (colour == 3 && c.palette == nullptr ? " (no PLTE before it)" : "") +
                        " (corrupt)");
      c.transparency = body;
      c.transparency_bytes = length;
      c.has_transparency = true;
    } else if (is_idat) {
      if (idat_done) refuse("IDAT " + name + " after other chunks: the image data must be consecutive (corrupt)");
      if (colour == 3 && c.palette == nullptr) refuse("a palette image without a PLTE chunk before its data (corrupt)");
      c.idat.insert(c.idat.end(), body, body + length);
      in_idat = true;
    } else if (is_type(type, "IEND")) {
      if (!after_idat) refuse("no IDAT chunk: the file holds no image data (corrupt)");
      if (length != 0) refuse(name + " is " + std::to_string(length) + " bytes long, not 0 (corrupt)");
      return c;  // what follows IEND is not read
    } else if (type[0] >= 'A' && type[0] <= 'Z') {
      refuse(name + " is a critical chunk this reader does not know" +
             (is_type(type, "CgBI") ? " (an Apple-specific variant of PNG; convert it to a standard PNG)"
                                    : " (not a standard PNG?)"));
    }
    // Other ancillary chunks (text, gamma, physical size, ...) are not used.
    pos += 12 + std::size_t{length};
  }
}

}  // namespace

Picture decode_png(const uint8_t* data, std::size_t size, const std::string& name) {
  const Refusal refuse(name);
  if (static_cast<uint64_t>(size) > static_cast<uint64_t>(kMaxPngFileBytes)) {
    refuse(std::to_string(size) + " bytes, more than the " + std::to_string(kMaxPngFileBytes >> 20) +
           " MiB limit for a PNG");
  }
  Checked c = walk_chunks(data, size, refuse);
  const Header& h = c.header;

  // Too little compressed data for the scanlines IHDR announces: refused here, before the
  // decoder allocates the image.
  const uint64_t needed = image_data_bytes(h);
  if (needed > kMaxDeflateRatio * c.idat.size()) {
    refuse("truncated or corrupt: " + std::to_string(c.idat.size()) + " bytes of compressed image data cannot hold the " +
           std::to_string(needed) + " bytes a " + std::to_string(h.width) + "x" + std::to_string(h.height) + " " +
           colour_name(h.colour) + " image needs");
  }

  // The stream stb_image decodes: the checked chunks alone, the palette padded to 256 black
  // entries (stb reads an index beyond the palette from uninitialised memory).
  std::vector<uint8_t> stream(kSignature.begin(), kSignature.end());
  append_chunk(stream, "IHDR", c.ihdr, 13);
  if (h.colour == 3) {
    std::vector<uint8_t> palette(c.palette, c.palette + c.palette_bytes);
    palette.resize(256 * 3, 0);
    append_chunk(stream, "PLTE", palette.data(), palette.size());
  }
  if (c.has_transparency) append_chunk(stream, "tRNS", c.transparency, c.transparency_bytes);
  const std::size_t idat_bytes = c.idat.size();
  append_chunk(stream, "IDAT", c.idat.data(), c.idat.size());
  std::vector<uint8_t>().swap(c.idat);
  append_chunk(stream, "IEND", nullptr, 0);

  // The largest block stb needs: the compressed data (grown by doubling), the inflated
  // scanlines (stb guesses their size and may double it once, for interlaced images), the
  // image with up to 4 channels.
  const uint64_t pixels = uint64_t{h.width} * h.height;
  const uint64_t stb_guess = (uint64_t{h.width} * h.depth + 7) / 8 * h.height * samples_per_pixel(h.colour) + h.height;
  const uint64_t cap = std::max({2 * uint64_t{idat_bytes} + 8192, 2 * std::max(stb_guess, needed), 4 * pixels}) + 65536;

  int width = 0, height = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(nullptr, stbi_image_free);
  {
    AllocationCap guard(static_cast<std::size_t>(cap));
    decoded.reset(stbi_load_from_memory(stream.data(), static_cast<int>(stream.size()), &width, &height, &channels, 0));
    if (decoded == nullptr) {
      if (guard.refused()) {
        refuse("corrupt: its compressed image data inflates to more than a " + std::to_string(h.width) + "x" +
               std::to_string(h.height) + " image can hold");
      }
      const char* why = stbi_failure_reason();
      refuse(std::string("corrupt image data (") + (why != nullptr ? why : "the decoder gives no reason") + ")");
    }
  }
  const int colour_channels = h.colour == 0 || h.colour == 4 ? 1 : 3;
  const bool has_alpha = h.colour == 4 || h.colour == 6 || c.has_transparency;
  const int expected = colour_channels + (has_alpha ? 1 : 0);
  if (static_cast<uint32_t>(width) != h.width || static_cast<uint32_t>(height) != h.height || channels != expected) {
    // stb and the checks above disagree: a bug here, not in the file.
    throw Error(ErrorCode::invalid_argument,
                "'" + name + "': the decoder returned " + std::to_string(width) + "x" + std::to_string(height) + "x" +
                    std::to_string(channels) + " for a " + std::to_string(h.width) + "x" + std::to_string(h.height) +
                    " " + colour_name(h.colour) + " image with " + std::to_string(expected) + " channels");
  }

  Picture picture;
  picture.width = width;
  picture.height = height;
  picture.channels = colour_channels;
  const stbi_uc* in = decoded.get();
  if (!has_alpha) {
    picture.pixels.assign(in, in + pixels * static_cast<uint64_t>(channels));
    return picture;
  }
  picture.pixels.resize(pixels * static_cast<uint64_t>(colour_channels));
  uint8_t* out = picture.pixels.data();
  for (uint64_t i = 0; i < pixels; ++i, in += channels, out += colour_channels) {
    const uint8_t alpha = in[colour_channels];
    if (alpha != 255) {
      refuse("transparent pixels (the first at x " + std::to_string(i % h.width) + ", y " +
             std::to_string(i / h.width) + ", alpha " + std::to_string(alpha) +
             "); latentkit does not guess a background: flatten the image onto one first");
    }
    std::copy(in, in + colour_channels, out);
  }
  return picture;
}

Picture read_png(const std::string& path) {
  const InputFile file(path);
  if (file.size() > static_cast<uint64_t>(kMaxPngFileBytes)) {
    throw Error(ErrorCode::invalid_argument, "'" + path + "': " + std::to_string(file.size()) +
                                                 " bytes, more than the " + std::to_string(kMaxPngFileBytes >> 20) +
                                                 " MiB limit for a PNG");
  }
  std::vector<uint8_t> bytes(static_cast<std::size_t>(file.size()));
  const std::size_t got = file.read_at(0, bytes.data(), bytes.size());
  bytes.resize(got);  // a file that shrank while being read is judged on what was read
  return decode_png(bytes.data(), bytes.size(), path);
}

}  // namespace latentkit::cli
