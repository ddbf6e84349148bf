// latentkit: the workstation program. Trains a model of one of the families in the registry
// (family_registry.h), evaluates it, exports it to a model file, and inspects model files. eval and
// export take the family from the checkpoint.
//
//   latentkit train cvae --data mnist --out runs/cvae      (Ctrl-C checkpoints; --resume continues)
//   latentkit eval runs/cvae --k 1000
//   latentkit export runs/cvae -o cvae.lkm
//   latentkit inspect cvae.lkm
//
// Every failure ends with one line on stderr naming the problem, a non-zero exit status (1;
// CLI11's own codes, all below 128, for bad command-line syntax) and no output: no model file
// from a failed export, no run folder from a run that failed before its first checkpoint.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <new>
#include <stdexcept>
#include <thread>

#include "latentkit/error.h"
#include "latentkit/image_grid.h"
#include "latentkit/latents.h"
#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/distributed/launcher.h"
#include "latentkit/trainer/export.h"
#include "latentkit/trainer/gaussian_mixture.h"
#include "latentkit/trainer/family.h"
#include "latentkit/trainer/family_registry.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/training_loop.h"
#include "cli_checks.h"
#include "model_summary.h"
#include "png_writer.h"

namespace lk = latentkit;
namespace tr = latentkit::trainer;
namespace fs = std::filesystem;

namespace {

// `export` and `eval` accept a run folder or a checkpoint file.
std::string checkpoint_path(const std::string& source) {
  std::error_code ec;
  const std::string path = fs::is_directory(source, ec) ? (fs::path(source) / "checkpoint.pt").string() : source;
  lk::cli::check_input_file(path, "checkpoint");
  return path;
}


// A learning rate (or any positive size) that is a number, finite and above 0: CLI11's
// PositiveNumber lets "nan" through.
const CLI::Validator kFinitePositive(
    [](std::string& text) -> std::string {
      try {
        std::size_t used = 0;
        const double value = std::stod(text, &used);
        if (used == text.size() && std::isfinite(value) && value > 0) return {};
      } catch (const std::exception&) {
      }
      return "'" + text + "' is not a finite number above 0";
    },
    "POSITIVE");

// A family in the registry; the message lists the known ones.
const CLI::Validator kKnownFamily(
    [](std::string& name) -> std::string {
      if (tr::find_family(name) != nullptr) return {};
      return "unknown model family '" + name + "' (known: " + tr::known_families() + ")";
    },
    "FAMILY");

std::string family_help() {
  std::string help = "model family:";
  for (const tr::FamilyDescription* family : tr::families()) {
    help += std::string("\n  ") + family->name + ": " + family->summary;
    if (*family->options_help != '\0') help += std::string("\n      options: ") + family->options_help;
  }
  return help;
}

// The arguments of a rank that `--nproc` starts: this command line without --nproc.
std::vector<std::string> rank_arguments(int argc, char** argv) {
  std::vector<std::string> arguments;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--nproc") {
      ++i;  // and its value
    } else if (a.rfind("--nproc=", 0) != 0) {
      arguments.push_back(a);
    }
  }
  return arguments;
}

