// fuzz_make_corpus OUT_DIR: writes the seed corpora of the fuzz targets.
//
//   OUT_DIR/fuzz_model/  valid model files: random decoders (tests/runtime/random_model.h) and
//                        the seed-000 decoder, each as fp32, fp16, int8-weights and int8; models
//                        with a categorical latent group, alone and after a Gaussian one
//   OUT_DIR/fuzz_idx/    small valid IDX files (labels, images, 2 and 4 dimensions), raw,
//                        gzip-compressed, and in fuzz_idx's "gzip the rest" form (0xFF first)
//
// Every model is loaded back with the runtime before it is written, so a seed that the loader
// refuses (which would make a poor seed) is reported rather than silently kept.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

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
    write_models(out / "fuzz_model");
    write_idx(out / "fuzz_idx");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_corpus: %s\n", e.what());
    return 1;
  }
  std::printf("fuzz_make_corpus: %d files written to %s (%d variants skipped)\n", written, argv[1],
              skipped);
  return 0;
}
