// fuzz_make_corpus OUT_DIR: writes the seed corpora of the fuzz targets.
//
//   OUT_DIR/fuzz_model/  valid model files: random decoders (tests/runtime/random_model.h: every
//                        op kind, max pooling with indices, unpooling and upsampling included) and
//                        the seed-000 decoder, each as fp32, fp16, int8-weights and int8; models
//                        with a categorical latent group, alone and after a Gaussian one
//   OUT_DIR/fuzz_idx/    small valid IDX files (labels, images, 2 and 4 dimensions), raw,
//                        gzip-compressed, and in fuzz_idx's "gzip the rest" form (0xFF first)
//   OUT_DIR/fuzz_png/    small PNGs of every colour type and bit depth (16 included), plain and
//                        interlaced, every row filter, with palettes, tRNS, split IDAT and
//                        ancillary chunks, a zip bomb, their image data zlib-compressed or
//                        stored; each as a file and in fuzz_png's "repair the CRCs" form (0xFF
//                        first); IDX image files with an index (0xFE, index, file)
//
// Every model is loaded back with the runtime before it is written, so a seed that the loader
// refuses (which would make a poor seed) is reported rather than silently kept.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "cli/png_builder.h"
#include "latentkit/calibration.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "runtime/autoencoder_model.h"
#include "runtime/random_model.h"

namespace fs = std::filesystem;
namespace lk = latentkit;

namespace {

int written = 0, skipped = 0;

void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
  ++written;
}

// Writes `d` (and its quantised forms) if the runtime loads it.
void write_model(const fs::path& dir, const std::string& name, const lk::ModelDescription& d,
                 bool quantised_forms = true) {
  std::vector<uint8_t> bytes;
  lk::Model model = [&] {
    bytes = lk::serialize_model(d);
    return lk::Model::load_bytes(bytes.data(), bytes.size());
  }();
  write_file(dir / (name + ".lkm"), bytes);
  if (!quantised_forms) return;
  for (const lk::QuantMode mode : {lk::QuantMode::fp16, lk::QuantMode::int8_weights, lk::QuantMode::int8}) {
    try {
      lk::ModelDescription q = d;
      if (mode == lk::QuantMode::int8) {
        lk::quantize_model(q, lk::observe_ranges(model, lk::sample_latents(model.latent(), 64, 1)));
      } else {
        lk::quantize_weights(q, mode);
      }
      const std::vector<uint8_t> qb = lk::serialize_model(q);
      (void)lk::Model::load_bytes(qb.data(), qb.size());
      write_file(dir / (name + "-" + lk::to_string(mode) + ".lkm"), qb);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fuzz_make_corpus: %s as %s skipped: %s\n", name.c_str(),
                   lk::to_string(mode), e.what());
      ++skipped;
    }
  }
}

// A small decoder whose latent input is `dims` wide: FC -> relu -> reshape 4x4x2 -> tconv 1 ->
// sigmoid, an 8 x 8 x 1 image.
lk::ModelDescription small_decoder(int dims, uint64_t seed) {
  std::mt19937_64 rng(seed);
  lk::testing::DecoderBuilder b(dims);
  b.fully_connected(32, lk::testing::random_weights(rng, 32 * dims, dims),
                    lk::testing::random_weights(rng, 32, 1));
  b.activation(lk::OpKind::relu);
  b.reshape({4, 4, 2});
  lk::Window w;
  w.stride_h = w.stride_w = 2;
  w.pad_top = w.pad_left = 1;
  w.adjustment_h = w.adjustment_w = 1;
  b.transpose_conv2d(1, 3, 3, w, lk::testing::random_weights(rng, 9 * 2, 18));
  b.activation(lk::OpKind::sigmoid);
  return b.finish();
}

lk::LatentGroup group(lk::LatentKind kind, const std::string& name, int size, int count) {
  lk::LatentGroup g;
  g.kind = kind;
  g.name = name;
  g.size = size;
  g.count = count;
  if (kind == lk::LatentKind::categorical) {
    for (int i = 0; i < size; ++i) g.labels.push_back(name + std::to_string(i));
  }
  return g;
}

