#include "latentkit/trainer/train_cvae.h"

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "latentkit/atomic_file.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/progress_bar.h"
#include "latentkit/trainer/report.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;

Schedule parse_schedule(const std::string& name) {
  if (name == kDefaultSchedule.name) return kDefaultSchedule;
  if (name == kLongSchedule.name) return kLongSchedule;
  throw std::invalid_argument("unknown schedule '" + name + "' (expected 'default' or 'long')");
}

const char* metrics_csv_header() {
  return "epoch,train_loss,test_elbo,test_reconstruction,test_kl,test_iwae,iwae_k,images_per_second,seconds";
}

namespace {

volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void on_interrupt(int) { g_stop_requested = 1; }

// Ctrl-C during a run asks the loop to stop at the next step boundary; the handler is installed
// for the run only, and a second Ctrl-C ends the process as usual (SA_RESETHAND).
class InterruptHandler {
 public:
  InterruptHandler() {
    g_stop_requested = 0;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(SIGINT, &action, &previous_);
  }
  ~InterruptHandler() { ::sigaction(SIGINT, &previous_, nullptr); }
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

 private:
  struct sigaction previous_ {};
};

at::Generator make_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

torch::Tensor generator_state(at::Generator generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(at::Generator generator, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

std::array<double, kMetricColumns> metrics_row(const EpochReport& r) {
  return {static_cast<double>(r.epoch), r.train_loss, r.test.elbo, r.test.reconstruction, r.test.kl, r.test.iwae,
          static_cast<double>(r.test.iwae_k), r.images_per_second, r.seconds};
}

torch::Tensor metrics_tensor(const std::vector<EpochReport>& reports) {
  auto t = torch::empty({static_cast<int64_t>(reports.size()), kMetricColumns}, torch::kFloat64);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto row = metrics_row(reports[i]);
    for (int64_t c = 0; c < kMetricColumns; ++c) t[static_cast<int64_t>(i)][c] = row[c];
  }
  return t;
}

std::vector<EpochReport> reports_from_metrics(const torch::Tensor& metrics) {
  std::vector<EpochReport> reports;
  if (!metrics.defined() || metrics.dim() != 2 || metrics.size(1) != kMetricColumns) return reports;
  auto m = metrics.to(torch::kFloat64).contiguous();
  const double* v = m.data_ptr<double>();
  for (int64_t i = 0; i < m.size(0); ++i, v += kMetricColumns) {
    EpochReport r;
    r.epoch = static_cast<int64_t>(v[0]);
    r.train_loss = v[1];
    r.test.elbo = v[2];
    r.test.reconstruction = v[3];
    r.test.kl = v[4];
    r.test.iwae = v[5];
    r.test.iwae_k = static_cast<int64_t>(v[6]);
    r.images_per_second = v[7];
    r.seconds = v[8];
    reports.push_back(r);
  }
  return reports;
}

// metrics.csv holds exactly the epochs of the checkpoint: rewritten whole after each one.
void write_metrics(const fs::path& path, const std::vector<EpochReport>& reports) {
  std::string out = std::string(metrics_csv_header()) + "\n";
  for (const EpochReport& r : reports) {
    char line[320];
    std::snprintf(line, sizeof line, "%lld,%.4f,%.4f,%.4f,%.4f,%.4f,%lld,%.1f,%.2f\n",
                  static_cast<long long>(r.epoch), r.train_loss, r.test.elbo, r.test.reconstruction, r.test.kl,
                  r.test.iwae, static_cast<long long>(r.test.iwae_k), r.images_per_second, r.seconds);
    out += line;
  }
  write_text_file_atomically(path.string(), out);
}

// The first folder on the way to `dir` (itself or an ancestor) that does not exist yet: what the
// run creates, and what a run that fails before its first checkpoint removes again. Empty if
// `dir` exists.
fs::path first_missing_folder(const std::string& dir) {
  std::error_code ec;
  fs::path path = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (ec) return {};
  if (path.filename().empty()) path = path.parent_path();  // "runs/cvae/"
  if (fs::exists(fs::symlink_status(path, ec))) return {};
  while (path.has_relative_path() && !fs::exists(fs::symlink_status(path.parent_path(), ec))) path = path.parent_path();
  return path;
}

// After a failed run: a run folder never keeps half-written files, and keeps nothing at all
// unless a checkpoint (a finished epoch, resumable) was written.
void clean_up_failed_run(const std::string& run_dir, const fs::path& created) {
  std::error_code ec;
  const fs::path dir(run_dir);
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return;
  for (const char* name : run_files()) fs::remove(dir / (std::string(name) + ".tmp"), ec);
  fs::remove_all(dir / ".report", ec);
  if (fs::exists(dir / "checkpoint.pt", ec)) return;
  if (!created.empty() && fs::is_directory(fs::symlink_status(created, ec))) {
    fs::remove_all(created, ec);
  } else {
    fs::remove(dir / "metrics.csv", ec);  // the header alone: no run
  }
}

// A folder never mixes two runs: a new run refuses a folder that holds one, unless overwrite
// (which removes the old run's files, and only those); a resumed run needs the checkpoint.
void prepare_run_dir(const TrainOptions& options) {
  const fs::path dir(options.run_dir);
  std::error_code ec;
  if (options.run_dir.empty()) throw std::invalid_argument("the run folder's name (--out) is empty");
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    throw std::runtime_error("run folder '" + options.run_dir + "' is a file, not a folder");
  }
  if (options.resume) {
    if (!fs::is_regular_file(dir / "checkpoint.pt")) {
      throw std::runtime_error("cannot resume: no checkpoint.pt in '" + options.run_dir + "'");
    }
    return;
  }
  const bool has_run = fs::exists(dir / "checkpoint.pt") || fs::exists(dir / "metrics.csv");
  if (has_run && !options.overwrite) {
    throw std::runtime_error("run folder '" + options.run_dir +
                             "' already holds a run (checkpoint.pt); choose another --out, continue it with "
                             "--resume, or pass --overwrite");
  }
  if (has_run) {
    for (const char* name : run_files()) {
      fs::remove(dir / name);
      fs::remove(dir / (std::string(name) + ".tmp"));  // left by a write that was killed
    }
    fs::remove_all(dir / ".report");
  }
  fs::create_directories(dir);
}

std::string dataset_name(const std::string& data_dir) {
  fs::path dir = fs::path(data_dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  return dir.filename().string();
}

}  // namespace

void request_stop() { g_stop_requested = 1; }

torch::Tensor training_loss(Cvae& model, const torch::Tensor& batch) {
  auto q = model->encode(batch);
  auto terms = vae_terms(model->decode_logits(reparameterize(q)), batch, q);
  return (terms.reconstruction + terms.kl).mean();
}

double train_step(Cvae& model, torch::optim::Optimizer& optimizer, const torch::Tensor& batch) {
  auto loss = training_loss(model, batch);
  const double value = loss.item<double>();
  if (!std::isfinite(value)) return value;
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
  return value;
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

TrainOptions resume_options(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / "checkpoint.pt").string();
  const LoadedCheckpoint loaded = load_checkpoint(path);
  const ResumeState state = load_resume_state(path);
  TrainOptions options;
  static_cast<RunSettings&>(options) = state.settings;
  options.run_dir = run_dir;
  options.resume = true;
  options.latent_dims = loaded.info.latent_dims;
  options.binarization = parse_binarization(loaded.info.binarization);
  return options;
}

namespace {

TrainResult run_training(const TrainOptions& options, const std::function<void(const EpochReport&)>& on_epoch) {
  prepare_run_dir(options);
  InterruptHandler interrupt_handler;
  const fs::path run_dir(options.run_dir);
  const std::string checkpoint_path = (run_dir / "checkpoint.pt").string();

  const ImageDataset train_set = load_mnist_dir(options.data_dir, Split::train, options.train_limit);
  const ImageDataset test_set = load_mnist_dir(options.data_dir, Split::test, options.test_limit);
  require_cvae_images(train_set, options.data_dir);
  require_cvae_images(test_set, options.data_dir);
  const torch::Tensor train_grey = to_tensor(train_set);
  const torch::Tensor test_images = binarized_test_images(test_set, options.binarization);

  Cvae model{nullptr};
  RunInfo info;
  if (options.resume) {
    LoadedCheckpoint loaded = load_checkpoint(checkpoint_path);
    model = loaded.model;
    info = loaded.info;
  } else {
    torch::manual_seed(options.seed);
    model = Cvae(options.latent_dims);
    info.latent_dims = options.latent_dims;
    info.dataset = dataset_name(options.data_dir);
    info.binarization = to_string(options.binarization);
  }
  model->train();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.learning_rate));
  auto data_generator = make_generator(options.seed + 1);
  ResumeState state;
  std::vector<EpochReport> reports;
  if (options.resume) {
    state = load_resume_state(checkpoint_path, &optimizer);
    set_generator_state(data_generator, state.data_rng);
    set_generator_state(at::detail::getDefaultCPUGenerator(), state.torch_rng);
    reports = reports_from_metrics(state.metrics);
  }
  state.settings = options;  // the RunSettings part
  write_metrics(run_dir / "metrics.csv", reports);

