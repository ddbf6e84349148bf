#include "decode_bench.h"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>

#include "alloc_counter.h"
#include "latentkit/decoder.h"
#include "latentkit/error.h"
#include "latentkit/graph.h"
#include "latentkit/latents.h"
#include "latentkit/method.h"
#include "json_text.h"

namespace latentkit::cli {
namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

constexpr int kMaxBatches = 16;

struct OpRow {
  std::string ops;    // "2 transpose_conv2d" or "4 max_pool2d + 5 conv2d" when timed together
  std::string shape;  // the last op's first output, per example
  int64_t multiply_adds = 0;  // per example, useful_multiply_adds
  double ms = 0;              // per decode, the median over the timed decodes
};

struct BatchResult {
  int batch = 0;
  int runs = 0;  // timed
  double build_ms = 0, first_ms = 0;
  double median_ms = 0, p90_ms = 0, min_ms = 0, max_ms = 0;
  double cpu_ms = 0;  // process CPU time per timed decode (mean)
  AllocationCount allocations;  // over the timed decodes, all together
  uint64_t build_allocations = 0;  // while the backend was built (shows that the counter counts)
  // --profile
  int profile_runs = 0;
  double profile_median_ms = 0;  // of the profiling backend's decodes
  std::vector<OpRow> ops;
};

// CPU time of the whole process (every thread), in ms. On a shared machine a decode's wall time
// includes the time other processes held the core; its CPU time does not, so at one thread it
// is the steadier figure to compare runtimes by.
double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

double median_of_sorted(const std::vector<double>& v) {
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
// Nearest rank, as benchmark_model and most latency reports: the smallest time that at least 90 %
// of the runs did not exceed.
double p90_of_sorted(const std::vector<double>& v) {
  const std::size_t rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

// The multiply-adds a weighted op needs per example (0 for the others): a transposed
// convolution's input pixels times its taps and channels, which is what XNNPACK computes;
// graph.h's multiply_adds() counts every tap of every output, stride^2 times more, as a bound.
int64_t useful_multiply_adds(const Graph& graph, const Op& op) {
  if (!is_weighted(op.kind)) return 0;
  if (op.kind != OpKind::transpose_conv2d) return multiply_adds(graph, op);
  const std::vector<int64_t>& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])].shape;  // H, W, in
  const std::vector<int64_t>& w = graph.tensors[static_cast<std::size_t>(op.inputs[1])].shape;  // out, kh, kw, in
  return x[0] * x[1] * w[0] * w[1] * w[2] * w[3];
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

// Timed decodes: up to settings.runs, fewer once max_seconds have passed (at least 3, so that a
// slow backend at a large batch still reports a median).
std::vector<double> reserved_times(const BenchSettings& settings) {
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(settings.runs));
  return times;
}
// `times` comes from reserved_times, reserved before the allocations are read, so that the loop
// itself allocates nothing.
template <typename Decode>
void time_decodes(const BenchSettings& settings, std::vector<double>& times, Decode&& decode) {
  const auto loop_start = Clock::now();
  for (int r = 0; r < settings.runs; ++r) {
    const auto start = Clock::now();
    decode();
    const auto end = Clock::now();
    times.push_back(ms_between(start, end));
    if (r >= 2 && ms_between(loop_start, end) > settings.max_seconds * 1000.0) break;
  }
}

// Each op's median over the timed decodes: op_times() is read after every decode (this loop is
// not the allocation-counted one) and the differences are the op's time in that decode. Medians,
// not means, because a shared machine's preemptions land on whichever op was running.
void profile_batch(const Model& model, const BenchSettings& settings, const std::vector<float>& z,
                   std::vector<float>& images, BatchResult& result) {
  BackendOptions options{settings.threads};
  options.profile = true;
  const int batch = result.batch;
  std::unique_ptr<Backend> backend = make_backend(settings.kind, model, methods::decode, batch, options);
  for (int w = 0; w < 1 + settings.warmup; ++w) backend->run(z.data(), images.data());
  std::vector<OpTime> last = backend->op_times();
  std::vector<std::vector<double>> per_op(last.size());
  std::vector<double> times = reserved_times(settings);
  const auto loop_start = Clock::now();
  for (int r = 0; r < settings.runs; ++r) {
    const auto start = Clock::now();
    backend->run(z.data(), images.data());
    const auto end = Clock::now();
    times.push_back(ms_between(start, end));
    std::vector<OpTime> now = backend->op_times();
    for (std::size_t i = 0; i < now.size(); ++i) per_op[i].push_back((now[i].seconds - last[i].seconds) * 1000.0);
    last = std::move(now);
    if (r >= 2 && ms_between(loop_start, end) > settings.max_seconds * 1000.0) break;
  }
  std::sort(times.begin(), times.end());
  result.profile_runs = static_cast<int>(times.size());
  result.profile_median_ms = median_of_sorted(times);
  const Graph& graph = model.method(methods::decode).graph;
  for (std::size_t i = 0; i < last.size(); ++i) {
    OpRow row;
    for (std::size_t k = 0; k < last[i].ops.size(); ++k) {
      const Op& op = graph.ops[static_cast<std::size_t>(last[i].ops[k])];
      row.ops += (k ? " + " : "") + std::to_string(last[i].ops[k]) + " " + to_string(op.kind);
      row.multiply_adds += useful_multiply_adds(graph, op);
      row.shape = shape_text(graph.tensors[static_cast<std::size_t>(op.outputs[0])].shape);
    }
    std::sort(per_op[i].begin(), per_op[i].end());
    row.ms = median_of_sorted(per_op[i]);
    result.ops.push_back(row);
  }
}

