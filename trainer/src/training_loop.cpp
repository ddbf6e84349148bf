#include "latentkit/trainer/training_loop.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "latentkit/atomic_file.h"
#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/distributed/batch_shard.h"
#include "latentkit/trainer/distributed/gradient_buckets.h"
#include "latentkit/trainer/distributed/process_group.h"
#include "latentkit/trainer/family.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/progress_bar.h"
#include "latentkit/trainer/report.h"
#include "run_folder.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;

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
    // A rank started by `--nproc` has SIGINT blocked until here (launcher.cpp): a Ctrl-C that
    // came during its start-up is delivered now, to this handler.
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    ::pthread_sigmask(SIG_UNBLOCK, &interrupt, nullptr);
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

// metrics.csv holds exactly the epochs of the checkpoint: rewritten whole after each one.
void write_metrics(const fs::path& path, const FamilyDescription& family, const std::vector<EpochReport>& reports) {
  write_text_file_atomically(path.string(), metrics_csv(family, reports));
}

std::vector<NamedFigure> named_figures(const FamilyDescription& family, const std::vector<double>& figures) {
  std::vector<NamedFigure> named;
  for (std::size_t c = 0; c < figures.size() && c < family.test_metrics.size(); ++c) {
    named.push_back({family.test_metrics[c].name, figures[c]});
  }
  return named;
}

void set_learning_rate(Family& family, double rate) {
  for (const NamedOptimizer& named : family.optimizers()) {
    for (auto& group : named.optimizer->param_groups()) group.options().set_lr(rate);
  }
}

void set_training_mode(Family& family, bool on) {
  for (const NamedModule& named : family.modules()) named.module->train(on);
}

std::vector<torch::Tensor> parameters_of(Family& family) {
  std::vector<torch::Tensor> all;
  for (const NamedModule& named : family.modules()) {
    for (const torch::Tensor& p : named.module->parameters()) all.push_back(p);
  }
  return all;
}

std::vector<torch::Tensor> weights_of(Family& family) {
  std::vector<torch::Tensor> all = parameters_of(family);
  for (const NamedModule& named : family.modules()) {
    for (const torch::Tensor& b : named.module->buffers()) all.push_back(b);
  }
  return all;
}

// Rank r > 0 draws its noise (the CVAE's posterior samples, dae's corruption) from its own
// stream; rank 0 keeps the seed's, so that one rank draws what a run of one process draws.
uint64_t rank_seed(uint64_t seed, int rank) { return seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(rank); }

// The data-parallel side of a run: the process group and the gradient buckets, or nothing for a
// run of one process (whose steps then make no collective call at all).
struct Ranks {
  std::unique_ptr<ProcessGroup> group;
  std::unique_ptr<GradientBuckets> buckets;
  int rank = 0;
  int world_size = 1;
  bool writer() const { return rank == 0; }  // only rank 0 writes checkpoints, metrics and the report

  // Every rank stops when one of them was asked to: the decision is collective, taken at the same
  // step everywhere, so no rank is left waiting in an all-reduce the others never join.
  bool any(bool mine, const char* what) {
    if (!group) return mine;
    torch::Tensor flag = torch::tensor({mine ? 1.0f : 0.0f});
    group->all_reduce_max(flag, what);
    return flag.item<float>() > 0;
  }

  // The test figures, each rank measuring its part of the test set (family.h: evaluation_sums).
  Evaluation evaluate(Family& family, const torch::Tensor& images, const EvaluationRequest& request) {
    if (!group) return family.evaluate(images, request);
    const BatchShard part = shard_of(0, images.size(0), rank, world_size);
    const std::vector<double> mine = family.evaluation_sums(images, request, part.begin, part.end);
    torch::Tensor sums = torch::tensor(mine, torch::kFloat64);
    group->all_reduce_sum(sums, "all-reduce of the test-set evaluation");
    return family.evaluation_from_sums(std::vector<double>(sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel()),
                                       request);
  }

