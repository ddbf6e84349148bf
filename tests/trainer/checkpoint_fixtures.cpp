#include "trainer/checkpoint_fixtures.h"

#include <optional>

#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/family_registry.h"

namespace latentkit::test_fixtures {

namespace tr = latentkit::trainer;

namespace {

// The checkpoint layout, entry by entry (checkpoint.cpp), with the family entry optional.
void write_checkpoint(const std::string& path, tr::Family& family, const tr::RunInfo& info,
                      const std::optional<std::string>& family_entry, const tr::ResumeState* resume) {
  torch::serialize::OutputArchive archive;
  if (family_entry) archive.write("family", c10::IValue(*family_entry));
  for (const tr::NamedModule& named : family.modules()) {
    torch::serialize::OutputArchive module_archive;
    named.module->save(module_archive);
    archive.write(named.name, module_archive);
  }
  for (const tr::NamedOptimizer& named : family.optimizers()) {
    torch::serialize::OutputArchive optimizer_archive;
    named.optimizer->save(optimizer_archive);
    archive.write(named.name, optimizer_archive);
  }
  archive.write("latent_dims", c10::IValue(info.latent_dims));
  archive.write("dataset", c10::IValue(info.dataset));
  archive.write("epochs_done", c10::IValue(info.epochs_done));
  for (const tr::NamedFigure& figure : info.test) archive.write(figure.name, c10::IValue(figure.value));
  archive.write("binarization", c10::IValue(info.binarization));
  if (resume != nullptr) {
    const tr::ResumeState& r = *resume;
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
  }
  archive.save_to(path);
}

}  // namespace

void write_cvae_checkpoint_naming(const std::string& path, const std::string& family) {
  const auto cvae = tr::make_family("cvae", {});
  tr::RunInfo info;
  info.dataset = "mnist";
  info.epochs_done = 1;
  info.binarization = "dynamic";
  write_checkpoint(path, *cvae, info, family, nullptr);
}

void write_unnamed_copy(const std::string& from, const std::string& to) {
  tr::LoadedCheckpoint loaded = tr::load_checkpoint(from);
  const tr::ResumeState state = tr::load_resume_state(from, loaded.family.get());
  write_checkpoint(to, *loaded.family, loaded.info, std::nullopt, &state);
}

}  // namespace latentkit::test_fixtures
