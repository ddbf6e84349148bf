// latentkit-torch-decode-bench: times the trainer's own libtorch decoder (the CVAE family's
// decode_logits, then a sigmoid) on a run's checkpoint, as `latentkit-sample bench` times the
// exported file; prints one JSON object. tools/bench/compare.sh runs it beside latentkit and ONNX
// Runtime on the same weights (the file was exported from this checkpoint).
//
//   latentkit-torch-decode-bench RUN_DIR|checkpoint.pt --batch 25 [--threads 1] [--runs 50]
//       [--warmup 5] [--max-seconds 10] [--input latents.raw] [--output images.raw]
//
// Threads: libtorch's intra-op pool gets --threads, OpenBLAS one (the trainer's thread_config.h
// explains why two spinning pools must not share the cores). --input: raw float32 latents (the
// batch is then their count); --output: the last decode's images, HWC float32, for the agreement
// check. Only the CVAE family (the seed-000 decoder the comparison is about) is timed here.
#include <CLI/CLI.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/checkpoint.h"
#include "latentkit/trainer/cvae.h"
#include "latentkit/trainer/families/cvae_family.h"
#include "latentkit/trainer/thread_config.h"

namespace tr = latentkit::trainer;

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() % sizeof(float) != 0) throw std::runtime_error(path + " is not whole float32 values");
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"time the trainer's libtorch CVAE decoder on a checkpoint (JSON on stdout)"};
  std::string run, input, output;
  int batch = 0, threads = 1, runs = 50, warmup = 5;
  double max_seconds = 10;
  app.add_option("run", run, "run folder (its checkpoint.pt) or a checkpoint file")->required();
  app.add_option("--batch", batch, "latents per decode (needed without --input)")->check(CLI::Range(1, 4096));
  app.add_option("--threads", threads, "libtorch intra-op threads")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--runs", runs, "timed decodes")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--warmup", warmup, "untimed decodes after the first")->check(CLI::Range(0, 100000))->capture_default_str();
  app.add_option("--max-seconds", max_seconds, "stop the timed decodes after this long (at least 3 run)")
      ->check(CLI::Range(0.001, 3600.0))->capture_default_str();
  app.add_option("--input", input, "raw float32 latents");
  app.add_option("--output", output, "write the last decode's images here (HWC float32)");
  CLI11_PARSE(app, argc, argv);

  try {
    struct stat s {};
    const std::string checkpoint = ::stat(run.c_str(), &s) == 0 && S_ISDIR(s.st_mode) ? run + "/checkpoint.pt" : run;
    tr::apply_thread_config({threads, 1});
    torch::manual_seed(1);
    auto loaded = tr::load_checkpoint(checkpoint);
    auto* cvae = dynamic_cast<tr::CvaeFamily*>(loaded.family.get());
    if (cvae == nullptr) throw std::runtime_error(checkpoint + " is not a CVAE run (only the cvae family is timed)");
    tr::Cvae& model = cvae->model();
    model->eval();
    const int64_t dims = model->latent_dims();

    torch::Tensor z;
    if (!input.empty()) {
      std::vector<float> values = read_floats(input);
      if (values.empty() || values.size() % static_cast<std::size_t>(dims) != 0) {
        throw std::runtime_error(input + ": " + std::to_string(values.size()) + " values are not whole latents of " +
                                 std::to_string(dims));
      }
      const int64_t count = static_cast<int64_t>(values.size()) / dims;
      if (batch != 0 && batch != count) {
        throw std::runtime_error("--batch " + std::to_string(batch) + " but " + input + " holds " + std::to_string(count));
      }
      batch = static_cast<int>(count);
      z = torch::from_blob(values.data(), {count, dims}).clone();
    } else {
      if (batch == 0) throw std::runtime_error("--batch is needed without --input");
      z = torch::randn({batch, dims});
    }

    // What a libtorch user runs to decode: no autograd, the module's forward, a sigmoid.
    torch::InferenceMode inference;
    torch::Tensor images;
    auto decode = [&] { images = torch::sigmoid(model->decode_logits(z)); };
    auto start = Clock::now();
    decode();
    const double first_ms = ms_between(start, Clock::now());
    for (int w = 0; w < warmup; ++w) decode();
    std::vector<double> times;
    timespec cpu_start{}, cpu_end{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_start);  // every thread of the process
    const auto loop_start = Clock::now();
    for (int r = 0; r < runs; ++r) {
      start = Clock::now();
      decode();
      const auto end = Clock::now();
      times.push_back(ms_between(start, end));
      if (r >= 2 && ms_between(loop_start, end) > max_seconds * 1000.0) break;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_end);
    const double cpu_ms = (static_cast<double>(cpu_end.tv_sec - cpu_start.tv_sec) * 1e3 +
                           static_cast<double>(cpu_end.tv_nsec - cpu_start.tv_nsec) * 1e-6) /
                          static_cast<double>(times.size());
    if (!output.empty()) {
      const torch::Tensor hwc = images.permute({0, 2, 3, 1}).contiguous();
      std::ofstream out(output, std::ios::binary);
      out.write(reinterpret_cast<const char*>(hwc.data_ptr<float>()), static_cast<std::streamsize>(hwc.numel() * sizeof(float)));
      if (!out) throw std::runtime_error("cannot write " + output);
    }
    std::sort(times.begin(), times.end());
    const std::size_t n = times.size();
    const double median = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
    const double p90 = times[std::max<std::size_t>(static_cast<std::size_t>(std::ceil(0.9 * n)), 1) - 1];
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("{\"runtime\":\"libtorch\",\"version\":\"%s\",\"threads\":%d,\"batch\":%d,\"runs\":%zu,\"warmup\":%d,"
                "\"first_decode_ms\":%.6g,\"median_ms\":%.6g,\"p90_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,"
                "\"median_per_image_ms\":%.6g,\"cpu_ms_per_decode\":%.6g,\"peak_rss_kib\":%ld}\n",
                TORCH_VERSION, threads, batch, n, warmup, first_ms, median, p90, times.front(), times.back(),
                median / batch, cpu_ms, usage.ru_maxrss);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latentkit-torch-decode-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