BatchResult bench_batch(Decoder& decoder, const Model& model, const BenchSettings& settings, int batch) {
  BatchResult result;
  result.batch = batch;
  // Built first: a batch beyond the memory limit is refused by the plan, naming the figures,
  // before the images are allocated.
  const AllocationCount before_build = allocations_so_far();
  auto start = Clock::now();
  decoder.prepare(batch);
  result.build_ms = ms_between(start, Clock::now());
  result.build_allocations = allocations_so_far().calls - before_build.calls;
  const std::vector<float> z = sample_latents(model.latent(), batch, /*seed=*/1);
  std::vector<float> images(static_cast<std::size_t>(batch) * decoder.image_pixels());
  start = Clock::now();
  decoder.decode_into(z.data(), batch, images.data());
  result.first_ms = ms_between(start, Clock::now());
  for (int w = 0; w < settings.warmup; ++w) decoder.decode_into(z.data(), batch, images.data());

  // The user's path (Decoder::decode_into: the runner looks up the batch's backend, which copies
  // the latents in, runs, copies the images out). Allocations are counted around the timed loop
  // only; the loop's own vector is reserved before it.
  std::vector<double> times = reserved_times(settings);
  const AllocationCount before = allocations_so_far();
  const double cpu_before = process_cpu_ms();
  time_decodes(settings, times, [&] { decoder.decode_into(z.data(), batch, images.data()); });
  const double cpu_after = process_cpu_ms();
  const AllocationCount after = allocations_so_far();
  result.allocations = {after.calls - before.calls, after.bytes - before.bytes};
  result.runs = static_cast<int>(times.size());
  result.cpu_ms = (cpu_after - cpu_before) / result.runs;
  std::sort(times.begin(), times.end());
  result.median_ms = median_of_sorted(times);
  result.p90_ms = p90_of_sorted(times);
  result.min_ms = times.front();
  result.max_ms = times.back();
  if (settings.profile) profile_batch(model, settings, z, images, result);
  return result;
}


std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

const char* profile_form(BackendKind kind) {
  // XNNPACK 2022 (Debian bookworm) has no profiling API (xnn_get_runtime_profiling_info came
  // later), so the profiling backend runs each op as its own XNNPACK runtime (backend.h).
  return kind == BackendKind::xnnpack ? "each op its own XNNPACK runtime (a ReLU stays with the op before it, as XNNPACK fuses it)"
                                      : "each op's reference kernel timed";
}

void write_json(std::ostream& out, const BenchSettings& s, const std::vector<BatchResult>& results, long peak_rss_kib) {
  out << "{\"model\":" << json_string(s.model_path) << ",\"method\":\"decode\",\"backend\":\"" << to_string(s.kind)
      << "\",\"threads\":" << s.threads << ",\"max_chunk\":" << s.max_chunk << ",\"warmup\":" << s.warmup << ",\"load_ms\":" << number(s.load_ms)
      << ",\"peak_rss_kib\":" << peak_rss_kib
      << ",\"allocations_counted\":" << (counting_allocations() ? "true" : "false") << ",\"batches\":[";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const BatchResult& r = results[i];
    const double per = 1.0 / r.batch;
    out << (i ? "," : "") << "{\"batch\":" << r.batch << ",\"runs\":" << r.runs << ",\"build_ms\":" << number(r.build_ms)
        << ",\"first_decode_ms\":" << number(r.first_ms) << ",\"median_ms\":" << number(r.median_ms)
        << ",\"p90_ms\":" << number(r.p90_ms) << ",\"min_ms\":" << number(r.min_ms) << ",\"max_ms\":" << number(r.max_ms)
        << ",\"median_per_image_ms\":" << number(r.median_ms * per) << ",\"p90_per_image_ms\":" << number(r.p90_ms * per)
        << ",\"cpu_ms_per_decode\":" << number(r.cpu_ms);
    if (counting_allocations()) {
      out << ",\"build_allocations\":" << r.build_allocations
          << ",\"allocations_per_decode\":" << number(static_cast<double>(r.allocations.calls) / r.runs)
          << ",\"allocated_bytes_per_decode\":" << number(static_cast<double>(r.allocations.bytes) / r.runs);
    } else {
      out << ",\"build_allocations\":null,\"allocations_per_decode\":null,\"allocated_bytes_per_decode\":null";
    }
    if (s.profile) {
      double sum = 0;
      for (const OpRow& op : r.ops) sum += op.ms;
      out << ",\"profile\":{\"form\":" << json_string(profile_form(s.kind)) << ",\"runs\":" << r.profile_runs
          << ",\"median_ms\":" << number(r.profile_median_ms) << ",\"sum_of_ops_ms\":" << number(sum) << ",\"ops\":[";
      for (std::size_t k = 0; k < r.ops.size(); ++k) {
        const OpRow& op = r.ops[k];
        out << (k ? "," : "") << "{\"ops\":" << json_string(op.ops) << ",\"output_shape\":" << json_string(op.shape)
            << ",\"multiply_adds_per_image\":" << op.multiply_adds << ",\"ms\":" << number(op.ms)
            << ",\"share\":" << number(sum > 0 ? op.ms / sum : 0) << "}";
      }
      out << "]}";
    }
    out << "}";
  }
  out << "]}\n";
}

