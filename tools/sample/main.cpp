// latentkit-sample: the on-device program. Loads a model file and renders latent grids, prior
// samples, interpolations or given latents to PNG, and encodes or reconstructs images (PNG, or
// one image of an IDX file as PATH:INDEX), through the runtime alone (no libtorch).
//
//   latentkit-sample cvae.lkm info
//   latentkit-sample cvae.lkm grid 5x5 -o grid.png
//   latentkit-sample cvae.lkm sample -n 64 --seed 7 -o samples.png
//   latentkit-sample joint.lkm sample -n 16 --digit 7 --colour red -o red-sevens.png
//   latentkit-sample joint.lkm grid 10x8 --sweep digit -o digits.png
//   latentkit-sample cvae.lkm decode --z 0.5,-1.0 -o one.png
//   latentkit-sample cvae.lkm interpolate --from -2,0 --to 2,0 --steps 8 -o line.png
//   latentkit-sample cvae.lkm encode digit.png t10k-images-idx3-ubyte:0
//   latentkit-sample cvae.lkm reconstruct digit.png -o reconstruction.png
//   latentkit-sample dae.lkm denoise digit.png --corrupt mask:0.3 -o denoised.png
//   latentkit-sample cvae.lkm interpolate --from-image a.png --to-image b.png -o morph.png
//   latentkit-sample cvae.lkm bench --batch 1,25,256 --runs 50 [--warmup 5] [--max-chunk 16] [--profile] [--json]
//   latentkit-sample --max-memory 64M cvae.lkm sample -n 256 -o samples.png
//
// Every failure (a bad file, number, path or size, a full disk, memory running out) ends with
// one line on stderr naming the problem, a non-zero exit status (1; CLI11's own codes, all
// below 128, for bad command-line syntax), and no output file.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <cstring>
#include <new>
#include <stdexcept>
#include <sys/stat.h>

#include "latentkit/atomic_file.h"
#include "latentkit/decoder.h"
#include "latentkit/error.h"
#include "latentkit/image_grid.h"
#include "latentkit/latents.h"
#include "latentkit/method_runner.h"
#include "cli_checks.h"
#include "corruption.h"
#include "decode_bench.h"
#include "model_input.h"
#include "model_summary.h"
#include "png_writer.h"

