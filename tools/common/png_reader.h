// PNG input for the command-line programs: a file's bytes -> a Picture (8-bit, HWC).
//
// The file is untrusted. Before stb_image sees a byte, the whole chunk structure is checked
// here: the signature; every chunk's length, type and CRC (stb checks no CRC); IHDR first, with
// a width and height of 1..kMaxImageSide, a valid bit depth / colour type pair, compression,
// filter and interlace methods; PLTE, tRNS, IDAT and IEND where the PNG specification puts them;
// no unknown critical chunk (Apple's CgBI variant is one); and enough compressed data for the
// pixels IHDR announces. stb_image (PNG only) then decodes a stream rebuilt from the checked
// chunks alone (IHDR, PLTE, tRNS, one IDAT, IEND), with every allocation capped at what the
// announced size needs, so that a hostile zlib stream cannot make it allocate more.
//
// What is read:
//   grey (colour type 0) at 1, 2, 4 or 8 bits       -> 1 channel (low bit depths scaled to 0..255)
//   RGB (2) at 8 bits, palette (3) at 1..8 bits      -> 3 channels (palette expanded; an index
//                                                      beyond the palette reads as black, as libpng)
//   grey + alpha (4), RGBA (6) at 8 bits, or any of
//   the above with a tRNS chunk                       -> the alpha channel is dropped if every
//                                                      pixel is opaque (alpha 255); an image with
//                                                      a transparent pixel is refused: there is no
//                                                      background to put it on that would not be
//                                                      a guess
//   16 bits per sample                                -> refused (convert to 8 bits first)
//   interlaced (Adam7)                                -> read
//
// Errors: Error(io) when the file cannot be opened or read (missing, a folder, a read error);
// Error(invalid_argument) for everything about its contents: not a PNG, truncated, a CRC that
// does not match, an unsupported or invalid header, transparency, too large. Every message
// starts with the file's name in quotes and names the chunk, byte offset or value at fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "latentkit/image_grid.h"

namespace latentkit::cli {

// The largest image side read_png accepts (a model's input is far smaller), and the largest
// file: 4096 x 4096 RGBA without compression is 64 MiB of pixel data.
constexpr int kMaxImageSide = 4096;
constexpr int64_t kMaxPngFileBytes = int64_t{1} << 27;  // 128 MiB

// Reads and decodes the PNG file at `path`; messages name it as `'path'`.
Picture read_png(const std::string& path);

// Decodes a PNG held in memory; messages name it as `'name'`.
Picture decode_png(const uint8_t* data, std::size_t size, const std::string& name);

}  // namespace latentkit::cli
