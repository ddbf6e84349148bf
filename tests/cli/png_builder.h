// PNG files built by hand, byte by byte, for the image reader's tests and the fuzz seeds: every
// colour type and bit depth (16 included, to be refused), Adam7 interlacing, palettes, tRNS,
// chunks in any order, and deflate streams without zlib (stored blocks, or a fixed-Huffman run
// of zeros as long as asked, for "zip bomb" inputs). Independent of tools/common's reader: its
// own CRC, its own scanline packing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace latentkit::test_png {

inline uint32_t crc32(const uint8_t* data, std::size_t size) {
  uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

inline void put32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

inline uint32_t adler32(const std::vector<uint8_t>& data) {
  uint32_t a = 1, b = 0;
  for (uint8_t byte : data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

// A zlib stream of stored (uncompressed) deflate blocks.
inline std::vector<uint8_t> zlib_stored(const std::vector<uint8_t>& raw) {
  std::vector<uint8_t> out = {0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(raw.size() - pos, 65535);
    const bool last = pos + n == raw.size();
    out.push_back(last ? 1 : 0);
    out.push_back(static_cast<uint8_t>(n));
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(~n));
    out.push_back(static_cast<uint8_t>(~n >> 8));
    out.insert(out.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos), raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < raw.size());
  put32(out, adler32(raw));
  return out;
}

// A zlib stream that inflates to `zeros` zero bytes (>= 259) in about zeros / 160 bytes: one
// fixed-Huffman block of a literal 0, then copies of length 258 at distance 1.
inline std::vector<uint8_t> zlib_zeros(std::size_t zeros) {
  std::vector<uint8_t> out = {0x78, 0x01};
  uint32_t bits = 0;
  int count = 0;
  auto put = [&](uint32_t value, int n) {  // LSB first
    for (int i = 0; i < n; ++i) {
      bits |= ((value >> i) & 1u) << count;
      if (++count == 8) {
        out.push_back(static_cast<uint8_t>(bits));
        bits = 0;
        count = 0;
      }
    }
  };
  auto put_code = [&](uint32_t code, int n) {  // Huffman codes go MSB first
    for (int i = n - 1; i >= 0; --i) put((code >> i) & 1u, 1);
  };
  put(1, 1);                // last block
  put(1, 2);                // fixed Huffman
  put_code(0x30, 8);        // literal 0
  std::size_t done = 1;
  while (zeros - done >= 258) {
    put_code(0xC5, 8);      // length 258 (code 285)
    put_code(0, 5);         // distance 1 (code 0)
    done += 258;
  }
  while (done < zeros) {
    put_code(0x30, 8);
    ++done;
  }
  put_code(0, 7);           // end of block (code 256)
  if (count > 0) out.push_back(static_cast<uint8_t>(bits));
  put32(out, adler32(std::vector<uint8_t>(zeros, 0)));
  return out;
}

struct Chunk {
  std::string type;
  std::vector<uint8_t> data;
};

struct Png {
  std::vector<Chunk> chunks;

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out = {137, 80, 78, 71, 13, 10, 26, 10};
    for (const Chunk& c : chunks) {
      put32(out, static_cast<uint32_t>(c.data.size()));
      const std::size_t start = out.size();
      out.insert(out.end(), c.type.begin(), c.type.end());
      out.insert(out.end(), c.data.begin(), c.data.end());
      put32(out, crc32(out.data() + start, out.size() - start));
    }
    return out;
  }
  std::size_t find(const std::string& type) const {
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      if (chunks[i].type == type) return i;
    }
    return chunks.size();
  }
};

struct Format {
  uint32_t width = 1, height = 1;
  int depth = 8, colour = 0, interlace = 0;
};

inline int samples_per_pixel(int colour) { return colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1; }

inline std::vector<uint8_t> ihdr(const Format& f) {
  std::vector<uint8_t> d;
  put32(d, f.width);
  put32(d, f.height);
  d.push_back(static_cast<uint8_t>(f.depth));
  d.push_back(static_cast<uint8_t>(f.colour));
  d.push_back(0);
  d.push_back(0);
  d.push_back(static_cast<uint8_t>(f.interlace));
  return d;
}

// Filtered scanlines (filter 0) of `samples` (one value per sample, row-major, each below
// 2^depth), interlaced with Adam7 if the format says so.
inline std::vector<uint8_t> scanlines(const Format& f, const std::vector<uint32_t>& samples) {
  const int spp = samples_per_pixel(f.colour);
  std::vector<uint8_t> out;
  auto pass = [&](uint32_t x0, uint32_t y0, uint32_t dx, uint32_t dy) {
    for (uint32_t y = y0; y < f.height; y += dy) {
      if (x0 >= f.width) return;
      out.push_back(0);
      uint32_t acc = 0;
      int bits = 0;
      for (uint32_t x = x0; x < f.width; x += dx) {
        for (int s = 0; s < spp; ++s) {
          const uint32_t v = samples[(static_cast<std::size_t>(y) * f.width + x) * spp + s];
          if (f.depth == 16) {
            out.push_back(static_cast<uint8_t>(v >> 8));
            out.push_back(static_cast<uint8_t>(v));
          } else {
            acc = (acc << f.depth) | v;
            bits += f.depth;
            if (bits == 8) {
              out.push_back(static_cast<uint8_t>(acc));
              acc = 0;
              bits = 0;
            }
          }
        }
      }
      if (bits > 0) out.push_back(static_cast<uint8_t>(acc << (8 - bits)));
    }
  };
  if (f.interlace == 0) {
    pass(0, 0, 1, 1);
  } else {
    pass(0, 0, 8, 8), pass(4, 0, 8, 8), pass(0, 4, 4, 8), pass(2, 0, 4, 4);
    pass(0, 2, 2, 4), pass(1, 0, 2, 2), pass(0, 1, 1, 2);
  }
  return out;
}

// A whole PNG: IHDR, PLTE and tRNS if given, one IDAT of stored blocks, IEND.
inline Png make_png(const Format& f, const std::vector<uint32_t>& samples, const std::vector<uint8_t>& palette = {},
                    const std::vector<uint8_t>& transparency = {}) {
  Png png;
  png.chunks.push_back({"IHDR", ihdr(f)});
  if (!palette.empty()) png.chunks.push_back({"PLTE", palette});
  if (!transparency.empty()) png.chunks.push_back({"tRNS", transparency});
  png.chunks.push_back({"IDAT", zlib_stored(scanlines(f, samples))});
  png.chunks.push_back({"IEND", {}});
  return png;
}

// Rewrites the CRC of every whole chunk of `png` (from byte 8 on) to match its contents, so
// that byte-level mutations get past the CRC check (the fuzz target uses it).
inline void repair_crcs(std::vector<uint8_t>& png) {
  std::size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const uint32_t length = (uint32_t{png[pos]} << 24) | (uint32_t{png[pos + 1]} << 16) |
                            (uint32_t{png[pos + 2]} << 8) | uint32_t{png[pos + 3]};
    if (length > png.size() - pos - 12) return;
    const uint32_t crc = crc32(png.data() + pos + 4, std::size_t{length} + 4);
    for (int i = 0; i < 4; ++i) png[pos + 8 + length + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    pos += 12 + std::size_t{length};
  }
}

}  // namespace latentkit::test_png