namespace lk = latentkit;

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Comma-separated finite numbers: "nan", "inf" and 1e39 (not a float) are refused, as are
// empty items ("1,,2", "1,").
std::vector<float> parse_floats(const std::string& text, const std::string& what) {
  std::vector<float> values;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    float value = 0;
    try {
      std::size_t used = 0;
      value = std::stof(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw lk::Error(lk::ErrorCode::invalid_argument, what + ": '" + item + "' is not a number");
    }
    if (!std::isfinite(value)) {
      throw lk::Error(lk::ErrorCode::invalid_argument, what + ": '" + item + "' is not a finite number");
    }
    values.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return values;
}

lk::Range parse_range(const std::string& text, const std::string& what) {
  const std::vector<float> v = parse_floats(text, what);
  if (v.size() != 2) throw lk::Error(lk::ErrorCode::invalid_argument, what + " takes two numbers LO,HI");
  return {v[0], v[1]};
}

struct GridShape {
  int rows = 0, cols = 0;
};

constexpr int kMaxGridSide = 100;

GridShape parse_grid_shape(const std::string& text) {
  // Digits 'x' digits, nothing else; at most 3 digits a side, so nothing overflows.
  auto side = [&](std::size_t begin, std::size_t end) {
    if (end <= begin || end - begin > 3) return -1;
    int value = 0;
    for (std::size_t i = begin; i < end; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const std::size_t x = text.find('x');
  const int rows = x == std::string::npos ? -1 : side(0, x);
  const int cols = x == std::string::npos ? -1 : side(x + 1, text.size());
  if (rows < 1 || cols < 1 || rows > kMaxGridSide || cols > kMaxGridSide) {
    throw lk::Error(lk::ErrorCode::invalid_argument, "grid shape '" + text + "' should be ROWSxCOLS, each 1.." +
                                                         std::to_string(kMaxGridSide) + " (e.g. 5x5)");
  }
  return {rows, cols};
}

// --set GROUP=LABEL (and the --digit / --colour shorthands): a category per categorical group,
// checked against the model before anything is drawn.
struct CategoryChoice {
  int group = 0, category = 0;
};

std::vector<CategoryChoice> parse_category_choices(const std::vector<std::string>& texts, const lk::LatentSpec& spec) {
  std::vector<CategoryChoice> choices;
  for (const std::string& text : texts) {
    const std::size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
      throw lk::Error(lk::ErrorCode::invalid_argument, "--set '" + text + "' should be GROUP=LABEL (e.g. digit=7)");
    }
    const int group = lk::find_group(spec, text.substr(0, eq));
    const lk::LatentGroup& g = spec.groups[static_cast<std::size_t>(group)];
    if (g.kind != lk::LatentKind::categorical) {
      throw lk::Error(lk::ErrorCode::invalid_argument,
                      "--set " + text + ": latent group '" + g.name + "' is Gaussian, it has no categories");
    }
    for (const CategoryChoice& earlier : choices) {
      if (earlier.group == group) {
        throw lk::Error(lk::ErrorCode::invalid_argument, "latent group '" + g.name + "' is set twice");
      }
    }
    choices.push_back({group, lk::find_category(g, text.substr(eq + 1))});
  }
  return choices;
}

// Puts every variable of each chosen group on its category, in the n latents at z.
void apply_category_choices(const std::vector<CategoryChoice>& choices, const lk::LatentSpec& spec,
                            std::vector<float>& z) {
  const int n = static_cast<int>(z.size() / static_cast<std::size_t>(spec.dims()));
  for (const CategoryChoice& choice : choices) {
    for (int v = 0; v < spec.groups[static_cast<std::size_t>(choice.group)].count; ++v) {
      lk::set_category(spec, choice.group, v, choice.category, z.data(), n);
    }
  }
}

// Latents the user gave as numbers must match the model's latent size exactly.
void check_latent_size(const std::vector<float>& z, const lk::Model& model, const std::string& what) {
  if (z.size() != static_cast<std::size_t>(model.latent().dims())) {
    throw lk::Error(lk::ErrorCode::invalid_argument, what + " has " + std::to_string(z.size()) +
                                                         " values but the model's latent has " +
                                                         std::to_string(model.latent().dims()));
  }
}

// Where to save the exact numbers behind a picture (raw little-endian float32, row-major), for
// comparing runs across machines bit for bit; empty: not saved.
struct RawOutputs {
  std::string latents, images;
};

void save_raw(const std::string& path, const std::vector<float>& values) {
  if (path.empty()) return;
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  lk::write_file_atomically(path, bytes);
}

bool is_regular_file(const std::string& path) {
  struct stat s {};
  return ::stat(path.c_str(), &s) == 0 && S_ISREG(s.st_mode);
}

// Writes the picture and the raw numbers the user asked for. One that cannot be written takes
// back the files this command created before it (a file that existed before is replaced as each
// write succeeds, and not restored).
void write_outputs(const std::string& output, const lk::Picture& picture, const RawOutputs& raw,
                   const std::vector<float>& latents, const std::vector<float>& images) {
  std::vector<std::string> written;
  try {
    for (const std::string* path : {&output, &raw.latents, &raw.images}) {
      if (path->empty()) continue;
      const bool existed = is_regular_file(*path);
      if (path == &output) lk::cli::write_png(output, picture);
      else save_raw(*path, path == &raw.latents ? latents : images);
      if (!existed && is_regular_file(*path)) written.push_back(*path);
    }
  } catch (...) {
    for (const std::string& path : written) std::remove(path.c_str());
    throw;
  }
}

// Decodes the latents (at most rows x cols of them) and writes them as a rows x cols picture,
// the tiles after the last image black.
void render(lk::Decoder& decoder, const std::vector<float>& latents, int rows, int cols, int gap,
            const std::string& output, const std::string& what, const RawOutputs& raw) {
  const int count = static_cast<int>(latents.size() / static_cast<std::size_t>(decoder.latent_dims()));
  lk::picture_size(decoder.model().image(), rows, cols, gap);  // refused before decoding, not after
  const auto build_start = Clock::now();
  decoder.prepare(count);
  const double build_ms = ms_since(build_start);
  const auto start = Clock::now();
  const std::vector<float> images = decoder.decode(latents, count);
  const double decode_ms = ms_since(start);
  std::vector<float> tiles = images;
  const float black = decoder.model().image().range == lk::ValueRange::symmetric ? -1.0f : 0.0f;
  tiles.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols) *
                   static_cast<std::size_t>(decoder.image_pixels()),
               black);
  const lk::Picture picture = lk::tile_images(tiles.data(), decoder.model().image(), rows, cols, gap);
  write_outputs(output, picture, raw, latents, images);
  std::printf("wrote %s: %s, %dx%d pixels (%s backend: build %.2f ms, decode %.2f ms)\n", output.c_str(),
              what.c_str(), picture.width, picture.height, lk::to_string(decoder.backend_kind()), build_ms, decode_ms);
}

