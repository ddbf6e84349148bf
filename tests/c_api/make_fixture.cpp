// Writes what the C API test compares against, computed with the C++ API: the model files and
// the expected latents and images, as raw native-endian float32.
//
//   make_c_api_fixture DIR      (created if missing)
//
//   DIR/model.lkm              the seed-000 decoder shape, 3 latents, random weights, provenance
//   DIR/model_1d.lkm           the same with 1 latent (no grid possible)
//   DIR/model_v99.lkm          format version 99 (unsupported)
//   DIR/sample.f32             latentkit::sample_latents(spec, 5, seed 7)
//   DIR/decode_reference.f32   Decoder(reference) on sample.f32, batch 5
//   DIR/decode_xnnpack.f32     Decoder(xnnpack) on sample.f32, batch 5 (when the build has it)
//   DIR/grid.f32               grid_latents(spec, 3, 4, x -1..2, y -0.5..1.5)
//   DIR/grid_default.f32       grid_latents(spec, 2, 2, default range, default range)
//   DIR/categorical.lkm        the seed-000 decoder shape over a 2-D Gaussian group and a
//                              categorical group of 3 labelled categories (red, green, blue)
//   DIR/autoencoder.lkm        runtime/autoencoder_model.h: encode, decode, reconstruct (3x3x1)
//   DIR/ae_images.f32          4 images for it (values in [0, 1])
//   DIR/ae_means.f32, DIR/ae_log_variances.f32, DIR/ae_reconstructions.f32
//                              its reference backend's encode and reconstruct of them
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "latentkit/atomic_file.h"
#include "latentkit/backend.h"
#include "latentkit/decoder.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/method_runner.h"
#include "runtime/autoencoder_model.h"
#include "runtime/random_model.h"

namespace lk = latentkit;

namespace {

void write_floats(const std::string& path, const std::vector<float>& values) {
  const auto* p = reinterpret_cast<const uint8_t*>(values.data());
  lk::write_file_atomically(path, std::vector<uint8_t>(p, p + values.size() * sizeof(float)));
}

lk::ModelDescription describe_model(int latent_dims) {
  lk::ModelDescription d = lk::testing::seed000_decoder(/*seed=*/11, latent_dims);
  d.provenance.model_family = "cvae";
  d.provenance.dataset = "mnist";
  d.provenance.epochs = 3;
  d.provenance.metrics = {{"test_elbo_nats", -159.5}, {"test_kl_nats", 5.75}};
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  try {
    const std::string dir = argv[1];
    std::filesystem::create_directories(dir);
    const lk::ModelDescription description = describe_model(3);
    const std::vector<uint8_t> bytes = lk::serialize_model(description);
    lk::write_file_atomically(dir + "/model.lkm", bytes);
    lk::write_file_atomically(dir + "/model_1d.lkm", lk::serialize_model(describe_model(1)));
    lk::ModelDescription v99 = description;
    v99.format_version = 99;
    lk::write_file_atomically(dir + "/model_v99.lkm", lk::serialize_model(v99));

    const lk::LatentGroup gaussian{lk::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
    const lk::LatentGroup colour{lk::LatentKind::categorical, "colour", 3, 1, {"red", "green", "blue"}, {}, {}};
    lk::write_file_atomically(dir + "/categorical.lkm",
                              lk::serialize_model(lk::testing::seed000_decoder(/*seed=*/12, {gaussian, colour})));
    // The same with a three-component mixture prior over z, and the latents latentkit_sample must give.
    lk::LatentGroup mixture = gaussian;
    mixture.mixture.weights = {0.2f, 0.5f, 0.3f};
    mixture.mixture.means = {-3, 1, 0, 0, 4, -2};
    mixture.mixture.variances = {0.5f, 0.25f, 1, 2, 0.1f, 3};
    const lk::ModelDescription with_mixture = lk::testing::seed000_decoder(/*seed=*/12, {mixture, colour});
    lk::write_file_atomically(dir + "/mixture.lkm", lk::serialize_model(with_mixture));
    write_floats(dir + "/mixture_sample.f32", lk::sample_latents(with_mixture.latent, 6, 7));

    const lk::Model model = lk::Model::load_bytes(bytes.data(), bytes.size());
    const std::vector<float> z = lk::sample_latents(model.latent(), 5, 7);
    write_floats(dir + "/sample.f32", z);
    lk::Decoder reference(model, lk::BackendKind::reference);
    write_floats(dir + "/decode_reference.f32", reference.decode(z, 5));
    if (lk::backend_available(lk::BackendKind::xnnpack)) {
      lk::Decoder xnnpack(model, lk::BackendKind::xnnpack);
      write_floats(dir + "/decode_xnnpack.f32", xnnpack.decode(z, 5));
    }
    write_floats(dir + "/grid.f32",
                 lk::grid_latents(model.latent(), 3, 4, {-1.0f, 2.0f}, {-0.5f, 1.5f}));
    const lk::Range d = lk::default_grid_range();
    write_floats(dir + "/grid_default.f32", lk::grid_latents(model.latent(), 2, 2, d, d));

    const std::vector<uint8_t> ae_bytes = lk::serialize_model(lk::testing::small_autoencoder(3));
    lk::write_file_atomically(dir + "/autoencoder.lkm", ae_bytes);
    const lk::Model autoencoder = lk::Model::load_bytes(ae_bytes.data(), ae_bytes.size());
    std::vector<float> images(4 * 9);
    for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>((i * 7) % 11) / 10.0f;
    write_floats(dir + "/ae_images.f32", images);
    const auto posterior = lk::MethodRunner(autoencoder, "encode", lk::BackendKind::reference).run({images}, 4);
    write_floats(dir + "/ae_means.f32", posterior[0]);
    write_floats(dir + "/ae_log_variances.f32", posterior[1]);
    write_floats(dir + "/ae_reconstructions.f32",
                 lk::MethodRunner(autoencoder, "reconstruct", lk::BackendKind::reference).run({images}, 4)[0]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_c_api_fixture: %s\n", e.what());
    return 1;
  }
  return 0;
}
