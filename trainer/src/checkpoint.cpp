#include "latentkit/trainer/checkpoint.h"

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

#include "latentkit/trainer/family_registry.h"

namespace latentkit::trainer {

namespace {

void fsync_path(const std::string& path, int flags, const char* what) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(std::string("cannot flush ") + what + " '" + path + "' to disk");
  }
  ::close(fd);
}

void write_resume_state(torch::serialize::OutputArchive& archive, const ResumeState& r) {
  archive.write("resume.data_dir", c10::IValue(r.settings.data_dir));
  archive.write("resume.epochs", c10::IValue(r.settings.epochs));
  archive.write("resume.batch_size", c10::IValue(r.settings.batch_size));
  archive.write("resume.train_limit", c10::IValue(r.settings.train_limit));
  archive.write("resume.test_limit", c10::IValue(r.settings.test_limit));
  archive.write("resume.learning_rate", c10::IValue(r.settings.learning_rate));
  archive.write("resume.seed", c10::IValue(static_cast<int64_t>(r.settings.seed)));
  archive.write("resume.eval_k", c10::IValue(r.settings.eval_k));
  archive.write("resume.eval_images", c10::IValue(r.settings.eval_images));
  archive.write("resume.step", c10::IValue(r.step));
  archive.write("resume.epoch_step", c10::IValue(r.epoch_step));
  archive.write("resume.epoch_loss_sum", c10::IValue(r.epoch_loss_sum));
  archive.write("resume.epoch_seconds", c10::IValue(r.epoch_seconds));
  archive.write("resume.torch_rng", r.torch_rng, /*is_buffer=*/true);
  archive.write("resume.data_rng", r.data_rng, /*is_buffer=*/true);
  archive.write("resume.metrics", r.metrics, /*is_buffer=*/true);
  if (r.rank_torch_rngs.defined()) archive.write("resume.rank_torch_rngs", r.rank_torch_rngs, /*is_buffer=*/true);
}

}  // namespace

void save_checkpoint(const std::string& path, Family& family, const RunInfo& info, const ResumeState* resume) {
  torch::serialize::OutputArchive archive;
  archive.write("family", c10::IValue(std::string(family.description().name)));
  // The family's own options as "flag=value" lines (none for the CVAE, which has none).
  std::string options;
  for (const auto& [flag, value] : family.options()) options += flag + "=" + value + "\n";
  if (!options.empty()) archive.write("family_options", c10::IValue(options));
  for (const NamedModule& named : family.modules()) {
    torch::serialize::OutputArchive module_archive;
    named.module->save(module_archive);
    archive.write(named.name, module_archive);
  }
  for (const NamedOptimizer& named : family.optimizers()) {
    torch::serialize::OutputArchive optimizer_archive;
    named.optimizer->save(optimizer_archive);
    archive.write(named.name, optimizer_archive);
  }
  archive.write("latent_dims", c10::IValue(info.latent_dims));
  archive.write("dataset", c10::IValue(info.dataset));
  archive.write("epochs_done", c10::IValue(info.epochs_done));
  // Each test figure under its column's name (the CVAE's test_elbo, test_reconstruction and
  // test_kl are where checkpoints have always kept them).
  for (const NamedFigure& figure : info.test) archive.write(figure.name, c10::IValue(figure.value));
  archive.write("binarization", c10::IValue(info.binarization));
  if (resume != nullptr) write_resume_state(archive, *resume);
  const std::string tmp = path + ".tmp";
  archive.save_to(tmp);
  fsync_path(tmp, O_RDONLY, "checkpoint");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
  }
  // The rename itself is durable only once the folder's entry is on disk.
  std::string dir = std::filesystem::path(path).parent_path().string();
  fsync_path(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY, "run folder");
}

