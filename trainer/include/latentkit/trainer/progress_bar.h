// A one-line progress bar on stderr: done / total, a bar, caller-supplied figures and the time
// left. On a terminal it redraws in place a few times a second; in a log (not a terminal) it
// prints only the final line, so CI logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace latentkit::trainer {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);

  // `done` items of `total`; `figures` such as "loss 163.2  1650 img/s".
  void update(int64_t done, const std::string& figures);
  void finish(const std::string& figures);

 private:
  void draw(int64_t done, const std::string& figures, bool final);

  std::string label_;
  int64_t total_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

std::string format_duration(double seconds);

}  // namespace latentkit::trainer