void write_models(const fs::path& dir) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    try {
      write_model(dir, "random" + std::to_string(seed), lk::testing::random_model(seed));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fuzz_make_corpus: random_model(%d) skipped: %s\n",
                   static_cast<int>(seed), e.what());
      ++skipped;
    }
  }
  lk::ModelDescription seed000 = lk::testing::seed000_decoder(0);
  seed000.provenance.dataset = "mnist";
  seed000.provenance.epochs = 18;
  seed000.provenance.metrics = {{"test_elbo_nats", -159.52}, {"psnr_db", 80.7}};
  seed000.provenance.labels = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  write_model(dir, "seed000", seed000);

  // Latent specs beyond one Gaussian group.
  lk::ModelDescription categorical = small_decoder(10, 1);
  categorical.latent.groups = {group(lk::LatentKind::categorical, "digit", 10, 1)};
  write_model(dir, "categorical", categorical);

  lk::ModelDescription categorical2 = small_decoder(6, 2);
  categorical2.latent.groups = {group(lk::LatentKind::categorical, "c", 3, 2)};
  write_model(dir, "categorical-count2", categorical2);

  lk::ModelDescription mixed = small_decoder(2 + 10, 3);
  mixed.latent.groups = {group(lk::LatentKind::gaussian, "z", 2, 1),
                         group(lk::LatentKind::categorical, "digit", 10, 1)};
  write_model(dir, "mixed", mixed);

  lk::ModelDescription mixed2 = small_decoder(3 + 4 * 2 + 1, 4);
  mixed2.latent.groups = {group(lk::LatentKind::gaussian, "z", 3, 1),
                          group(lk::LatentKind::categorical, "style", 4, 2),
                          group(lk::LatentKind::gaussian, "w", 1, 1)};
  write_model(dir, "mixed-3groups", mixed2);

  // A Gaussian mixture prior (GAUSSIAN_MIXTURE), before a categorical group: the mutator then
  // edits its weights, means, variances and their sizes.
  lk::ModelDescription mixture = small_decoder(2 + 10, 6);
  mixture.latent.groups = {group(lk::LatentKind::gaussian, "z", 2, 1),
                           group(lk::LatentKind::categorical, "digit", 10, 1)};
  mixture.latent.groups[0].mixture.weights = {0.25f, 0.75f};
  mixture.latent.groups[0].mixture.means = {-1.5f, 0.5f, 2, -0.25f};
  mixture.latent.groups[0].mixture.variances = {0.5f, 1, 0.125f, 2};
  write_model(dir, "mixture", mixture);

  // A category prior fitted after training (category_weights) on a group of two variables, one
  // of whose categories is never drawn: the mutator edits the shares and their number.
  lk::ModelDescription category_prior = small_decoder(2 + 4 * 2, 6);
  category_prior.latent.groups = {group(lk::LatentKind::gaussian, "z", 2, 1),
                                  group(lk::LatentKind::categorical, "style", 4, 2)};
  category_prior.latent.groups[1].category_weights = {0.5f, 0.25f, 0.25f, 0, 0.125f, 0.125f, 0.25f, 0.5f};
  write_model(dir, "category-prior", category_prior);

  // Several methods over shared weights (format version 2), and its weights quantised.
  lk::ModelDescription autoencoder = lk::testing::small_autoencoder(6);
  write_model(dir, "autoencoder", autoencoder, /*quantised_forms=*/false);
  for (const lk::QuantMode mode : {lk::QuantMode::fp16, lk::QuantMode::int8_weights}) {
    lk::ModelDescription q = autoencoder;
    lk::quantize_weights(q, mode);
    write_model(dir, std::string("autoencoder-") + lk::to_string(mode), q, /*quantised_forms=*/false);
  }
  // The version-1 layout, which the loader still reads.
  lk::ModelDescription v1 = seed000;
  v1.format_version = 1;
  write_model(dir, "seed000-v1", v1);

  lk::ModelDescription symmetric = small_decoder(2, 5);
  symmetric.ops.back().kind = lk::OpKind::tanh;
  symmetric.image.range = lk::ValueRange::symmetric;
  write_model(dir, "tanh-symmetric", symmetric);
}

