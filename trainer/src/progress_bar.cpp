#include "latentkit/trainer/progress_bar.h"

#include <cstdio>
#include <unistd.h>

namespace latentkit::trainer {

std::string format_duration(double seconds) {
  const long s = seconds < 0 ? 0 : static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  return text;
}

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(total > 0 ? total : 1), terminal_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::update(int64_t done, const std::string& figures) {
  const auto now = std::chrono::steady_clock::now();
  if (!terminal_ || now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  draw(done, figures, false);
}

void ProgressBar::finish(const std::string& figures) { draw(total_, figures, true); }

void ProgressBar::draw(int64_t done, const std::string& figures, bool final) {
  constexpr int kWidth = 24;
  const double fraction = static_cast<double>(done) / static_cast<double>(total_);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double left = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
  std::string bar(kWidth, ' ');
  for (int i = 0; i < static_cast<int>(fraction * kWidth); ++i) bar[i] = '=';
  std::fprintf(stderr, "%s%s [%s] %3d%%  %s  %s %s%s", terminal_ ? "\r\033[K" : "", label_.c_str(),
               bar.c_str(), static_cast<int>(fraction * 100), figures.c_str(),
               final ? "took" : "left", format_duration(final ? elapsed : left).c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace latentkit::trainer