  const int64_t n = train_grey.size(0);
  const int64_t steps_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  const int64_t total_steps = steps_per_epoch * options.epochs;
  const int64_t first_epoch = info.epochs_done + 1;
  int64_t step = state.step;
  torch::Tensor train_images;
  for (int64_t epoch = first_epoch; epoch <= options.epochs; ++epoch) {
    // Everything random about an epoch's data comes from the data generator as it is here, so a
    // checkpoint taken in the middle of the epoch stores this state and replays the epoch's draws.
    const torch::Tensor epoch_data_rng = generator_state(data_generator);
    if (!train_images.defined() || options.binarization == Binarization::dynamic) {
      train_images = binarize(train_grey, options.binarization, data_generator);
    }
    const auto order = torch::randperm(n, data_generator, torch::kLong);
    const bool continuing = options.resume && epoch == first_epoch && state.epoch_step > 0;
    int64_t epoch_step = continuing ? state.epoch_step : 0;
    double loss_sum = continuing ? state.epoch_loss_sum : 0;
    const double earlier_seconds = continuing ? state.epoch_seconds : 0;
    const int64_t first_image = std::min(n, epoch_step * options.batch_size);
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    ProgressBar bar("epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs), n);
    for (; epoch_step < steps_per_epoch; ++epoch_step) {
      if (g_stop_requested) {
        state.step = step;
        state.epoch_step = epoch_step;
        state.epoch_loss_sum = loss_sum;
        state.epoch_seconds = earlier_seconds + elapsed();
        state.torch_rng = generator_state(at::detail::getDefaultCPUGenerator());
        state.data_rng = epoch_data_rng;
        state.metrics = metrics_tensor(reports);
        save_checkpoint(checkpoint_path, model, optimizer, info, &state);
        std::fprintf(stderr, "\ninterrupted in epoch %lld at step %lld (%lld of %lld in this epoch): wrote %s; "
                     "continue with --resume\n", static_cast<long long>(epoch), static_cast<long long>(step),
                     static_cast<long long>(epoch_step), static_cast<long long>(steps_per_epoch),
                     checkpoint_path.c_str());
        return {reports, true, step};
      }
      const int64_t begin = epoch_step * options.batch_size, end = std::min(n, begin + options.batch_size);
      const double lr = 0.5 * options.learning_rate * (1 + std::cos(M_PI * static_cast<double>(step) / total_steps));
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
      }
      auto x = train_images.index_select(0, order.slice(0, begin, end));
      if (step == options.inject_nan_at_step) x = x * std::numeric_limits<float>::quiet_NaN();
      const double loss = train_step(model, optimizer, x);
      if (!std::isfinite(loss)) {
        throw std::runtime_error(
            "the loss became " + std::to_string(loss) + " at step " + std::to_string(step + 1) + " (epoch " +
            std::to_string(epoch) + ", batch " + std::to_string(epoch_step + 1) + " of " +
            std::to_string(steps_per_epoch) + "); stopped without updating the weights. " +
            (info.epochs_done > 0 ? "The last good checkpoint (epoch " + std::to_string(info.epochs_done) +
                                        ") is kept in " + checkpoint_path
                                  : std::string("No checkpoint was written yet")) +
            ". A lower --lr may help.");
      }
      ++step;
      loss_sum += loss * static_cast<double>(end - begin);
      char figures[96];
      std::snprintf(figures, sizeof figures, "loss %.2f  %.0f img/s", loss_sum / end,
                    (end - first_image) / elapsed());
      bar.update(end, figures);
      if (options.on_step) options.on_step(step);
    }
    EpochReport report;
    report.epoch = epoch;
    const double session_seconds = elapsed();
    report.seconds = earlier_seconds + session_seconds;
    report.images_per_second = (n - first_image) / session_seconds;
    report.train_loss = loss_sum / n;
    // The IWAE bound costs k decoder passes per image: after the last epoch only, so that the
    // schedule's time goes into training.
    const int64_t iwae_k = epoch == options.epochs ? options.eval_k : 0;
    report.test = evaluate_with_iwae(model, test_images, options.seed, iwae_k, options.eval_images);
    char figures[200];
    int used = std::snprintf(figures, sizeof figures, "loss %.2f  %.0f img/s  test ELBO %.2f nats", report.train_loss,
                             report.images_per_second, report.test.elbo);
    if (report.test.iwae_k > 0) {
      std::snprintf(figures + used, sizeof figures - used, ", IWAE(k=%lld, %lld images) %.2f",
                    static_cast<long long>(report.test.iwae_k), static_cast<long long>(report.test.iwae_images),
                    report.test.iwae);
    }
    bar.finish(figures);

    reports.push_back(report);
    info.epochs_done = epoch;
    info.test_elbo = report.test.elbo;
    info.test_reconstruction = report.test.reconstruction;
    info.test_kl = report.test.kl;
    state.step = step;
    state.epoch_step = 0;
    state.epoch_loss_sum = 0;
    state.epoch_seconds = 0;
    state.torch_rng = generator_state(at::detail::getDefaultCPUGenerator());
    state.data_rng = generator_state(data_generator);
    state.metrics = metrics_tensor(reports);
    save_checkpoint(checkpoint_path, model, optimizer, info, &state);
    write_metrics(run_dir / "metrics.csv", reports);
    if (on_epoch) on_epoch(report);
  }
  if (options.write_report && !reports.empty()) {
    ReportInputs inputs{options.run_dir, model, test_images, test_set.labels, class_names(options.data_dir),
                        reports, options};
    const ReportSummary summary = write_run_report(inputs);
    for (const std::string& warning : summary.warnings) std::fprintf(stderr, "report: %s\n", warning.c_str());
  }
  return {reports, false, step};
}

}  // namespace

TrainResult train_cvae(const TrainOptions& options, const std::function<void(const EpochReport&)>& on_epoch) {
  if (options.epochs < 1 || options.batch_size < 1 || options.latent_dims < 1 || !(options.learning_rate > 0)) {
    throw std::invalid_argument("epochs, batch size, latent size and learning rate must be positive");
  }
  if (options.resume && options.overwrite) throw std::invalid_argument("--resume and --overwrite exclude each other");
  const fs::path created = first_missing_folder(options.run_dir);
  try {
    return run_training(options, on_epoch);
  } catch (...) {
    clean_up_failed_run(options.run_dir, created);
    throw;
  }
}

}  // namespace latentkit::trainer
