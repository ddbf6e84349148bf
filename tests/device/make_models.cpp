// Writes the model files the device comparison decodes (tools/cross/qemu_compare.sh), so that it
// depends on neither runs/ nor training:
//   cvae-seed000-random.lkm   the seed-000 CVAE decoder (dense, transposed convolutions, ReLU,
//                             sigmoid) with random weights
//   random-<seed>.lkm         random decoders (tests/runtime/random_model.h): convolutions and
//                             transposed convolutions of odd kernels, strides, dilations and
//                             paddings, ReLU, sigmoid and tanh
// Usage: lk_device_models OUTPUT_DIR
// The same files on every run and every platform (random_model.h draws from std::mt19937_64).
#include <cstdio>
#include <string>

#include "latentkit/atomic_file.h"
#include "latentkit/model_writer.h"
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
    write("cvae-seed000-random.lkm", latentkit::testing::seed000_decoder(6, 2));
    for (uint64_t seed : {3, 11, 42}) write("random-" + std::to_string(seed) + ".lkm", latentkit::testing::random_model(seed));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lk_device_models: %s\n", e.what());
    return 1;
  }
  return 0;
}
