// The options of a short training run on the first MNIST images with no report: what the trainer
// tests train. Each test adds what it needs (latent size, binarisation, IWAE samples).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "latentkit/trainer/train_options.h"

namespace latentkit::trainer_test {

inline trainer::TrainOptions short_run(const std::string& family, const std::filesystem::path& run_dir, int epochs,
                                       int64_t batch_size, int64_t train_limit, int64_t test_limit) {
  trainer::TrainOptions o;
  o.family = family;
  o.data_dir = LATENTKIT_MNIST_DIR;
  o.run_dir = run_dir.string();
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.train_limit = train_limit;
  o.test_limit = test_limit;
  o.write_report = false;
  return o;
}

}  // namespace latentkit::trainer_test