// --threads and --blas-threads, for the commands that run libtorch (train, eval).
void add_thread_options(CLI::App* command, tr::ThreadConfig& threads) {
  command->add_option("--threads", threads.intra_op, "libtorch intra-op threads (0: one per core, fastest on an idle machine; 1 on a busy one)")->check(CLI::Range(0, 256))->capture_default_str();
  command->add_option("--blas-threads", threads.blas, "OpenBLAS threads")->check(CLI::Range(1, 256))->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"latentkit: train autoencoder-family models and export their decoders"};
  app.require_subcommand(1);

  auto* train = app.add_subcommand("train", "train a model");
  tr::TrainOptions options;
  std::string family = tr::families().front()->name, binarization, schedule = "default", data = "mnist";
  bool no_report = false;
  auto* family_option = train->add_option("family", family, family_help())->check(kKnownFamily)->capture_default_str();
  auto* data_option = train->add_option("--data", data, "dataset: mnist, fashion-mnist, coloured-mnist (seed 004: digits in 6 colours), coloured-mnist-a, coloured-mnist-b (a colour per digit), or a folder with the IDX files")->capture_default_str();
  auto* out_option = train->add_option("--out", options.run_dir, "run folder to create (or to continue with --resume); default runs/FAMILY");
  auto* overwrite_option = train->add_flag("--overwrite", options.overwrite, "replace a run already in --out");
  train->add_flag("--resume", options.resume, "continue the run in --out from its checkpoint, with its settings");
  auto* schedule_option = train->add_option("--schedule", schedule, "default (18 epochs, < 10 min on 2 cores) or long (90 epochs, < 60 min); docs/training.md; --epochs/--batch/--lr override it")
      ->check(CLI::IsMember({"default", "long"}))->capture_default_str();
  auto* latent_option = train->add_option("--latent,--code", options.latent_dims, "latent size (an autoencoder's code size); dcgan's default is 64")->check(CLI::Range(1, 4096))->capture_default_str();
  auto* epochs_option = train->add_option("--epochs", options.epochs, "epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  auto* batch_option = train->add_option("--batch", options.batch_size, "batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  auto* lr_option = train->add_option("--lr", options.learning_rate, "Adam learning rate (cosine-decayed)")->check(kFinitePositive)->capture_default_str();
  auto* seed_option = train->add_option("--seed", options.seed, "random seed")->capture_default_str();
  auto* binarize_option = train->add_option("--binarize", binarization, "dynamic (Bernoulli draws), static (threshold 0.5) or none (grey levels); default: the family's (cvae dynamic, the autoencoders none)")
      ->check(CLI::IsMember({"dynamic", "static", "none"}));
  // The families' own options (FamilySettings::options): each family takes some and refuses the
  // others by name.
  struct FamilyFlag {
    const char* flag;
    const char* help;
    std::string value;
    CLI::Option* option = nullptr;
  };
  FamilyFlag family_flags[] = {
      {"loss", "ae, dae, sae: mse (squared error, default) or bce (Bernoulli cross-entropy), summed over pixels", {}},
      {"noise", "dae: mask:FRACTION, mask-patch:SIZE, gaussian:SIGMA or salt-pepper:FRACTION (default mask:0.5)", {}},
      {"sparsity", "sae: l1:WEIGHT or l2:WEIGHT, the penalty on the code (default l1:0.01)", {}},
      {"upsample", "conv-ae: transposed (learned transposed convolutions, default), nearest (2x2 repetition + convolution) or max-unpool (max pooling in the encoder, unpooling to its switches; the model file has encode and reconstruct, no decode)", {}},
      {"categorical", "discrete-vae, joint-vae: NxK, N categorical latent variables of K categories (default 20x10 discrete, 2x10 joint)", {}},
      {"anneal", "discrete-vae, joint-vae: RATE:MINIMUM, Gumbel-softmax temperature max(MINIMUM, exp(-RATE * step)) (default 0.0003:0.5, seed 004's)", {}},
      {"gumbel", "discrete-vae, joint-vae: soft (relaxed samples, default) or hard (straight-through one-hots)", {}},
      {"labelled", "discrete-vae, joint-vae: FRACTION[:WEIGHT], anchor categorical variable 0 to the digit and 1 to the colour with the labels of that fraction of the training images (semi-supervised, as M2 of Kingma et al. 2014; default 0: none; WEIGHT of the classification, default 50)", {}},
      {"capacity", "joint-vae: CONT:DISC:GAMMA:STEPS, Dupont 2018's capacity-controlled KL terms (e.g. 5:5:30:25000; default off)", {}},
      {"judge", "dcgan: FILE, a latentkit-judge file: the Fréchet distance of 2000 samples to the test images in its feature space, every epoch (default: none)", {}},
  };
  for (FamilyFlag& f : family_flags) f.option = train->add_option(std::string("--") + f.flag, f.value, f.help);
  auto* train_limit_option = train->add_option("--train-limit", options.train_limit, "use only the first N training images (0: all)")->check(CLI::NonNegativeNumber);
  auto* test_limit_option = train->add_option("--test-limit", options.test_limit, "use only the first N test images (0: all)")->check(CLI::NonNegativeNumber);
  auto* eval_k_option = train->add_option("--eval-k", options.eval_k, "IWAE samples per image after the last epoch (0: no IWAE)")->check(CLI::NonNegativeNumber)->capture_default_str();
  auto* eval_images_option = train->add_option("--eval-images", options.eval_images, "test images the final IWAE uses (0: all)")->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_flag("--no-report", no_report, "skip the pictures and index.html");
  auto* threads_option = train->add_option("--threads", options.threads.intra_op, "libtorch intra-op threads (0: one per core, fastest on an idle machine; 1 on a busy one; with --nproc N, cores / N per rank)")->check(CLI::Range(0, 256))->capture_default_str();
  train->add_option("--blas-threads", options.threads.blas, "OpenBLAS threads")->check(CLI::Range(1, 256))->capture_default_str();
  // Data-parallel training (docs/distributed.md).
  int nproc = 1;
  bool launched = false;
  tr::DistributedSettings& dist = options.distributed;
  train->add_option("--nproc", nproc, "data-parallel: run N ranks on this machine (one process each, --batch split among them)")->check(CLI::Range(1, 256))->capture_default_str();
  auto* rank_option = train->add_option("--rank", dist.rank, "data-parallel across machines: this process's rank (0 hosts the rendezvous at --master)")->check(CLI::Range(0, 65535));
  auto* world_option = train->add_option("--world-size", dist.world_size, "data-parallel across machines: the number of ranks")->check(CLI::Range(1, 65536));
  auto* master_option = train->add_option("--master", dist.master, "data-parallel: ADDR:PORT of rank 0's rendezvous store (the same on every rank)")->capture_default_str();
  train->add_option("--timeout", dist.timeout_seconds, "data-parallel: seconds a rank waits for the others (to join, and in each collective) before it stops with an error")->check(kFinitePositive)->capture_default_str();
  train->add_flag("--launched", launched, "set by --nproc for the ranks it starts")->group("");
  // What a resumed run takes from its checkpoint and may not be given again.
  std::vector<CLI::Option*> run_settings = {data_option, overwrite_option, schedule_option, latent_option,
                                                  batch_option, lr_option, seed_option, binarize_option,
                                                  train_limit_option, test_limit_option, eval_k_option,
                                                  eval_images_option};
  for (FamilyFlag& f : family_flags) run_settings.push_back(f.option);

  auto* evaluator = app.add_subcommand("eval", "a trained run's test-set figures (the CVAE's: ELBO and importance-weighted log p(x), in nats)");
  std::string eval_source, eval_data, eval_binarization;
  int64_t eval_k = 1000, eval_limit = 0;
  uint64_t eval_seed = 1;
  evaluator->add_option("run", eval_source, "run folder or checkpoint file")->required();
  evaluator->add_option("--k", eval_k, "importance samples per image")->check(CLI::Range(int64_t{1}, int64_t{1000000}))->capture_default_str();
  evaluator->add_option("--limit", eval_limit, "only the first N test images (0: all)")->check(CLI::NonNegativeNumber)->capture_default_str();
  evaluator->add_option("--binarize", eval_binarization, "dynamic (Bernoulli draws, fixed seed), static (threshold 0.5) or none (grey levels); default: the run's")
      ->check(CLI::IsMember({"dynamic", "static", "none"}));
  evaluator->add_option("--data", eval_data, "dataset (default: the run's)");
  evaluator->add_option("--seed", eval_seed, "seed of the posterior samples")->capture_default_str();
  tr::ThreadConfig eval_threads;
  add_thread_options(evaluator, eval_threads);

  std::string auto_candidates;
  for (const int k : tr::kAutoCandidates) auto_candidates += (auto_candidates.empty() ? "" : ", ") + std::to_string(k);
  auto* exporter = app.add_subcommand("export", "write a trained run's methods (decode, encode, reconstruct; conv-ae --upsample max-unpool has no decode) to a model file");
  std::string source, output, quant = "fp32", calibration_data, prior = "normal", category_prior = "fitted";
  exporter->add_option("run", source, "run folder or checkpoint file")->required();
  exporter->add_option("-o,--output", output, "model file to write (.lkm)")->required();
  exporter->add_option("--quant", quant, "fp32, fp16, int8-weights (int8 weights, float activations) or int8 (int8 weights and activations)")->capture_default_str();
  exporter->add_option("--data", calibration_data, "dataset whose encoded training images calibrate --quant int8 and fit --prior gmm:K (default: the run's)");
  exporter->add_option("--prior", prior, "the file's latent prior: normal (N(0, I)), gmm:K (a Gaussian mixture of K components fitted to the training set's codes) or gmm:auto (K chosen by held-out likelihood among " + auto_candidates + ")")->capture_default_str();
  exporter->add_option("--category-prior", category_prior, "a model with categorical latents: fitted (each category drawn as often as the training images' posteriors pick it; a category training left unused never) or uniform (the prior of training)")
      ->check(CLI::IsMember({"fitted", "uniform"}))->capture_default_str();

  auto* inspect = app.add_subcommand("inspect", "describe a model file: metadata, tensors, ops");
  std::string model_path;
  inspect->add_option("model", model_path, "model file")->required();

  auto* data_command = app.add_subcommand("data", "write a generated dataset (coloured-mnist, coloured-mnist-a, coloured-mnist-b) as IDX files, with a colour label file beside the digit labels");
  std::string data_name, data_out;
  int64_t data_limit = 0;
  data_command->add_option("name", data_name, "coloured-mnist (random colours), coloured-mnist-a or coloured-mnist-b (a colour per digit)")
      ->required()->check(CLI::IsMember({"coloured-mnist", "coloured-mnist-a", "coloured-mnist-b"}));
  data_command->add_option("--out", data_out, "folder to write the train and t10k files into")->required();
  data_command->add_option("--limit", data_limit, "only the first N images of each split (0: all)")->check(CLI::NonNegativeNumber)->capture_default_str();

  // For scripts and tests that cover every family: the registry's names, one per line.
  auto* list_families = app.add_subcommand("families", "list the model families `train` knows, one name per line");

  CLI11_PARSE(app, argc, argv);

  try {
    if (*train) {
      if (nproc > 1) {
        const tr::FamilyDescription* description = tr::find_family(family);
        if (description != nullptr && !description->data_parallel) {
          throw std::invalid_argument("the " + family + " family cannot train data-parallel (its step is not one "
                                      "backward pass whose gradients could be all-reduced); drop --nproc");
        }
        if (rank_option->count() + world_option->count() + master_option->count() > 0 || launched) {
          throw std::invalid_argument("--nproc starts the ranks of this machine itself; drop --rank, --world-size "
                                      "and --master (or drop --nproc to start one rank by hand)");
        }
        std::vector<std::string> arguments = rank_arguments(argc, argv);
        if (threads_option->count() == 0) {
          // N ranks share the cores: each gets its part, so that 2 x (one thread per core)
          // spinning pools do not stall each other (thread_config.h).
          const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
          arguments.push_back("--threads");
          arguments.push_back(std::to_string(std::max(1, cores / nproc)));
        }
        return tr::launch_local_ranks("/proc/self/exe", arguments, nproc, dist.timeout_seconds);
      }
      if ((rank_option->count() > 0) != (world_option->count() > 0)) {
        throw std::invalid_argument("--rank and --world-size go together (and --master, the same on every rank)");
      }
      if (dist.rank >= dist.world_size) {
        throw std::invalid_argument("--rank " + std::to_string(dist.rank) + " is not below --world-size " +
                                    std::to_string(dist.world_size));
      }
      dist.host_store = !launched;  // the launcher hosts the store for the ranks it starts
      if (out_option->count() == 0) options.run_dir = "runs/" + family;
      if (options.resume) {
        for (const CLI::Option* given : run_settings) {
          if (given->count() > 0) {
            throw std::invalid_argument("--resume takes the run's settings from its checkpoint; drop " +
                                        given->get_name() + " (only --epochs and the thread options may change)");
          }
        }
        tr::TrainOptions resumed = tr::resume_options(options.run_dir);
        if (family_option->count() > 0 && family != resumed.family) {
          throw std::invalid_argument("the run in '" + options.run_dir + "' is a " + resumed.family +
                                      " run, not " + family);
        }
        if (epochs_option->count() > 0) resumed.epochs = options.epochs;  // the cosine schedule stretches
        resumed.threads = options.threads;
        resumed.distributed = options.distributed;
        options = resumed;
      } else {
        const tr::Schedule chosen = tr::parse_schedule(schedule);
        if (epochs_option->count() == 0) options.epochs = chosen.epochs;
        if (batch_option->count() == 0) options.batch_size = chosen.batch_size;
        options.data_dir = tr::resolve_dataset(data);
        const tr::FamilyDescription& description = *tr::find_family(family);
        options.binarization =
            tr::parse_binarization(binarization.empty() ? description.default_binarization : binarization);
        options.family = family;
        for (const FamilyFlag& f : family_flags) {
          if (f.option->count() > 0) options.family_options[f.flag] = f.value;
        }
        if (latent_option->count() == 0 && description.default_latent_dims > 0) {
          options.latent_dims = description.default_latent_dims;
        }
        if (lr_option->count() == 0) {
          options.learning_rate = description.default_learning_rate != nullptr
                                      ? description.default_learning_rate(options.family_options, chosen.learning_rate)
                                      : chosen.learning_rate;
        }
      }
      options.write_report = !no_report;
      const std::string rank_prefix =
          dist.distributed() ? "rank " + std::to_string(dist.rank) + " of " + std::to_string(dist.world_size) + ": " : "";
      std::fprintf(stderr, "%s%s\n", rank_prefix.c_str(), tr::apply_thread_config(options.threads).c_str());
      if (options.resume && dist.rank == 0) std::fprintf(stderr, "resuming %s (data %s)\n", options.run_dir.c_str(), options.data_dir.c_str());
      const tr::TrainResult result = tr::train(options);
      if (result.interrupted) return 130;  // the loop said what it wrote
      if (dist.rank > 0) return 0;  // rank 0 reports the run
      if (result.epochs.empty()) throw std::runtime_error("the run has no finished epoch");
      const tr::EpochReport& last = result.epochs.back();
      std::printf("trained %s: %lld epochs, %s, %.0f images/s\n", options.family.c_str(),
                  static_cast<long long>(last.epoch), result.summary.c_str(), last.images_per_second);
      std::printf("wrote %s/checkpoint.pt, metrics.csv%s\n", options.run_dir.c_str(),
                  options.write_report ? " and the report (index.html)" : "");
    } else if (*evaluator) {
      std::fprintf(stderr, "%s\n", tr::apply_thread_config(eval_threads).c_str());
      tr::LoadedCheckpoint run = tr::load_checkpoint(checkpoint_path(eval_source));
      const std::string dir = tr::resolve_dataset(eval_data.empty() ? tr::run_dataset(checkpoint_path(eval_source)) : eval_data);
      const tr::Binarization mode =
          tr::parse_binarization(eval_binarization.empty() ? run.info.binarization : eval_binarization);
      const tr::ImageDataset test_set = tr::load_dataset(dir, tr::Split::test, eval_limit);
      run.family->check_images(test_set, dir);
      const torch::Tensor images = tr::binarized_test_images(test_set, mode);
      tr::EvaluationRequest request;
      request.seed = eval_seed;
      request.k = eval_k;
      const tr::Evaluation evaluation = run.family->evaluate(images, request);
      std::printf("test set: %lld images of %s, %s binarisation%s; trained %lld epochs with %s binarisation\n",
                  static_cast<long long>(images.size(0)), dir.c_str(), tr::to_string(mode),
                  mode == tr::Binarization::dynamic ? " (pixels ~ Bernoulli(intensity), drawn once with a fixed seed)"
                  : mode == tr::Binarization::fixed ? " (threshold 0.5)"
                                                    : " (grey levels)",
                  static_cast<long long>(run.info.epochs_done), run.info.binarization.c_str());
      std::printf("%s", evaluation.report.c_str());
    } else if (*exporter) {
      const lk::QuantMode format = lk::parse_quant_mode(quant);
      lk::cli::check_output_file(output, "output");
      tr::ExportOptions export_options;
      export_options.format = format;
      export_options.calibration_data_dir = calibration_data;
      export_options.prior_components = tr::parse_prior(prior);
      export_options.fit_category_prior = category_prior == "fitted";
      const tr::ExportReport report = tr::export_run(checkpoint_path(source), output, export_options);
      std::printf("wrote %s: %zu bytes, quantisation %s\n", output.c_str(), report.file_bytes, lk::to_string(format));
      if (report.prior_components > 0) {
        std::printf("prior: gaussian mixture of %d components, fitted to the codes of the first %lld training images of %s\n",
                    report.prior_components, static_cast<long long>(tr::kPriorFitImages), report.dataset.c_str());
      }
      if (report.category_prior_images > 0) {
        std::printf("category prior: each category's share of the posteriors of the first %lld training images of %s "
                    "(latentkit-sample FILE info lists them)\n",
                    static_cast<long long>(report.category_prior_images), report.dataset.c_str());
      }
      if (!report.prior_held_out.empty()) {
        std::printf("  chosen by the mean log-likelihood of every %zuth code, held out, under mixtures fitted to the others:\n",
                    tr::kHeldOutEvery);
        for (const auto& [k, log_likelihood] : report.prior_held_out) {
          std::printf("    %3d components: %9.3f nats%s\n", k, log_likelihood, k == report.prior_components ? "  <- chosen" : "");
        }
      }
      // A file without decode (conv-ae --upsample max-unpool) is checked on images, not latents.
      const bool decodes = !report.methods_checked.empty() && report.methods_checked[0].method == "decode";
      if (decodes) {
        std::printf("float32 check on %d latents (5x5 grid + 100 prior samples) and their images, max |runtime - libtorch|:\n",
                    report.latents_checked);
      } else {
        std::printf("float32 check on %d fixed-seed stroke images (those whose pooling switches are decided beyond "
                    "rounding), max |runtime - libtorch|:\n",
                    report.latents_checked);
      }
      for (const tr::MethodCheck& check : report.methods_checked) {
        std::printf("  %-12s reference %.2e", check.method.c_str(), check.reference);
        if (check.xnnpack >= 0) std::printf(", xnnpack %.2e", check.xnnpack);
        std::printf("\n");
      }
      if (format != lk::QuantMode::fp32) {
        const tr::AccuracyReport& a = report.accuracy;
        std::printf("%s vs float32 over %d images (%s): PSNR %.2f dB, max abs error %.2e, "
                    "size %.3fx the float32 file (%zu bytes)\n",
                    lk::to_string(format), a.images,
                    decodes ? "1000 prior samples + 5x5 grid" : "the check images, reconstructed", a.psnr_db,
                    a.max_abs_error, a.size_ratio, report.fp32_file_bytes);
      }
      if (!report.int8_layers.empty()) {
        std::printf("int8 decoder per layer (PSNR vs float32 with that layer's form switched):\n");
        for (const tr::LayerAccuracy& layer : report.int8_layers) {
          if (layer.reads_latent) {
            std::printf("  %-20s float, int8 weights (reads the latent)\n", layer.layer.c_str());
          } else {
            std::printf("  %-20s %-26s %s: %.2f dB\n", layer.layer.c_str(),
                        layer.integer ? "int8" : "float, int8 weights", layer.integer ? "as float" : "as int8",
                        layer.switched_psnr_db);
          }
        }
      }
    } else if (*data_command) {
      for (const tr::Split split : {tr::Split::train, tr::Split::test}) {
        const tr::ImageDataset data = tr::load_dataset(tr::resolve_dataset(data_name), split, data_limit);
        tr::write_mnist_dir(data, data_out, split);
        std::printf("%s: %lld %s images of %lld x %lld x %lld\n", data_out.c_str(), static_cast<long long>(data.count),
                    split == tr::Split::train ? "training" : "test", static_cast<long long>(data.height),
                    static_cast<long long>(data.width), static_cast<long long>(data.channels));
      }
    } else if (*list_families) {
      for (const tr::FamilyDescription* description : tr::families()) std::printf("%s\n", description->name);
    } else if (*inspect) {
      lk::cli::check_input_file(model_path, "model file");
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
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "latentkit: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    // A rank says which one it is (the collectives' messages already do).
    const bool named = options.distributed.distributed() && std::string(e.what()).rfind("rank ", 0) != 0;
    std::fprintf(stderr, "latentkit: error: %s%s\n",
                 named ? ("rank " + std::to_string(options.distributed.rank) + ": ").c_str() : "", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "latentkit: error: an unknown exception\n");
    return 1;
  }
  return 0;
}
