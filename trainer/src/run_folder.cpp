#include "run_folder.h"

#include <stdexcept>

#include "latentkit/trainer/report.h"

namespace latentkit::trainer {

namespace fs = std::filesystem;

fs::path first_missing_folder(const std::string& dir) {
  std::error_code ec;
  fs::path path = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (ec) return {};
  if (path.filename().empty()) path = path.parent_path();  // "runs/name/"
  if (fs::exists(fs::symlink_status(path, ec))) return {};
  while (path.has_relative_path() && !fs::exists(fs::symlink_status(path.parent_path(), ec))) path = path.parent_path();
  return path;
}

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

}  // namespace latentkit::trainer
