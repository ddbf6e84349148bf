// latentkit: the workstation program. Trains a model, exports its decoder to a model file, and
// inspects model files.
//
//   latentkit train cvae --data data/mnist --out runs/cvae
//   latentkit export runs/cvae -o cvae.lkm
//   latentkit inspect cvae.lkm
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "latentkit/error.h"
#include "latentkit/image_grid.h"
#include "latentkit/latents.h"
#include "latentkit/trainer/export_cvae.h"
#include "latentkit/trainer/train_cvae.h"
#include "model_summary.h"
#include "png_writer.h"

namespace lk = latentkit;
namespace tr = latentkit::trainer;
namespace fs = std::filesystem;

namespace {

// The 5 x 5 grid drawn by libtorch's own decoder, to compare with the runtime's rendering.
void write_libtorch_grid(const std::string& run_dir) {
  tr::LoadedCheckpoint run = tr::load_checkpoint((fs::path(run_dir) / "checkpoint.pt").string());
  run.model->eval();
  lk::LatentSpec spec;
  spec.groups.push_back({lk::LatentKind::gaussian, "z", static_cast<int>(run.info.latent_dims), 1, {}});
  if (spec.dims() < 2) return;  // a grid needs two latent dimensions
  const std::vector<float> z = lk::grid_latents(spec, 5, 5, lk::default_grid_range(), lk::default_grid_range());
  const std::vector<float> images = tr::decode_images(run.model, z);
  const lk::ImageSpec image{static_cast<int>(tr::kImageSize), static_cast<int>(tr::kImageSize), 1, lk::ValueRange::unit};
  const std::string path = (fs::path(run_dir) / "grid_libtorch.png").string();
  lk::cli::write_png(path, lk::tile_images(images.data(), image, 5, 5));
  std::printf("wrote %s (5x5 latent grid, libtorch decoder)\n", path.c_str());
}

// `export` accepts a run folder or a checkpoint file.
std::string checkpoint_path(const std::string& source) {
  return fs::is_directory(source) ? (fs::path(source) / "checkpoint.pt").string() : source;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"latentkit: train autoencoder-family models and export their decoders"};
  app.require_subcommand(1);

  auto* train = app.add_subcommand("train", "train a model");
  tr::TrainOptions options;
  std::string family = "cvae", binarization = "dynamic";
  train->add_option("family", family, "model family")->check(CLI::IsMember({"cvae"}))->capture_default_str();
  train->add_option("--data", options.data_dir, "folder with the IDX files (MNIST, Fashion-MNIST)")->capture_default_str();
  train->add_option("--out", options.run_dir, "run folder to create")->capture_default_str();
  train->add_flag("--overwrite", options.overwrite, "replace a run already in --out");
  train->add_option("--latent", options.latent_dims, "latent size")->check(CLI::Range(1, 4096))->capture_default_str();
  train->add_option("--epochs", options.epochs, "epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  train->add_option("--batch", options.batch_size, "batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  train->add_option("--lr", options.learning_rate, "Adam learning rate (cosine-decayed)")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--seed", options.seed, "random seed")->capture_default_str();
  train->add_option("--binarize", binarization, "dynamic (Bernoulli draws) or static (threshold 0.5)")
      ->check(CLI::IsMember({"dynamic", "static"}))->capture_default_str();
  train->add_option("--train-limit", options.train_limit, "use only the first N training images (0: all)")->check(CLI::NonNegativeNumber);
  train->add_option("--test-limit", options.test_limit, "use only the first N test images (0: all)")->check(CLI::NonNegativeNumber);
  train->add_option("--threads", options.threads.intra_op, "libtorch intra-op threads (0: one per core)")->check(CLI::Range(0, 256))->capture_default_str();
  train->add_option("--blas-threads", options.threads.blas, "OpenBLAS threads")->check(CLI::Range(1, 256))->capture_default_str();

  auto* exporter = app.add_subcommand("export", "write a trained decoder to a model file");
  std::string source, output, quant = "fp32", calibration_data = "data/mnist";
  exporter->add_option("run", source, "run folder or checkpoint file")->required();
  exporter->add_option("-o,--output", output, "model file to write (.lkm)")->required();
  exporter->add_option("--quant", quant, "fp32, fp16, int8-weights (int8 weights, float activations) or int8 (int8 weights and activations)")->capture_default_str();
  exporter->add_option("--data", calibration_data, "dataset whose encoded training images calibrate --quant int8")->capture_default_str();

  auto* inspect = app.add_subcommand("inspect", "describe a model file: metadata, tensors, ops");
  std::string model_path;
  inspect->add_option("model", model_path, "model file")->required();

  CLI11_PARSE(app, argc, argv);

  try {
    if (*train) {
      options.binarization = tr::parse_binarization(binarization);
      std::fprintf(stderr, "%s\n", tr::apply_thread_config(options.threads).c_str());
      const auto reports = tr::train_cvae(options);
      const tr::EpochReport& last = reports.back();
      std::printf("trained %s: %lld epochs, test ELBO %.2f nats (reconstruction %.2f, KL %.2f), %.0f images/s\n",
                  family.c_str(), static_cast<long long>(last.epoch), last.test.elbo, last.test.reconstruction,
                  last.test.kl, last.images_per_second);
      std::printf("wrote %s/checkpoint.pt and metrics.csv\n", options.run_dir.c_str());
      write_libtorch_grid(options.run_dir);
    } else if (*exporter) {
      const lk::WeightFormat format = lk::parse_weight_format(quant);
      tr::ExportOptions export_options;
      export_options.format = format;
      export_options.calibration_data_dir = calibration_data;
      const tr::ExportReport report = tr::export_cvae(checkpoint_path(source), output, export_options);
      std::printf("wrote %s: %zu bytes, %s weights\n", output.c_str(), report.file_bytes, lk::to_string(format));
      std::printf("float32 check on %d latents (5x5 grid + 100 prior samples), max |runtime - libtorch|: reference %.2e",
                  report.latents_checked, report.max_abs_diff_reference);
      if (report.max_abs_diff_xnnpack >= 0) std::printf(", xnnpack %.2e", report.max_abs_diff_xnnpack);
      std::printf("\n");
      if (format != lk::WeightFormat::fp32) {
        const tr::AccuracyReport& a = report.accuracy;
        std::printf("%s vs float32 over %d images (1000 prior samples + 5x5 grid): PSNR %.2f dB, max abs error %.2e, "
                    "size %.3fx the float32 file (%zu bytes)\n",
                    lk::to_string(format), a.images, a.psnr_db, a.max_abs_error, a.size_ratio, report.fp32_file_bytes);
      }
    } else if (*inspect) {
      const lk::Model model = lk::Model::load_file(model_path);
      lk::cli::print_summary(std::cout, model_path, model);
      lk::cli::print_graph(std::cout, model);
    }
  } catch (const lk::Error& e) {
    std::fprintf(stderr, "latentkit: %s: %s\n", lk::to_string(e.code()), e.what());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "latentkit: libtorch: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latentkit: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
