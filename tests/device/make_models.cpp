// Writes the model files the device comparison decodes (tools/cross/qemu_compare.sh), so that it
// depends on neither runs/ nor training:
//   cvae-seed000-random.lkm   the seed-000 CVAE decoder (dense, transposed convolutions, ReLU,
//                             sigmoid) with random weights
//   cvae-seed000-random-int8.lkm, -int8w.lkm, -fp16.lkm
//                             the same quantised: int8 weights and activations (calibrated on
//                             200 prior samples), int8 weights only, half weights
//   cvae-seed000-random-mixture.lkm
//                             the same with a Gaussian mixture prior (issue #23)
//   random-<seed>.lkm         random decoders (tests/runtime/random_model.h): convolutions and
//                             transposed convolutions of odd kernels, strides, dilations and
//                             paddings, ReLU, sigmoid and tanh
// Usage: lk_device_models OUTPUT_DIR
// The same files on every run and every platform (random_model.h draws from std::mt19937_64).
#include <cstdio>
#include <string>

#include "latentkit/atomic_file.h"
#include "latentkit/calibration.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"
#include "latentkit/model_writer.h"
#include "latentkit/quantize.h"
#include "runtime/random_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    auto write = [&](const std::string& name, const latentkit::ModelDescription& d) {
      latentkit::write_file_atomically(dir + "/" + name, latentkit::serialize_model(d));
      std::printf("%s/%s\n", dir.c_str(), name.c_str());
    };
    const latentkit::ModelDescription cvae = latentkit::testing::seed000_decoder(6, 2);
    write("cvae-seed000-random.lkm", cvae);
    for (latentkit::QuantMode mode : {latentkit::QuantMode::fp16, latentkit::QuantMode::int8_weights}) {
      latentkit::ModelDescription d = cvae;
      latentkit::quantize_weights(d, mode);
      write(std::string("cvae-seed000-random-") + (mode == latentkit::QuantMode::fp16 ? "fp16" : "int8w") + ".lkm", d);
    }
    const auto bytes = latentkit::serialize_model(cvae);
    const latentkit::Model model = latentkit::Model::load_bytes(bytes.data(), bytes.size());
    latentkit::ModelDescription int8 = cvae;
    latentkit::quantize_model(int8, latentkit::observe_ranges(model, latentkit::sample_latents(model.latent(), 200, 1)));
    write("cvae-seed000-random-int8.lkm", int8);
    // Its latents drawn from a three-component mixture prior: the component choice and the
    // scaled normals must agree bit for bit with the host's (rng.h).
    latentkit::ModelDescription mixture = cvae;
    latentkit::GaussianMixture& prior = mixture.latent.groups[0].mixture;
    const int size = mixture.latent.groups[0].size;
    prior.weights = {0.2f, 0.5f, 0.3f};
    for (int k = 0; k < 3; ++k) {
      for (int d = 0; d < size; ++d) {
        prior.means.push_back(0.75f * static_cast<float>(k - 1) + 0.125f * static_cast<float>(d % 3));
        prior.variances.push_back(0.1f + 0.2f * static_cast<float>(k) + 0.05f * static_cast<float>(d % 4));
      }
    }
    write("cvae-seed000-random-mixture.lkm", mixture);
    // A continuous and two categorical groups, one with a category prior (one category never
    // drawn): the weighted draws must agree bit for bit with the host's too.
    latentkit::LatentGroup z{latentkit::LatentKind::gaussian, "z", 2, 1, {}, {}, {}};
    latentkit::LatentGroup digit{latentkit::LatentKind::categorical, "digit", 4, 1, {"0", "1", "2", "3"}, {}, {}};
    digit.category_weights = {0.375f, 0, 0.25f, 0.375f};
    latentkit::LatentGroup style{latentkit::LatentKind::categorical, "style", 3, 2, {}, {}, {}};
    write("joint-random-category-prior.lkm", latentkit::testing::seed000_decoder(7, {z, digit, style}));
    for (uint64_t seed : {3, 11, 42}) write("random-" + std::to_string(seed) + ".lkm", latentkit::testing::random_model(seed));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lk_device_models: %s\n", e.what());
    return 1;
  }
  return 0;
}