  // Refuses to train unless every rank runs the same run on the same data: ranks given other
  // flags or another dataset would all-reduce gradients of different models or batches, and
  // the result would be wrong without any error. `run` describes what must agree.
  void check_same_run(const std::string& run) {
    if (!group) return;
    uint64_t hash = 1469598103934665603ULL;  // FNV-1a
    for (const char c : run) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    torch::Tensor rank0 = torch::tensor({static_cast<int64_t>(hash)}, torch::kInt64);
    group->broadcast(rank0, 0, "comparison of the ranks' settings");
    const bool differs = rank0.item<int64_t>() != static_cast<int64_t>(hash);
    if (any(differs, "comparison of the ranks' settings")) {
      throw std::invalid_argument(
          differs ? "this rank's run differs from rank 0's: give every rank the same family, flags and dataset "
                    "(this rank: " + run + ")"
                  : std::string("another rank's run differs from rank 0's (" + run +
                                "): give every rank the same family, flags and dataset"));
    }
  }

  // Every rank's default generator, for the checkpoint (undefined for one process).
  torch::Tensor gather_rngs(const torch::Tensor& mine) {
    if (!group) return {};
    return group->all_gather(mine, "gathering of the ranks' random states");
  }
};

std::string dataset_name(const std::string& data_dir) {
  fs::path dir = fs::path(data_dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  return dir.filename().string();
}

FamilySettings family_settings(const TrainOptions& options) {
  FamilySettings settings;
  settings.latent_dims = options.latent_dims;
  settings.learning_rate = options.learning_rate;
  settings.options = options.family_options;
  return settings;
}

TrainResult run_training(const TrainOptions& options, const std::function<void(const EpochReport&)>& on_epoch) {
  Ranks ranks;
  ranks.rank = options.distributed.distributed() ? options.distributed.rank : 0;
  ranks.world_size = options.distributed.distributed() ? options.distributed.world_size : 1;
  if (ranks.writer()) prepare_run_dir(options);
  InterruptHandler interrupt_handler;
  if (options.distributed.distributed()) ranks.group = ProcessGroup::join(options.distributed);
  const fs::path run_dir(options.run_dir);
  const std::string checkpoint_path = (run_dir / "checkpoint.pt").string();

  const ImageDataset train_set = load_dataset(options.data_dir, Split::train, options.train_limit);
  const ImageDataset test_set = load_dataset(options.data_dir, Split::test, options.test_limit);

  std::unique_ptr<Family> family;
  RunInfo info;
  if (options.resume) {
    LoadedCheckpoint loaded = load_checkpoint(checkpoint_path);
    if (loaded.family->description().name != options.family) {
      throw std::invalid_argument("the run in '" + options.run_dir + "' is a " + loaded.family->description().name +
                                  " run; it cannot be resumed as " + options.family);
    }
    family = std::move(loaded.family);
    info = loaded.info;
  } else {
    // The model's initial weights are the seed's first draws.
    torch::manual_seed(options.seed);
    FamilySettings settings = family_settings(options);
    settings.image_channels = train_set.channels;
    family = make_family(options.family, settings);
    info.latent_dims = options.latent_dims;
    info.dataset = dataset_name(options.data_dir);
    info.binarization = to_string(options.binarization);
  }
  const FamilyDescription& description = family->description();
  family->check_images(train_set, options.data_dir);
  family->check_images(test_set, options.data_dir);
  const torch::Tensor train_grey = to_tensor(train_set);
  const torch::Tensor test_images = binarized_test_images(test_set, options.binarization);

  {
    TrainingLabels labels;
    labels.digits = torch::tensor(std::vector<int64_t>(train_set.labels.begin(), train_set.labels.end()), torch::kLong);
    if (!train_set.colours.empty()) {
      labels.colours = torch::tensor(std::vector<int64_t>(train_set.colours.begin(), train_set.colours.end()), torch::kLong);
    }
    labels.images = train_grey;
    labels.binarization = options.binarization;
    family->set_training_labels(labels);
  }
  set_training_mode(*family, true);
  if (ranks.group) {
    std::string options_text;
    for (const auto& [flag, value] : family->options()) options_text += " --" + flag + " " + value;
    char run[512];
    std::snprintf(run, sizeof run,
                  "%s%s --latent %lld --binarize %s --epochs %lld --batch %lld --lr %.17g --seed %llu, "
                  "%lld training and %lld test images, %s",
                  description.name, options_text.c_str(), static_cast<long long>(info.latent_dims),
                  info.binarization.c_str(), static_cast<long long>(options.epochs),
                  static_cast<long long>(options.batch_size), options.learning_rate,
                  static_cast<unsigned long long>(options.seed), static_cast<long long>(train_grey.size(0)),
                  static_cast<long long>(test_images.size(0)),
                  options.resume ? ("resumed after epoch " + std::to_string(info.epochs_done)).c_str() : "new run");
    ranks.check_same_run(run);
    // Every rank starts from rank 0's weights, bit for bit (they would agree anyway, initialised
    // from the same seed or read from the same checkpoint; this makes it a fact, not a hope).
    broadcast_from_rank0(*ranks.group, weights_of(*family));
    ranks.buckets = std::make_unique<GradientBuckets>(parameters_of(*family));
    if (ranks.writer()) {
      std::fprintf(stderr, "data-parallel: %d ranks, batch %lld split among them; %.2f MB of gradients all-reduced "
                   "in %zu buckets per step\n", ranks.world_size, static_cast<long long>(options.batch_size),
                   static_cast<double>(ranks.buckets->bytes()) / 1e6, ranks.buckets->bucket_count());
    }
    if (!options.resume) torch::manual_seed(rank_seed(options.seed, ranks.rank));
  }
  auto data_generator = make_generator(options.seed + 1);
  ResumeState state;
  std::vector<EpochReport> reports;
  if (options.resume) {
    state = load_resume_state(checkpoint_path, family.get());
    set_generator_state(data_generator, state.data_rng);
    set_generator_state(at::detail::getDefaultCPUGenerator(), state.torch_rng);
    if (ranks.rank > 0) {
      if (state.rank_torch_rngs.defined() && ranks.rank < state.rank_torch_rngs.size(0)) {
        set_generator_state(at::detail::getDefaultCPUGenerator(), state.rank_torch_rngs[ranks.rank].clone());
      } else {
        // The run had fewer ranks: a stream of this rank's own, fixed by the seed and the step.
        torch::manual_seed(rank_seed(options.seed + static_cast<uint64_t>(state.step), ranks.rank));
        std::fprintf(stderr, "rank %d: the checkpoint has no random stream for this rank (the run had %lld); "
                     "starting a new one\n", ranks.rank,
                     static_cast<long long>(state.rank_torch_rngs.defined() ? state.rank_torch_rngs.size(0) : 1));
      }
    }
    reports = reports_from_metrics(description, state.metrics);
  }
  state.settings = options;  // the RunSettings part
  if (ranks.writer()) write_metrics(run_dir / "metrics.csv", description, reports);

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
    // A closed-form family is fitted once, on what its first epoch sees; a resumed run has its fit
    // in the checkpoint.
    if (epoch == 1 && !options.resume) {
      family->fit(train_images);
      // Each rank fitted the same images; rank 0's fit is the one all of them keep.
      if (ranks.group) broadcast_from_rank0(*ranks.group, weights_of(*family));
    }
    int64_t epoch_step = continuing ? state.epoch_step : 0;
    double loss_sum = continuing ? state.epoch_loss_sum : 0;
    const double earlier_seconds = continuing ? state.epoch_seconds : 0;
    const int64_t first_image = std::min(n, epoch_step * options.batch_size);
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    // Only rank 0 draws a progress bar (its figures are the whole run's).
    std::optional<ProgressBar> bar;
    if (ranks.writer()) bar.emplace("epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs), n);
    for (; epoch_step < steps_per_epoch; ++epoch_step) {
      if (ranks.any(g_stop_requested != 0, "stop decision (Ctrl-C on any rank)")) {
        state.step = step;
        state.epoch_step = epoch_step;
        state.epoch_loss_sum = loss_sum;
        state.epoch_seconds = earlier_seconds + elapsed();
        state.torch_rng = generator_state(at::detail::getDefaultCPUGenerator());
        state.rank_torch_rngs = ranks.gather_rngs(state.torch_rng);
        if (ranks.writer()) {
          state.data_rng = epoch_data_rng;
          state.metrics = metrics_tensor(description, reports);
          save_checkpoint(checkpoint_path, *family, info, &state);
          std::fprintf(stderr, "\ninterrupted in epoch %lld at step %lld (%lld of %lld in this epoch): wrote %s; "
                       "continue with --resume\n", static_cast<long long>(epoch), static_cast<long long>(step),
                       static_cast<long long>(epoch_step), static_cast<long long>(steps_per_epoch),
                       checkpoint_path.c_str());
        }
        return {reports, true, step, ""};
      }
      const int64_t begin = epoch_step * options.batch_size, end = std::min(n, begin + options.batch_size);
      set_learning_rate(*family,
                        0.5 * options.learning_rate * (1 + std::cos(M_PI * static_cast<double>(step) / total_steps)));
      // This rank's part of the step's batch (all of it for one process).
      const BatchShard shard = shard_of(begin, end, ranks.rank, ranks.world_size);
      auto x = train_images.index_select(0, order.slice(0, shard.begin, shard.end));
      if (step == options.inject_nan_at_step && (options.inject_nan_rank < 0 || options.inject_nan_rank == ranks.rank)) {
        x = x * std::numeric_limits<float>::quiet_NaN();
      }
      // A rank with no image this step (a last batch smaller than the number of ranks) computes
      // nothing; its gradients count with weight 0.
      const double own_loss = shard.size() > 0 ? family->compute_gradients(x) : 0.0;
      double loss = own_loss;
      int64_t bad_ranks = std::isfinite(own_loss) ? 0 : 1;
      if (ranks.group) {
        // The step's loss (the mean over the whole batch) and how many ranks saw a non-finite
        // one: every rank decides the same from the same figures.
        torch::Tensor status = torch::tensor({std::isfinite(own_loss) ? own_loss * static_cast<double>(shard.size()) : 0.0,
                                              static_cast<double>(bad_ranks)},
                                             torch::kFloat64);
        ranks.group->all_reduce_sum(status, "all-reduce of the step's loss");
        loss = status[0].item<double>() / static_cast<double>(end - begin);
        bad_ranks = static_cast<int64_t>(status[1].item<double>());
        if (bad_ranks == 0) ranks.buckets->all_reduce(*ranks.group, static_cast<double>(shard.size()) / static_cast<double>(end - begin));
      }
      if (bad_ranks > 0) {
        const std::string where =
            ranks.group ? " on " + std::to_string(bad_ranks) + " of " + std::to_string(ranks.world_size) +
                              " ranks (this rank, " + std::to_string(ranks.rank) + ": " + std::to_string(own_loss) + ")"
                        : std::string();
        if (ranks.group) loss = std::numeric_limits<double>::quiet_NaN();
        throw std::runtime_error(
            "the loss became " + std::to_string(loss) + where + " at step " + std::to_string(step + 1) + " (epoch " +
            std::to_string(epoch) + ", batch " + std::to_string(epoch_step + 1) + " of " +
            std::to_string(steps_per_epoch) + "); stopped without updating the weights. " +
            (info.epochs_done > 0 ? "The last good checkpoint (epoch " + std::to_string(info.epochs_done) +
                                        ") is kept in " + checkpoint_path
                                  : std::string("No checkpoint was written yet")) +
            ". A lower --lr may help.");
      }
      family->apply_gradients();
      ++step;
      loss_sum += loss * static_cast<double>(end - begin);
      char figures[96];
      std::snprintf(figures, sizeof figures, "loss %.2f  %.0f img/s", loss_sum / end,
                    (end - first_image) / elapsed());
      if (bar) bar->update(end, figures);
      if (options.on_step) options.on_step(step);
    }
    EpochReport report;
    report.epoch = epoch;
    const double session_seconds = elapsed();
    report.seconds = earlier_seconds + session_seconds;
    report.images_per_second = (n - first_image) / session_seconds;
    report.train_loss = loss_sum / n;
    // The costly figures (k samples per image) after the last epoch only, so that the schedule's
    // time goes into training.
    EvaluationRequest request;
    request.seed = options.seed;
    request.k = epoch == options.epochs ? options.eval_k : 0;
    request.k_images = options.eval_images;
    // The generators as the epoch left them (evaluation draws from generators of its own).
    state.torch_rng = generator_state(at::detail::getDefaultCPUGenerator());
    state.rank_torch_rngs = ranks.gather_rngs(state.torch_rng);
    family->label_latents(train_images);
    family->end_epoch(epoch);
    const Evaluation evaluation = ranks.evaluate(*family, test_images, request);
    report.test = evaluation.figures;
    if (bar) {
      char figures[96];
      std::snprintf(figures, sizeof figures, "loss %.2f  %.0f img/s  ", report.train_loss, report.images_per_second);
      bar->finish(figures + evaluation.line);
    }

    reports.push_back(report);
    info.epochs_done = epoch;
    info.test = named_figures(description, report.test);
    state.step = step;
    state.epoch_step = 0;
    state.epoch_loss_sum = 0;
    state.epoch_seconds = 0;
    state.data_rng = generator_state(data_generator);
    if (ranks.writer()) {
      state.metrics = metrics_tensor(description, reports);
      save_checkpoint(checkpoint_path, *family, info, &state);
      write_metrics(run_dir / "metrics.csv", description, reports);
    }
    if (on_epoch) on_epoch(report);
  }
  if (!ranks.writer()) return {reports, false, step, ""};
  if (options.write_report && !reports.empty()) {
    ReportInputs inputs{options.run_dir, "", test_images, test_set.labels, test_set.colours,
                        class_names(options.data_dir), reports, options};
    const ReportSummary summary = write_run_report(*family, inputs);
    for (const std::string& warning : summary.warnings) std::fprintf(stderr, "report: %s\n", warning.c_str());
  }
  return {reports, false, step,
          reports.empty() ? std::string() : family->summarize(reports.back().test, options.binarization)};
}

}  // namespace