LoadedCheckpoint load_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error("no checkpoint at '" + path + "'");
  }
  torch::serialize::InputArchive archive;
  c10::IValue value;
  LoadedCheckpoint loaded;
  try {
    archive.load_from(path);
    const std::string family_name =
        archive.try_read("family", value) ? value.toStringRef() : std::string(kFamilyOfUnnamedCheckpoints);
    const FamilyDescription* family = find_family(family_name);
    if (family == nullptr) {
      throw std::runtime_error("checkpoint '" + path + "' holds a model of family '" + family_name +
                               "', which this latentkit does not know (known families: " + known_families() + ")");
    }
    archive.read("latent_dims", value);
    loaded.info.latent_dims = value.toInt();
    archive.read("dataset", value);
    loaded.info.dataset = value.toStringRef();
    archive.read("epochs_done", value);
    loaded.info.epochs_done = value.toInt();
    for (const MetricColumn& column : family->test_metrics) {
      if (archive.try_read(column.name, value)) loaded.info.test.push_back({column.name, value.toDouble()});
    }
    archive.read("binarization", value);
    loaded.info.binarization = value.toStringRef();
    FamilySettings settings;
    settings.latent_dims = loaded.info.latent_dims;
    if (archive.try_read("family_options", value)) {
      const std::string text = value.toStringRef();
      std::size_t begin = 0;
      while (begin < text.size()) {
        const std::size_t end = text.find('\n', begin), equals = text.find('=', begin);
        if (end == std::string::npos || equals == std::string::npos || equals > end) {
          throw std::runtime_error("checkpoint '" + path + "' has a malformed family_options entry");
        }
        settings.options[text.substr(begin, equals - begin)] = text.substr(equals + 1, end - equals - 1);
        begin = end + 1;
      }
    }
    loaded.family = family->create(settings);
    for (const NamedModule& named : loaded.family->modules()) {
      torch::serialize::InputArchive module_archive;
      archive.read(named.name, module_archive);
      named.module->load(module_archive);
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error("'" + path + "' is not a readable latentkit checkpoint: " + e.what_without_backtrace());
  }
  return loaded;
}

ResumeState load_resume_state(const std::string& path, Family* family) {
  torch::serialize::InputArchive archive;
  ResumeState r;
  c10::IValue v;
  try {
    archive.load_from(path);
    if (!archive.try_read("resume.step", v)) {
      throw std::runtime_error("checkpoint '" + path +
                               "' holds no resume state (written by an older latentkit); it can be exported "
                               "but not resumed");
    }
    r.step = v.toInt();
    archive.read("resume.data_dir", v);
    r.settings.data_dir = v.toStringRef();
    archive.read("resume.epochs", v);
    r.settings.epochs = v.toInt();
    archive.read("resume.batch_size", v);
    r.settings.batch_size = v.toInt();
    archive.read("resume.train_limit", v);
    r.settings.train_limit = v.toInt();
    archive.read("resume.test_limit", v);
    r.settings.test_limit = v.toInt();
    archive.read("resume.learning_rate", v);
    r.settings.learning_rate = v.toDouble();
    archive.read("resume.seed", v);
    r.settings.seed = static_cast<uint64_t>(v.toInt());
    archive.read("resume.eval_k", v);
    r.settings.eval_k = v.toInt();
    archive.read("resume.eval_images", v);
    r.settings.eval_images = v.toInt();
    archive.read("resume.epoch_step", v);
    r.epoch_step = v.toInt();
    archive.read("resume.epoch_loss_sum", v);
    r.epoch_loss_sum = v.toDouble();
    archive.read("resume.epoch_seconds", v);
    r.epoch_seconds = v.toDouble();
    archive.read("resume.torch_rng", r.torch_rng, /*is_buffer=*/true);
    archive.read("resume.data_rng", r.data_rng, /*is_buffer=*/true);
    archive.read("resume.metrics", r.metrics, /*is_buffer=*/true);
    // Absent from a run of one process and from checkpoints older than data-parallel training.
    torch::Tensor rank_rngs;
    if (archive.try_read("resume.rank_torch_rngs", rank_rngs, /*is_buffer=*/true)) r.rank_torch_rngs = rank_rngs;
    if (family != nullptr) {
      for (const NamedOptimizer& named : family->optimizers()) {
        torch::serialize::InputArchive optimizer_archive;
        archive.read(named.name, optimizer_archive);
        named.optimizer->load(optimizer_archive);
      }
    }
  } catch (const c10::Error& e) {
    throw std::runtime_error("cannot resume from '" + path + "': " + e.what_without_backtrace());
  }
  return r;
}

std::string run_dataset(const std::string& path) {
  try {
    return load_resume_state(path).settings.data_dir;
  } catch (const std::runtime_error&) {
    return load_checkpoint(path).info.dataset;
  }
}

}  // namespace latentkit::trainer