void write_table(std::ostream& out, const BenchSettings& s, const std::vector<BatchResult>& results, long peak_rss_kib) {
  char line[512];
  std::snprintf(line, sizeof line, "%s: decode on the %s backend, %d thread(s), chunks of %d (0: none), %d warm-up decodes\n",
                s.model_path.c_str(), to_string(s.kind), s.threads, s.max_chunk, s.warmup);
  out << line;
  std::snprintf(line, sizeof line, "load %.3f ms, peak resident memory %.1f MiB\n\n", s.load_ms, peak_rss_kib / 1024.0);
  out << line;
  out << "batch  runs   build ms   first ms  median ms     p90 ms     min ms  median/image  p90/image    cpu ms  allocs/decode\n";
  for (const BatchResult& r : results) {
    std::string allocs = "not counted";
    if (counting_allocations()) {
      char a[64];
      std::snprintf(a, sizeof a, "%.3g", static_cast<double>(r.allocations.calls) / r.runs);
      allocs = a;
    }
    std::snprintf(line, sizeof line, "%5d %5d %10.3f %10.3f %10.4f %10.4f %10.4f %13.5f %10.5f %9.4f  %13s\n", r.batch,
                  r.runs, r.build_ms, r.first_ms, r.median_ms, r.p90_ms, r.min_ms, r.median_ms / r.batch,
                  r.p90_ms / r.batch, r.cpu_ms, allocs.c_str());
    out << line;
  }
  out << "(times in ms; first: the first decode after the build; the rest over the timed decodes after the warm-up;\n"
         " cpu ms: the process's CPU time per timed decode, all threads, which other processes on the machine do not add to)\n";
  if (!s.profile) return;
  for (const BatchResult& r : results) {
    double sum = 0;
    for (const OpRow& op : r.ops) sum += op.ms;
    std::snprintf(line, sizeof line, "\nper-op profile at batch %d (%s; %d decodes):\n", r.batch, profile_form(s.kind),
                  r.profile_runs);
    out << line;
    out << "  share  median ms/decode  GMAC/s  output      op\n";
    for (const OpRow& op : r.ops) {
      char gmacs[16] = "      -";
      if (op.ms > 0 && op.multiply_adds > 0) {
        std::snprintf(gmacs, sizeof gmacs, "%7.2f", static_cast<double>(op.multiply_adds) * r.batch / (op.ms * 1e6));
      }
      std::snprintf(line, sizeof line, "  %5.1f%% %16.4f %s  %-10s  %s\n", sum > 0 ? 100.0 * op.ms / sum : 0.0, op.ms,
                    gmacs, op.shape.c_str(), op.ops.c_str());
      out << line;
    }
    std::snprintf(line, sizeof line,
                  "  sum of the ops' medians %.4f ms; the profiling backend's median decode %.4f ms; the backend's own "
                  "median %.4f ms\n",
                  sum, r.profile_median_ms, r.median_ms);
    out << line;
  }
}

}  // namespace

std::vector<int> parse_batches(const std::string& text, int max_batch) {
  std::vector<int> batches;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    // Digits only, at most 6 of them: no sign, no spaces, nothing that overflows.
    const bool digits = !item.empty() && item.size() <= 6 &&
                        std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
    const int value = digits ? std::stoi(item) : 0;
    if (value < 1 || value > max_batch) {
      throw Error(ErrorCode::invalid_argument, "--batch: '" + item + "' is not a batch size from 1 to " +
                                                   std::to_string(max_batch) + " (give a list such as 1,25,256)");
    }
    batches.push_back(value);
    if (batches.size() > static_cast<std::size_t>(kMaxBatches)) {
      throw Error(ErrorCode::invalid_argument, "--batch: at most " + std::to_string(kMaxBatches) + " batch sizes");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return batches;
}

void run_decode_bench(const Model& model, const BenchSettings& settings, std::ostream& out) {
  BackendOptions options{settings.threads};
  options.max_chunk = settings.max_chunk;
  Decoder decoder(model, settings.kind, options);
  std::vector<BatchResult> results;
  for (const int batch : settings.batches) results.push_back(bench_batch(decoder, model, settings, batch));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const long peak_rss_kib = usage.ru_maxrss;  // Linux: kibibytes
  if (settings.json) {
    write_json(out, settings, results, peak_rss_kib);
  } else {
    write_table(out, settings, results, peak_rss_kib);
  }
}

}  // namespace latentkit::cli
