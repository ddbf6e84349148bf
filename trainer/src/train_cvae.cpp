#include "latentkit/trainer/train_cvae.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/progress_bar.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;

const char* to_string(Binarization b) { return b == Binarization::dynamic ? "dynamic" : "static"; }

Binarization parse_binarization(const std::string& name) {
  if (name == "dynamic") return Binarization::dynamic;
  if (name == "static") return Binarization::fixed;
  throw std::invalid_argument("unknown binarization '" + name + "' (expected 'dynamic' or 'static')");
}

namespace {

// Grey levels in [0, 1], [N, 1, H, W].
torch::Tensor to_tensor(const ImageDataset& data) {
  auto bytes = torch::from_blob(const_cast<uint8_t*>(data.pixels.data()),
                                {data.count, 1, data.height, data.width}, torch::kUInt8);
  return bytes.to(torch::kFloat32).div_(255.0f);
}

torch::Tensor binarize(const torch::Tensor& grey, Binarization mode, at::Generator& generator) {
  if (mode == Binarization::fixed) return (grey >= 0.5f).to(torch::kFloat32);
  return at::bernoulli(grey, generator);
}

at::Generator make_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

void write_metrics_header(const fs::path& path) {
  std::ofstream out(path);
  out << "epoch,train_loss,test_elbo,test_reconstruction,test_kl,images_per_second,seconds\n";
}

void append_metrics(const fs::path& path, const EpochReport& r) {
  std::ofstream out(path, std::ios::app);
  char line[256];
  std::snprintf(line, sizeof line, "%lld,%.4f,%.4f,%.4f,%.4f,%.1f,%.2f\n", static_cast<long long>(r.epoch),
                r.train_loss, r.test.elbo, r.test.reconstruction, r.test.kl, r.images_per_second, r.seconds);
  out << line;
}

void prepare_run_dir(const TrainOptions& options) {
  const fs::path dir(options.run_dir);
  if (fs::exists(dir / "checkpoint.pt") && !options.overwrite) {
    throw std::runtime_error("run folder '" + options.run_dir +
                             "' already holds a run (checkpoint.pt); choose another --out or pass --overwrite");
  }
  fs::create_directories(dir);
}

}  // namespace

EvalResult evaluate(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  auto generator = make_generator(seed);
  double reconstruction = 0, kl = 0;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    auto x = images.slice(0, start, std::min(n, start + batch_size));
    auto q = model->encode(x);
    auto terms = vae_terms(model->decode_logits(reparameterize(q, generator)), x, q);
    reconstruction += terms.reconstruction.sum().item<double>();
    kl += terms.kl.sum().item<double>();
  }
  model->train();
  EvalResult result;
  result.reconstruction = reconstruction / n;
  result.kl = kl / n;
  result.elbo = -(result.reconstruction + result.kl);
  return result;
}

std::vector<float> decode_images(Cvae& model, const std::vector<float>& latents) {
  torch::NoGradGuard no_grad;
  const int64_t dims = model->latent_dims();
  if (latents.size() % dims != 0) throw std::invalid_argument("latent count is not a multiple of the latent size");
  auto z = torch::from_blob(const_cast<float*>(latents.data()), {static_cast<int64_t>(latents.size()) / dims, dims});
  // NCHW -> NHWC, the runtime's image layout.
  auto images = torch::sigmoid(model->decode_logits(z)).permute({0, 2, 3, 1}).contiguous();
  return std::vector<float>(images.data_ptr<float>(), images.data_ptr<float>() + images.numel());
}