// The images named on the command line, as the model's image input: one after the other.
std::vector<float> read_images(const std::vector<std::string>& texts, const lk::Model& model) {
  std::vector<float> images;
  for (const std::string& text : texts) {
    const std::vector<float> one = lk::cli::read_model_input(text, model.image());
    images.insert(images.end(), one.begin(), one.end());
  }
  return images;
}

// The runner of `method` on the backend the user asked for, or the reference one if that cannot
// run it (saying why).
lk::MethodRunner runner_for(const lk::Model& model, const char* method, lk::BackendKind requested, int threads) {
  std::string why;
  const lk::BackendKind kind = lk::choose_backend(model, method, requested, &why);
  if (!why.empty()) std::fprintf(stderr, "latentkit-sample: %s on the reference backend: %s\n", method, why.c_str());
  return lk::MethodRunner(model, method, kind, lk::BackendOptions{threads});
}

std::string join(const float* values, int count) {
  std::string out;
  char item[32];
  for (int i = 0; i < count; ++i) {
    std::snprintf(item, sizeof item, "%s%.6g", i ? "," : "", values[i]);
    out += item;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"latentkit-sample: render images from a latentkit model file on this device"};
  app.require_subcommand(1);
  std::string model_path, backend_name = lk::backend_available(lk::BackendKind::xnnpack) ? "xnnpack" : "reference";
  int threads = 1;
  app.add_option("model", model_path, "model file (.lkm)")->required();
  app.add_option("--backend", backend_name, "xnnpack or reference")->capture_default_str();
  app.add_option("--threads", threads, "worker threads for XNNPACK")->check(CLI::Range(1, 64))->capture_default_str();
  std::string max_memory;
  auto* max_memory_option = app.add_option("--max-memory", max_memory,
                 "refuse a model or batch that needs more memory than SIZE (bytes, or with K, M or G: 512M)");
  RawOutputs raw;
  app.add_option("--save-latents", raw.latents,
                 "also write the latents (encode: the means) as raw float32 (little-endian)");
  app.add_option("--save-images", raw.images, "also write the decoded or reconstructed images as raw float32 (HWC)");

  auto* info = app.add_subcommand("info", "describe the model");
  bool show_graph = false;
  info->add_flag("--graph", show_graph, "also list every tensor and op");

  auto* grid = app.add_subcommand("grid", "a grid over the first two latent dimensions (z1 along X, z2 along Y)");
  std::string grid_shape = "5x5", x_range, y_range, grid_out = "grid.png";
  int gap = 0;
  grid->add_option("shape", grid_shape, "ROWSxCOLS")->capture_default_str();
  grid->add_option("--x-range", x_range, "LO,HI for z1 (default: the 5% and 95% normal quantiles)");
  grid->add_option("--y-range", y_range, "LO,HI for z2 (default: as --x-range)");
  grid->add_option("--gap", gap, "black pixels between tiles")->check(CLI::Range(0, 64));
  grid->add_option("-o,--output", grid_out, "PNG to write")->capture_default_str();
  std::string sweep_group;
  grid->add_option("--sweep", sweep_group,
                   "a categorical latent group: one row per category (ROWS must be its number of categories), "
                   "z1 along X");
  // A category per categorical group, for sample and grid: --set GROUP=LABEL, --digit, --colour.
  std::vector<std::string> category_texts;
  auto add_category_options = [&](CLI::App* command) {
    command->add_option("--set", category_texts, "GROUP=LABEL: a category (label or index) for a categorical latent "
                                                 "group; repeat for several groups");
    command->add_option_function<std::string>(
        "--digit", [&](const std::string& v) { category_texts.push_back("digit=" + v); }, "as --set digit=LABEL");
    command->add_option_function<std::string>(
        "--colour,--color", [&](const std::string& v) { category_texts.push_back("colour=" + v); },
        "as --set colour=LABEL");
  };
  add_category_options(grid);

  auto* sample = app.add_subcommand("sample", "decode latents drawn from the prior");
  int sample_count = 64, sample_cols = 0;
  uint64_t seed = 0;
  std::string sample_out = "samples.png";
  sample->add_option("-n,--count", sample_count, "how many")->check(CLI::Range(1, 10000))->capture_default_str();
  sample->add_option("--seed", seed, "the same seed gives the same latents on every platform")->capture_default_str();
  sample->add_option("--cols", sample_cols, "columns in the picture (default: about a square)")
      ->check(CLI::Range(1, 10000));
  sample->add_option("-o,--output", sample_out, "PNG to write")->capture_default_str();
  add_category_options(sample);

  auto* decode = app.add_subcommand("decode", "decode given latents");
  std::vector<std::string> z_texts;
  std::string decode_out = "decoded.png";
  decode->add_option("--z", z_texts, "a latent as comma-separated numbers; repeat for several")->required();
  decode->add_option("-o,--output", decode_out, "PNG to write")->capture_default_str();

  auto* interpolate = app.add_subcommand("interpolate", "decode the segment between two latents (or two images' codes)");
  std::string from_text, to_text, line_out = "interpolation.png", from_image, to_image;
  int steps = 8;
  auto* from_option = interpolate->add_option("--from", from_text, "start latent");
  auto* to_option = interpolate->add_option("--to", to_text, "end latent");
  auto* from_image_option = interpolate->add_option("--from-image", from_image,
                                                    "start at this image's code (PNG, or IDX as PATH:INDEX)");
  auto* to_image_option = interpolate->add_option("--to-image", to_image, "end at this image's code");
  from_option->excludes(from_image_option);
  to_option->excludes(to_image_option);
  interpolate->add_option("--steps", steps, "images, ends included")->check(CLI::Range(2, 1000))->capture_default_str();
  interpolate->add_option("-o,--output", line_out, "PNG to write")->capture_default_str();

  auto* encode = app.add_subcommand("encode", "print the codes of images (a VAE's: its posterior's mean and log-variance)");
  std::vector<std::string> encode_images;
  encode->add_option("images", encode_images, "PNG files, or IDX images as PATH:INDEX")->required();

  auto* reconstruct = app.add_subcommand("reconstruct", "decode images' codes: the images above, their reconstructions below");
  std::vector<std::string> reconstruct_images;
  std::string reconstruct_out = "reconstruction.png";
  reconstruct->add_option("images", reconstruct_images, "PNG files, or IDX images as PATH:INDEX")->required();
  reconstruct->add_option("-o,--output", reconstruct_out, "PNG to write")->capture_default_str();

  auto* denoise = app.add_subcommand("denoise", "corrupt images, then reconstruct them: the images, the corrupted "
                                                "ones and their reconstructions, one row each");
  std::vector<std::string> denoise_images;
  std::string corrupt_text = "mask:0.3", denoise_out = "denoised.png";
  uint64_t corrupt_seed = 1;
  denoise->add_option("images", denoise_images, "PNG files, or IDX images as PATH:INDEX")->required();
  denoise->add_option("--corrupt", corrupt_text,
                      "mask:FRACTION, mask-patch:SIZE, gaussian:SIGMA or salt-pepper:FRACTION (as train dae --noise)")
      ->capture_default_str();
  denoise->add_option("--seed", corrupt_seed, "the corruption's random draws")->capture_default_str();
  denoise->add_option("-o,--output", denoise_out, "PNG to write")->capture_default_str();

  auto* bench = app.add_subcommand("bench", "time model loading, backend building and decoding (per batch: build, "
                                            "first decode, median and p90, allocations; peak memory)");
  lk::cli::BenchSettings bench_settings;
  std::string bench_batches = "1,25,256";
  bench->add_option("--batch", bench_batches, "batch sizes, comma-separated (latents per decode)")->capture_default_str();
  bench->add_option("--runs", bench_settings.runs, "timed decodes per batch (fewer once --max-seconds have passed)")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  bench->add_option("--warmup", bench_settings.warmup, "untimed decodes after the first one")
      ->check(CLI::Range(0, 100000))->capture_default_str();
  bench->add_option("--max-seconds", bench_settings.max_seconds, "stop a batch's timed decodes after this long (at least 3 run)")
      ->check(CLI::Range(0.001, 3600.0))->capture_default_str();
  bench->add_option("--max-chunk", bench_settings.max_chunk,
                    "run a batch larger than this as chunks of it (BackendOptions::max_chunk); 0: whole")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  bench->add_flag("--profile", bench_settings.profile, "also time each op (on a backend built for profiling)");
  bench->add_flag("--json", bench_settings.json, "one JSON object instead of the table");

  CLI11_PARSE(app, argc, argv);

  try {
    lk::ModelLimits limits;
    if (max_memory_option->count() > 0) limits.max_memory_bytes = lk::cli::parse_byte_size(max_memory, "--max-memory");
    // Paths that can never be written are refused before any work.
    const std::string* output = *grid ? &grid_out : *sample ? &sample_out : *decode ? &decode_out
                              : *interpolate ? &line_out : *reconstruct ? &reconstruct_out
                              : *denoise ? &denoise_out : nullptr;
    if (output != nullptr) {
      lk::cli::check_output_file(*output, "output");
      if (!raw.latents.empty()) lk::cli::check_output_file(raw.latents, "--save-latents");
      if (!raw.images.empty()) lk::cli::check_output_file(raw.images, "--save-images");
    }
    if (*encode && !raw.latents.empty()) lk::cli::check_output_file(raw.latents, "--save-latents");
    if (*decode && z_texts.size() > static_cast<std::size_t>(kMaxGridSide)) {
      throw lk::Error(lk::ErrorCode::invalid_argument, "decode takes at most " + std::to_string(kMaxGridSide) +
                                                           " latents (--z given " + std::to_string(z_texts.size()) +
                                                           " times)");
    }
    for (const std::vector<std::string>* images : {&encode_images, &reconstruct_images, &denoise_images}) {
      if (images->size() > static_cast<std::size_t>(kMaxGridSide)) {
        throw lk::Error(lk::ErrorCode::invalid_argument, "at most " + std::to_string(kMaxGridSide) + " images, got " +
                                                             std::to_string(images->size()));
      }
    }
    if (*interpolate && (from_option->count() + from_image_option->count() != 1 ||
                         to_option->count() + to_image_option->count() != 1)) {
      throw lk::Error(lk::ErrorCode::invalid_argument,
                      "interpolate needs a start (--from or --from-image) and an end (--to or --to-image)");
    }
    if (*sample && sample_cols > sample_count) {
      throw lk::Error(lk::ErrorCode::invalid_argument, "--cols " + std::to_string(sample_cols) +
                                                           " is more than the " + std::to_string(sample_count) +
                                                           " samples");
    }
    if (*bench) bench_settings.batches = lk::cli::parse_batches(bench_batches, 4096);
    const lk::cli::Corruption corruption = lk::cli::parse_corruption(corrupt_text);
    lk::cli::check_input_file(model_path, "model file");
    const auto load_start = Clock::now();
    lk::Model model = lk::Model::load_file(model_path, limits);
    const double load_ms = ms_since(load_start);
    const lk::BackendKind requested = lk::parse_backend_kind(backend_name);
    if (!lk::backend_available(requested)) {
      throw lk::Error(lk::ErrorCode::invalid_argument, "this build has no " + backend_name + " backend");
    }
    if (*info) {  // describes any model the loader accepts, without building a backend
      lk::cli::print_summary(std::cout, model_path, model);
      if (show_graph) lk::cli::print_graph(std::cout, model);
      return 0;
    }
    if (*encode) {
      const std::vector<float> images = read_images(encode_images, model);
      const int count = static_cast<int>(encode_images.size());
      lk::MethodRunner encoder = runner_for(model, lk::methods::encode, requested, threads);
      const auto codes = encoder.run({images}, count);
      const lk::Method& method = encoder.method();
      const int dims = model.latent().dims();
      for (int i = 0; i < count; ++i) {
        std::printf("%s:", encode_images[static_cast<std::size_t>(i)].c_str());
        for (std::size_t k = 0; k < codes.size(); ++k) {
          const lk::Role role = method.output_roles[k];
          const char* label = role == lk::Role::latent_mean ? "mean"
                            : role == lk::Role::latent_log_variance ? "log-variance" : "code";
          std::printf(" %s %s", label, join(codes[k].data() + i * dims, dims).c_str());
        }
        std::printf("\n");
      }
      save_raw(raw.latents, codes[0]);
      return 0;
    }
    if (*reconstruct || *denoise) {
      const std::vector<std::string>& texts = *reconstruct ? reconstruct_images : denoise_images;
      const std::string& output = *reconstruct ? reconstruct_out : denoise_out;
      const std::vector<float> images = read_images(texts, model);
      const int count = static_cast<int>(texts.size());
      std::vector<float> input = images;
      if (*denoise) lk::cli::corrupt_images(input, count, model.image(), corruption, corrupt_seed);
      const int rows = *denoise ? 3 : 2;
      lk::picture_size(model.image(), rows, count, 0);
      lk::MethodRunner reconstructor = runner_for(model, lk::methods::reconstruct, requested, threads);
      const auto start = Clock::now();
      const std::vector<float> out = reconstructor.run({input}, count)[0];
      const double run_ms = ms_since(start);
      std::vector<float> tiles = images;
      if (*denoise) tiles.insert(tiles.end(), input.begin(), input.end());
      tiles.insert(tiles.end(), out.begin(), out.end());
      const lk::Picture picture = lk::tile_images(tiles.data(), model.image(), rows, count, 0);
      // --save-latents: the codes the reconstructions were decoded from are not an output here.
      write_outputs(output, picture, {"", raw.images}, {}, out);
      if (*reconstruct) {
        double squared = 0;
        for (std::size_t i = 0; i < out.size(); ++i) squared += (double{out[i]} - images[i]) * (double{out[i]} - images[i]);
        std::printf("wrote %s: %d image(s) above, their reconstructions below, %dx%d pixels; mean squared error %.5f "
                    "(%s backend, %.2f ms)\n",
                    output.c_str(), count, picture.width, picture.height, squared / static_cast<double>(out.size()),
                    lk::to_string(reconstructor.backend_kind()), run_ms);
      } else {
        std::printf("wrote %s: %d image(s), corrupted (%s, seed %llu), reconstructed; %dx%d pixels; PSNR against the "
                    "images: corrupted %.2f dB, reconstructed %.2f dB (%s backend, %.2f ms)\n",
                    output.c_str(), count, corruption.text.c_str(), static_cast<unsigned long long>(corrupt_seed),
                    picture.width, picture.height, lk::cli::psnr_db(images.data(), input.data(), images.size(), model.image()),
                    lk::cli::psnr_db(images.data(), out.data(), images.size(), model.image()),
                    lk::to_string(reconstructor.backend_kind()), run_ms);
      }
      return 0;
    }
    std::string why;
    const lk::BackendKind kind = lk::choose_backend(model, requested, &why);
    if (!why.empty()) std::fprintf(stderr, "latentkit-sample: using the reference backend: %s\n", why.c_str());
    lk::Decoder decoder(model, kind, lk::BackendOptions{threads});

    if (*grid) {
      const GridShape shape = parse_grid_shape(grid_shape);
      const lk::Range x = x_range.empty() ? lk::default_grid_range() : parse_range(x_range, "--x-range");
      const lk::Range y = y_range.empty() ? x : parse_range(y_range, "--y-range");
      const std::vector<CategoryChoice> choices = parse_category_choices(category_texts, model.latent());
      std::vector<float> z;
      char what[200];
      if (!sweep_group.empty()) {
        const int group = lk::find_group(model.latent(), sweep_group);
        const lk::LatentGroup& g = model.latent().groups[static_cast<std::size_t>(group)];
        if (g.kind == lk::LatentKind::categorical && shape.rows != g.size) {
          throw lk::Error(lk::ErrorCode::invalid_argument,
                          "--sweep " + sweep_group + ": the grid has one row per category, so " + std::to_string(g.size) +
                              " rows, not " + std::to_string(shape.rows) + " (use " + std::to_string(g.size) + "x" +
                              std::to_string(shape.cols) + ")");
        }
        for (const CategoryChoice& choice : choices) {
          if (choice.group == group) {
            throw lk::Error(lk::ErrorCode::invalid_argument, "--sweep " + sweep_group + " and --set " + sweep_group +
                                                                 " together: a swept group takes every category");
          }
        }
        z = lk::category_grid_latents(model.latent(), group, shape.cols, x);
        std::snprintf(what, sizeof what, "%dx%d grid, one row per category of %s, z1 %.2f..%.2f along x", shape.rows,
                      shape.cols, sweep_group.c_str(), x.lo, x.hi);
      } else {
        z = lk::grid_latents(model.latent(), shape.rows, shape.cols, x, y);
        std::snprintf(what, sizeof what, "%dx%d grid, z1 %.2f..%.2f along x, z2 %.2f..%.2f along y (top to bottom)",
                      shape.rows, shape.cols, x.lo, x.hi, y.hi, y.lo);
      }
      apply_category_choices(choices, model.latent(), z);
      render(decoder, z, shape.rows, shape.cols, gap, grid_out, what, raw);
    } else if (*sample) {
      const int cols = sample_cols > 0 ? sample_cols : static_cast<int>(std::ceil(std::sqrt(sample_count)));
      const int rows = (sample_count + cols - 1) / cols;
      // Exactly --count samples; the picture's last row ends in black tiles when they do not fill it.
      const std::vector<CategoryChoice> choices = parse_category_choices(category_texts, model.latent());
      std::vector<float> all = lk::sample_latents(model.latent(), sample_count, seed);
      apply_category_choices(choices, model.latent(), all);
      std::string what = std::to_string(sample_count) + " prior samples, seed " + std::to_string(seed);
      for (const std::string& text : category_texts) what += ", " + text;
      render(decoder, all, rows, cols, 0, sample_out, what, raw);
    } else if (*decode) {
      std::vector<float> z;
      for (const std::string& text : z_texts) {
        const std::vector<float> one = parse_floats(text, "--z");
        check_latent_size(one, model, "--z " + text);
        z.insert(z.end(), one.begin(), one.end());
      }
      const int count = static_cast<int>(z_texts.size());
      render(decoder, z, 1, count, 0, decode_out, std::to_string(count) + " decoded latent(s)", raw);
    } else if (*interpolate) {
      // An image's end is the mean of its posterior: where the encoder puts it.
      auto code_of = [&](const std::string& image) {
        lk::MethodRunner encoder = runner_for(model, lk::methods::encode, requested, threads);
        return encoder.run({lk::cli::read_model_input(image, model.image())}, 1)[0];
      };
      const std::vector<float> a = from_image.empty() ? parse_floats(from_text, "--from") : code_of(from_image);
      const std::vector<float> b = to_image.empty() ? parse_floats(to_text, "--to") : code_of(to_image);
      check_latent_size(a, model, "--from");
      check_latent_size(b, model, "--to");
      render(decoder, lk::interpolate_latents(a, b, steps), 1, steps, 0, line_out,
             std::to_string(steps) + " interpolation steps", raw);
    } else if (*bench) {
      bench_settings.model_path = model_path;
      bench_settings.kind = kind;
      bench_settings.threads = threads;
      bench_settings.load_ms = load_ms;
      lk::cli::run_decode_bench(model, bench_settings, std::cout);
    }
  } catch (const lk::Error& e) {
    std::fprintf(stderr, "latentkit-sample: %s: %s\n", lk::to_string(e.code()), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "latentkit-sample: out of memory: this model or batch needs more memory than the device "
                         "has; try fewer images, or --max-memory to be told the figures before allocating\n");
    return 1;
  } catch (const std::length_error& e) {
    std::fprintf(stderr, "latentkit-sample: out of memory: a size is beyond what can be allocated (%s)\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latentkit-sample: error: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "latentkit-sample: error: an unknown exception\n");
    return 1;
  }
  return 0;
}