std::vector<uint8_t> idx(const std::vector<uint32_t>& dims, uint8_t type = 0x08) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  uint64_t n = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
    n *= d;
  }
  for (uint64_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>((i * 37) % 256));
  return out;
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& in) {
  z_stream s{};
  if (deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::vector<uint8_t> out(deflateBound(&s, in.size()) + 32);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  if (deflate(&s, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

void write_idx(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> files = {
      {"labels-10", idx({10})},
      {"labels-1", idx({1})},
      {"images-3x5x4", idx({3, 5, 4})},
      {"images-2x28x28", idx({2, 28, 28})},
      {"matrix-7x3", idx({7, 3})},
      {"tensor-2x2x2x3", idx({2, 2, 2, 3})},
      {"signed-byte", idx({4}, 0x09)},  // refused: only unsigned bytes are supported
  };
  for (const auto& [name, bytes] : files) {
    write_file(dir / (name + ".idx"), bytes);
    write_file(dir / (name + ".idx.gz"), gzip(bytes));
    std::vector<uint8_t> wrapped = {0xFF};
    wrapped.insert(wrapped.end(), bytes.begin(), bytes.end());
    write_file(dir / (name + ".wrapped"), wrapped);
  }
  // Two gzip members back to back (zlib reads both), and a gzip file with trailing garbage.
  const std::vector<uint8_t> full = idx({6});
  std::vector<uint8_t> two = gzip(std::vector<uint8_t>(full.begin(), full.begin() + 5));
  const std::vector<uint8_t> rest = gzip(std::vector<uint8_t>(full.begin() + 5, full.end()));
  two.insert(two.end(), rest.begin(), rest.end());
  write_file(dir / "labels-6-two-members.idx.gz", two);
  std::vector<uint8_t> trailing = gzip(idx({4}));
  trailing.insert(trailing.end(), {0, 1, 2, 3});
  write_file(dir / "labels-4-trailing.idx.gz", trailing);
}

// A zlib stream of `raw` at the given level (0: stored blocks), as real encoders write it.
std::vector<uint8_t> zlib(const std::vector<uint8_t>& raw, int level) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> out(size);
  if (compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), level) != Z_OK) {
    throw std::runtime_error("compress2 failed");
  }
  out.resize(size);
  return out;
}

void write_png_seed(const fs::path& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  write_file(dir / (name + ".png"), bytes);
  std::vector<uint8_t> repaired = {0xFF};
  repaired.insert(repaired.end(), bytes.begin(), bytes.end());
  write_file(dir / (name + ".repair"), repaired);
}

void write_png(const fs::path& dir) {
  namespace png = lk::test_png;
  struct Seed {
    std::string name;
    png::Format format;
  };
  const std::vector<Seed> seeds = {
      {"grey1-9x5", {9, 5, 1, 0, 0}},   {"grey2-7x3", {7, 3, 2, 0, 0}},     {"grey4-5x4", {5, 4, 4, 0, 0}},
      {"grey8-8x8", {8, 8, 8, 0, 0}},   {"grey16-3x3", {3, 3, 16, 0, 0}},   {"rgb8-6x4", {6, 4, 8, 2, 0}},
      {"rgb16-2x2", {2, 2, 16, 2, 0}},  {"palette1-9x2", {9, 2, 1, 3, 0}},  {"palette4-5x5", {5, 5, 4, 3, 0}},
      {"palette8-4x4", {4, 4, 8, 3, 0}}, {"greyalpha8-4x3", {4, 3, 8, 4, 0}}, {"rgba8-5x3", {5, 3, 8, 6, 0}},
      {"grey8-interlaced-11x9", {11, 9, 8, 0, 1}}, {"rgb8-interlaced-9x10", {9, 10, 8, 2, 1}},
      {"palette2-interlaced-10x7", {10, 7, 2, 3, 1}}, {"rgba8-interlaced-8x8", {8, 8, 8, 6, 1}},
      {"grey8-28x28", {28, 28, 8, 0, 0}},
  };
  for (const Seed& seed : seeds) {
    const png::Format& f = seed.format;
    const int spp = png::samples_per_pixel(f.colour);
    const uint32_t top = (1u << f.depth) - 1;
    std::vector<uint32_t> samples;
    for (uint32_t i = 0; i < f.width * f.height * static_cast<uint32_t>(spp); ++i) {
      // Opaque alpha, so that the seeds decode all the way.
      samples.push_back(((f.colour == 4 && i % 2 == 1) || (f.colour == 6 && i % 4 == 3)) ? top : (i * 97 + 13) % (top + 1));
    }
    std::vector<uint8_t> palette;
    if (f.colour == 3) {
      for (uint32_t i = 0; i <= std::min<uint32_t>(top, 15) * 3 + 2; ++i) palette.push_back(static_cast<uint8_t>(i * 41));
    }
    png::Png file = png::make_png(f, samples, palette);
    write_png_seed(dir, seed.name + "-stored", file.bytes());
    // Dynamic Huffman codes (level 9) and fixed ones (level 1 on small inputs), as encoders write.
    const std::vector<uint8_t> lines = png::scanlines(f, samples);
    const std::size_t idat = file.find("IDAT");
    for (const int level : {1, 9}) {
      file.chunks[idat].data = zlib(lines, level);
      write_png_seed(dir, seed.name + "-z" + std::to_string(level), file.bytes());
    }
    if (f.interlace == 0) {
      // Every row filter (none, sub, up, average, Paeth) in turn: the pixels change, the file
      // stays valid.
      std::vector<uint8_t> filtered = lines;
      const std::size_t row = lines.size() / f.height;
      for (uint32_t y = 0; y < f.height; ++y) filtered[y * row] = static_cast<uint8_t>(y % 5);
      file.chunks[idat].data = zlib(filtered, 9);
      write_png_seed(dir, seed.name + "-filters", file.bytes());
    }
  }
  // Transparency (refused when used), split image data, ancillary chunks.
  write_png_seed(dir, "palette-trns", png::make_png({3, 1, 8, 3, 0}, {0, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {255, 128}).bytes());
  write_png_seed(dir, "grey-trns", png::make_png({2, 1, 8, 0, 0}, {7, 9}, {}, {0, 8}).bytes());
  write_png_seed(dir, "rgb-trns", png::make_png({1, 1, 8, 2, 0}, {1, 2, 3}, {}, {0, 1, 0, 2, 0, 4}).bytes());
  png::Png split = png::make_png({4, 4, 8, 2, 0}, std::vector<uint32_t>(48, 77));
  const std::vector<uint8_t> all = zlib(png::scanlines({4, 4, 8, 2, 0}, std::vector<uint32_t>(48, 77)), 9);
  split.chunks[1].data.assign(all.begin(), all.begin() + 4);
  split.chunks.insert(split.chunks.begin() + 2, {"IDAT", std::vector<uint8_t>(all.begin() + 4, all.end())});
  split.chunks.insert(split.chunks.begin() + 1, {"gAMA", {0, 0, 177, 143}});
  split.chunks.insert(split.chunks.end() - 1, {"tEXt", {'k', 0, 'v'}});
  write_png_seed(dir, "rgb-split-idat", split.bytes());
  png::Png bomb = png::make_png({16, 16, 8, 0, 0}, std::vector<uint32_t>(256, 0));
  bomb.chunks[1].data = png::zlib_zeros(200000);
  write_png_seed(dir, "grey-zip-bomb", bomb.bytes());

  // IDX image files, with an index in front.
  for (const auto& [name, dims, index] : std::vector<std::tuple<std::string, std::vector<uint32_t>, uint8_t>>{
           {"images-3x5x4-i2", {3, 5, 4}, 2}, {"images-2x28x28-i0", {2, 28, 28}, 0},
           {"colour-2x3x2x3-i1", {2, 3, 2, 3}, 1}, {"images-4x2x2-i9", {4, 2, 2}, 9}}) {
    std::vector<uint8_t> bytes = {0xFE, index};
    const std::vector<uint8_t> file = idx(dims);
    bytes.insert(bytes.end(), file.begin(), file.end());
    write_file(dir / (name + ".idx-indexed"), bytes);
  }
  write_file(dir / "images-3x5x4-no-index.idx", idx({3, 5, 4}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const fs::path out = argv[1];
    fs::create_directories(out / "fuzz_model");
    fs::create_directories(out / "fuzz_idx");
    fs::create_directories(out / "fuzz_png");
    write_models(out / "fuzz_model");
    write_idx(out / "fuzz_idx");
    write_png(out / "fuzz_png");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  std::printf("fuzz_make_corpus: %d files written to %s (%d variants skipped)\n", written, argv[1],
              skipped);
  return 0;
}
