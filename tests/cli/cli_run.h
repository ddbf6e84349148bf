// What the command-line tests share: running a command and capturing its exit status, stdout and
// stderr; scratch folders; and the one trained-and-exported model (training is the slow part, so
// every test case of test_cli that needs a trained run shares this one).
#pragma once

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

namespace latentkit::cli_test {

namespace fs = std::filesystem;

struct Run {
  int exit_code = -1;  // -1 if the command did not exit normally
  int signal = 0;      // the signal that ended it, 0 if none
  std::string out, err;
  std::string output;  // stdout, then stderr

  // Ended by a signal (a crash, an abort from an uncaught exception): the shell reports a child
  // killed by signal N as exit status 128 + N.
  bool crashed() const { return signal != 0 || exit_code < 0 || exit_code >= 128; }
};

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `command` with /bin/sh (so it may hold quotes, redirections and `cd ... &&`).
inline Run run(const std::string& command) {
  const std::string base = (fs::temp_directory_path() / ("latentkit_cli_" + std::to_string(::getpid()))).string();
  const std::string out_log = base + ".out", err_log = base + ".err";
  const int status = std::system(("(" + command + ") > '" + out_log + "' 2> '" + err_log + "'").c_str());
  Run r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (status != -1 && WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (r.exit_code > 128) r.signal = r.exit_code - 128;
  r.out = read_text(out_log);
  r.err = read_text(err_log);
  r.output = r.out + r.err;
  fs::remove(out_log);
  fs::remove(err_log);
  return r;
}

inline std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// A raw float32 file (--save-latents, --save-images) as its values.
inline std::vector<float> read_floats(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> values;
  float v = 0;
  while (in.read(reinterpret_cast<char*>(&v), sizeof v)) values.push_back(v);
  return values;
}

const std::string cli = LATENTKIT_CLI;
const std::string sample_cli = LATENTKIT_SAMPLE_CLI;

// A scratch folder, removed with everything in it at the end of the test case.
struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name)
      : dir(fs::temp_directory_path() / ("latentkit_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

// One trained-and-exported model shared by the test cases of every file (an inline function's
// static is one object in the whole program).
struct Journey {
  fs::path dir = fs::temp_directory_path() / ("latentkit_journey_" + std::to_string(::getpid()));
  fs::path model = dir / "cvae.lkm";
  Run train, exported;

  Journey() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    train = run(cli + " train cvae --data " LATENTKIT_MNIST_DIR " --out '" + (dir / "run").string() +
                "' --epochs 1 --train-limit 300 --test-limit 100 --batch 32");
    exported = run(cli + " export '" + (dir / "run").string() + "' -o '" + model.string() + "'");
  }
  ~Journey() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

inline Journey& journey() {
  static Journey j;
  return j;
}

}  // namespace latentkit::cli_test
