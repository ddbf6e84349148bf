#include "latentkit/trainer/checkpoint.h"

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <unistd.h>

namespace latentkit::trainer {

namespace {

void fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot flush checkpoint '" + path + "' to disk");
  }
  ::close(fd);
}

}  // namespace

void save_checkpoint(const std::string& path, Cvae& model, torch::optim::Optimizer& optimizer,
                     const RunInfo& info) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  model->save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("latent_dims", c10::IValue(info.latent_dims));
  archive.write("dataset", c10::IValue(info.dataset));
  archive.write("epochs_done", c10::IValue(info.epochs_done));
  archive.write("test_elbo", c10::IValue(info.test_elbo));
  archive.write("test_reconstruction", c10::IValue(info.test_reconstruction));
  archive.write("test_kl", c10::IValue(info.test_kl));
  archive.write("binarization", c10::IValue(info.binarization));
  const std::string tmp = path + ".tmp";
  archive.save_to(tmp);
  fsync_file(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

LoadedCheckpoint load_checkpoint(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error("no checkpoint at '" + path + "'");
  }
  torch::serialize::InputArchive archive, model_archive;
  c10::IValue value;
  LoadedCheckpoint loaded;
  try {
    archive.load_from(path);
    archive.read("latent_dims", value);
    loaded.info.latent_dims = value.toInt();
    archive.read("dataset", value);
    loaded.info.dataset = value.toStringRef();
    archive.read("epochs_done", value);
    loaded.info.epochs_done = value.toInt();
    archive.read("test_elbo", value);
    loaded.info.test_elbo = value.toDouble();
    archive.read("test_reconstruction", value);
    loaded.info.test_reconstruction = value.toDouble();
    archive.read("test_kl", value);
    loaded.info.test_kl = value.toDouble();
    archive.read("binarization", value);
    loaded.info.binarization = value.toStringRef();
    loaded.model = Cvae(loaded.info.latent_dims);
    archive.read("model", model_archive);
    loaded.model->load(model_archive);
  } catch (const c10::Error& e) {
    throw std::runtime_error("'" + path + "' is not a readable latentkit checkpoint: " + e.what_without_backtrace());
  }
  return loaded;
}

}  // namespace latentkit::trainer