void request_stop() { g_stop_requested = 1; }

TrainOptions resume_options(const std::string& run_dir) {
  const std::string path = (fs::path(run_dir) / "checkpoint.pt").string();
  const LoadedCheckpoint loaded = load_checkpoint(path);
  const ResumeState state = load_resume_state(path);
  TrainOptions options;
  static_cast<RunSettings&>(options) = state.settings;
  options.family = loaded.family->description().name;
  options.run_dir = run_dir;
  options.resume = true;
  options.latent_dims = loaded.info.latent_dims;
  options.binarization = parse_binarization(loaded.info.binarization);
  options.family_options = loaded.family->options();
  return options;
}

TrainResult train(const TrainOptions& options, const std::function<void(const EpochReport&)>& on_epoch) {
  if (options.epochs < 1 || options.batch_size < 1 || options.latent_dims < 1 || !(options.learning_rate > 0)) {
    throw std::invalid_argument("epochs, batch size, latent size and learning rate must be positive");
  }
  if (options.resume && options.overwrite) throw std::invalid_argument("--resume and --overwrite exclude each other");
  if (find_family(options.family) == nullptr) {
    throw std::invalid_argument("unknown model family '" + options.family + "' (known: " + known_families() + ")");
  }
  if (options.distributed.distributed() && !find_family(options.family)->data_parallel) {
    throw std::invalid_argument("the " + options.family + " family cannot train data-parallel (its step is not one "
                                "backward pass whose gradients could be all-reduced); drop --nproc, --rank and --world-size");
  }
  // The family's own options are checked before anything is created (a model is cheap to build).
  if (!options.resume) make_family(options.family, family_settings(options));
  const fs::path created = first_missing_folder(options.run_dir);
  try {
    return run_training(options, on_epoch);
  } catch (...) {
    // Only rank 0 writes the run folder, so only rank 0 tidies it.
    if (!options.distributed.distributed() || options.distributed.rank == 0) clean_up_failed_run(options.run_dir, created);
    throw;
  }
}

}  // namespace latentkit::trainer