std::vector<EpochReport> train_cvae(const TrainOptions& options,
                                    const std::function<void(const EpochReport&)>& on_epoch) {
  if (options.epochs < 1 || options.batch_size < 1 || options.latent_dims < 1 || options.learning_rate <= 0) {
    throw std::invalid_argument("epochs, batch size, latent size and learning rate must be positive");
  }
  prepare_run_dir(options);
  torch::manual_seed(options.seed);
  auto data_generator = make_generator(options.seed + 1);

  const ImageDataset train_set = load_mnist_dir(options.data_dir, Split::train, options.train_limit);
  const ImageDataset test_set = load_mnist_dir(options.data_dir, Split::test, options.test_limit);
  if (train_set.height != kImageSize || train_set.width != kImageSize || test_set.height != kImageSize ||
      test_set.width != kImageSize) {
    throw std::runtime_error("the CVAE needs 28x28 images; '" + options.data_dir + "' has " +
                             std::to_string(train_set.height) + "x" + std::to_string(train_set.width));
  }
  const torch::Tensor train_grey = to_tensor(train_set);
  // The test set is binarised once, with its own fixed seed, so every epoch and every run is
  // measured on the same observations.
  auto test_generator = make_generator(0x7e57);
  const torch::Tensor test_images = binarize(to_tensor(test_set), options.binarization, test_generator);
  torch::Tensor train_images = binarize(train_grey, options.binarization, data_generator);

  Cvae model(options.latent_dims);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.learning_rate));

  const fs::path run_dir(options.run_dir);
  write_metrics_header(run_dir / "metrics.csv");
  RunInfo info;
  info.latent_dims = options.latent_dims;
  info.dataset = fs::path(options.data_dir).filename().string();
  if (info.dataset.empty()) info.dataset = fs::path(options.data_dir).parent_path().filename().string();
  info.binarization = to_string(options.binarization);

  const int64_t n = train_images.size(0);
  const int64_t steps_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  const int64_t total_steps = steps_per_epoch * options.epochs;
  int64_t step = 0;
  std::vector<EpochReport> reports;
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    if (epoch > 1 && options.binarization == Binarization::dynamic) {
      train_images = binarize(train_grey, options.binarization, data_generator);
    }
    const auto start = std::chrono::steady_clock::now();
    auto order = torch::randperm(n, data_generator, torch::kLong);
    ProgressBar bar("epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs), n);
    double loss_sum = 0;
    for (int64_t begin = 0; begin < n; begin += options.batch_size, ++step) {
      const double lr = 0.5 * options.learning_rate * (1 + std::cos(M_PI * step / total_steps));
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
      }
      auto x = train_images.index_select(0, order.slice(0, begin, std::min(n, begin + options.batch_size)));
      auto q = model->encode(x);
      auto terms = vae_terms(model->decode_logits(reparameterize(q)), x, q);
      auto loss = (terms.reconstruction + terms.kl).mean();
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        throw std::runtime_error("the loss became " + std::to_string(loss_value) + " at epoch " +
                                 std::to_string(epoch) + ", step " + std::to_string(step) +
                                 "; stopping (the last checkpoint is kept)");
      }
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss_value * x.size(0);
      const int64_t done = std::min(n, begin + options.batch_size);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      char figures[96];
      std::snprintf(figures, sizeof figures, "loss %.2f  %.0f img/s", loss_sum / done, done / seconds);
      bar.update(done, figures);
    }
    EpochReport report;
    report.epoch = epoch;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.images_per_second = n / report.seconds;
    report.train_loss = loss_sum / n;
    report.test = evaluate(model, test_images, options.seed);
    char figures[160];
    std::snprintf(figures, sizeof figures, "loss %.2f  %.0f img/s  test ELBO %.2f nats", report.train_loss,
                  report.images_per_second, report.test.elbo);
    bar.finish(figures);

    info.epochs_done = epoch;
    info.test_elbo = report.test.elbo;
    info.test_reconstruction = report.test.reconstruction;
    info.test_kl = report.test.kl;
    save_checkpoint((run_dir / "checkpoint.pt").string(), model, optimizer, info);
    append_metrics(run_dir / "metrics.csv", report);
    reports.push_back(report);
    if (on_epoch) on_epoch(report);
  }
  return reports;
}

}  // namespace latentkit::trainer
