// A fresh folder for a trainer test's run, removed with everything in it at the end of its scope.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>

namespace latentkit::trainer_test {

struct TempDir {
  std::filesystem::path path;
  // The name says what the folder is for; the process id and a counter keep the test files of
  // one binary, and test processes running side by side, in folders of their own.
  explicit TempDir(const std::string& name = "run") {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("latentkit_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace latentkit::trainer_test
