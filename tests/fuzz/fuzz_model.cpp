// fuzz_model: hostile model files through everything a user of the runtime can do with them.
//
//   bytes -> Model::load_bytes (tight limits) -> info, sample_latents, grid_latents,
//            interpolate_latents -> a backend of each kind at batch 1 and 2 -> run
//         -> the C API: latentkit_load_memory -> info, metrics -> sample_decode, grid + decode
//
// A latentkit::Error (C++) or a status other than LATENTKIT_OK (C) is an acceptable refusal.
// Anything else escaping, a sanitizer report, or a broken invariant (checked below, reported
// through abort() with a message) is a finding. Every buffer handed to the runtime is a heap
// block of exactly the size the API promises to use, so that ASan sees any overrun.
// The structure-aware mutator lives in model_mutator.cpp.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "latentkit.h"
#include "latentkit/backend.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/model.h"

namespace lk = latentkit;

namespace {

// Small enough that every accepted model decodes in milliseconds under the sanitizers.
constexpr uint64_t kMaxMemoryBytes = uint64_t{64} << 20;

lk::ModelLimits fuzz_limits() {
  lk::ModelLimits limits;
  limits.max_dimension = 4096;
  limits.max_tensor_elements = int64_t{1} << 16;
  limits.max_tensors = 256;
  limits.max_ops = 256;
  limits.max_multiply_adds = int64_t{1} << 22;
  limits.max_memory_bytes = kMaxMemoryBytes;
  return limits;
}

// How deep inputs get, printed when the fuzzer exits (LATENTKIT_FUZZ_STATS=1): a mutator that
// only produces refused files shows here as "loaded 0".
struct Stats {
  uint64_t inputs = 0, loaded = 0, backends = 0, decoded = 0, c_loaded = 0, c_decoded = 0;
  ~Stats() {
    if (std::getenv("LATENTKIT_FUZZ_STATS") == nullptr) return;
    std::fprintf(stderr,
                 "fuzz_model stats: %llu inputs, %llu loaded (C++), %llu backends built, "
                 "%llu decodes, %llu loaded (C API), %llu C API decodes\n",
                 static_cast<unsigned long long>(inputs), static_cast<unsigned long long>(loaded),
                 static_cast<unsigned long long>(backends), static_cast<unsigned long long>(decoded),
                 static_cast<unsigned long long>(c_loaded), static_cast<unsigned long long>(c_decoded));
  }
} stats;

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_model: broken invariant: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// A float buffer of exactly n elements on the heap (ASan poisons everything past it).
using Floats = std::unique_ptr<float[]>;
Floats exact(std::size_t n) { return Floats(new float[n == 0 ? 1 : n]); }

// A signalling NaN no computation produces (arithmetic quiets it): marks outputs not written.
constexpr uint32_t kUnwritten = 0x7fa5a5a5u;
void fill_unwritten(float* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) std::memcpy(p + i, &kUnwritten, 4);
}
bool is_unwritten(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return bits == kUnwritten;
}
bool same(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, 4) == 0;
}

// Decodes `batch` latents (from `latents`, which holds at least that many) with one backend.
// Returns the images, or null if the backend refused the model.
Floats decode_with(const lk::Model& model, lk::BackendKind kind, int batch, const float* latents) {
  std::unique_ptr<lk::Backend> backend;
  try {
    backend = lk::make_backend(kind, model, batch);
  } catch (const lk::Error&) {
    return nullptr;
  }
  if (backend == nullptr) finding("make_backend returned null");
  if (backend->batch() != batch || backend->kind() != kind) finding("backend batch/kind differ");
  ++stats.backends;

  const std::size_t dims = static_cast<std::size_t>(model.latent().dims());
  const std::size_t pixels = static_cast<std::size_t>(model.image().pixels());
  Floats z = exact(batch * dims);
  std::memcpy(z.get(), latents, batch * dims * sizeof(float));
  Floats images = exact(batch * pixels);
  fill_unwritten(images.get(), batch * pixels);
  backend->run(z.get(), images.get());
  ++stats.decoded;
  for (std::size_t i = 0; i < batch * pixels; ++i) {
    if (is_unwritten(images[i])) {
      finding(std::string(lk::to_string(kind)) + " backend left image value " + std::to_string(i) +
              " of " + std::to_string(batch * pixels) + " unwritten (batch " +
              std::to_string(batch) + ")");
    }
  }
  // run() is deterministic: the same latents again give the same bits (or NaN again).
  Floats again = exact(batch * pixels);
  backend->run(z.get(), again.get());
  for (std::size_t i = 0; i < batch * pixels; ++i) {
    if (!same(images[i], again[i])) {
      finding(std::string(lk::to_string(kind)) + " backend: a second run differs at value " +
              std::to_string(i));
    }
  }
  return images;
}

// Runs `method` with one backend on `batch` examples of deterministic inputs (a latent role's
// from prior samples, an image's in the spec's range) and checks what decode_with checks of every
// output. Returns the outputs, or none if the backend refused.
std::vector<Floats> run_with(const lk::Model& model, const lk::Method& method, lk::BackendKind kind, int batch,
                             uint64_t seed) {
  std::unique_ptr<lk::Backend> backend;
  try {
    backend = lk::make_backend(kind, model, method.name, batch);
  } catch (const lk::Error&) {
    return {};
  }
  if (&backend->method() != &method) finding("backend for " + method.name + " runs another method");
  ++stats.backends;
  std::vector<Floats> inputs, outputs, again;
  std::vector<const float*> in;
  std::vector<float*> out, out_again;
  for (std::size_t i = 0; i < method.graph.inputs.size(); ++i) {
    // Example e's values depend on (seed, input, e) alone: example 0 is the same at any batch.
    const auto per_example = static_cast<std::size_t>(method.input_elements(i));
    inputs.push_back(exact(batch * per_example));
    for (int e = 0; e < batch; ++e) {
      const std::vector<float> z = lk::sample_latents({{{lk::LatentKind::gaussian, "x", 1, 1, {}, {}, {}}}},
                                                      static_cast<int>(per_example), seed + 1000 * i + e);
      for (std::size_t k = 0; k < per_example; ++k) {
        inputs.back()[e * per_example + k] =
            method.input_roles[i] == lk::Role::image ? 1.0f / (1.0f + std::exp(-z[k])) : z[k];
      }
    }
    in.push_back(inputs.back().get());
  }
  for (std::size_t i = 0; i < method.graph.outputs.size(); ++i) {
    const auto n = static_cast<std::size_t>(batch * method.output_elements(i));
    outputs.push_back(exact(n));
    again.push_back(exact(n));
    fill_unwritten(outputs.back().get(), n);
    out.push_back(outputs.back().get());
    out_again.push_back(again.back().get());
  }
  backend->invoke(in.data(), out.data());
  backend->invoke(in.data(), out_again.data());
  ++stats.decoded;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto n = static_cast<std::size_t>(batch * method.output_elements(i));
    for (std::size_t k = 0; k < n; ++k) {
      if (is_unwritten(outputs[i][k])) {
        finding(method.name + " on " + lk::to_string(kind) + " left output " + std::to_string(i) + " value " +
                std::to_string(k) + " unwritten");
      }
      if (!same(outputs[i][k], again[i][k])) finding(method.name + ": a second run differs");
    }
  }
  return outputs;
}

// Every method: its inputs and outputs have their roles' sizes, and it runs on both backends,
// the reference one giving example 0 of a batch of 2 as it gives it alone.
void exercise_methods(const lk::Model& model, uint64_t seed) {
  for (const lk::Method& method : model.methods()) {
    auto check_sizes = [&](const std::vector<int>& values, const std::vector<lk::Role>& roles) {
      if (values.empty() || values.size() != roles.size()) finding(method.name + ": values and roles differ in number");
      for (std::size_t i = 0; i < values.size(); ++i) {
        const int64_t n = method.graph.tensors.at(static_cast<std::size_t>(values[i])).elements();
        const int64_t expected = roles[i] == lk::Role::image ? model.image().pixels() : model.latent().dims();
        if (n != expected) finding(method.name + ": a " + lk::to_string(roles[i]) + " of " + std::to_string(n) + " values");
      }
    };
    check_sizes(method.graph.inputs, method.input_roles);
    check_sizes(method.graph.outputs, method.output_roles);
    for (const lk::BackendKind kind : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
      if (!lk::backend_available(kind)) continue;
      const std::vector<Floats> two = run_with(model, method, kind, 2, seed);
      const std::vector<Floats> one = run_with(model, method, kind, 1, seed);
      if (kind != lk::BackendKind::reference || one.empty() || two.empty()) continue;
      for (std::size_t i = 0; i < one.size(); ++i) {
        for (int64_t k = 0; k < method.output_elements(i); ++k) {
          if (!same(one[i][k], two[i][k])) finding("reference backend: " + method.name + " batch 1 and 2 differ");
        }
      }
    }
  }
}

void exercise_cpp(const lk::Model& model, uint64_t seed) {
  exercise_methods(model, seed);
  if (model.find_method(lk::methods::decode) == nullptr) return;  // the checks below are decode's
  // Info, as latentkit-sample info prints it.
  const lk::LatentSpec& latent = model.latent();
  const int dims = latent.dims();
  const lk::ImageSpec& image = model.image();
  const lk::Provenance& provenance = model.provenance();
  (void)model.format_version();
  (void)model.file_size();
  std::size_t text = provenance.model_family.size() + provenance.dataset.size() +
                     provenance.trainer_version.size() + provenance.quantization.size();
  for (const lk::Metric& m : provenance.metrics) text += m.name.size();
  for (const std::string& l : provenance.labels) text += l.size();
  for (const lk::LatentGroup& g : latent.groups) {
    text += g.name.size();
    for (const std::string& l : g.labels) text += l.size();
  }
  (void)text;
  (void)provenance.metric("test_elbo_nats");

  // What Model::load guarantees (graph.h): one latent input of dims() values, one image output
  // of pixels() values, and sizes a buffer can be made of.
  const lk::Graph& g = model.decoder();
  if (g.inputs.size() != 1 || g.outputs.size() != 1) finding("graph has not one input, one output");
  if (dims <= 0) finding("latent dims " + std::to_string(dims));
  if (image.height <= 0 || image.width <= 0 || image.channels <= 0) finding("image spec not positive");
  const int64_t in_elements = g.tensors.at(static_cast<std::size_t>(g.inputs[0])).elements();
  const int64_t out_elements = g.tensors.at(static_cast<std::size_t>(g.outputs[0])).elements();
  if (in_elements != dims) {
    finding("latent spec has " + std::to_string(dims) + " dims, the graph input " +
            std::to_string(in_elements) + " elements");
  }
  if (out_elements != image.pixels()) {
    finding("image spec has " + std::to_string(image.pixels()) + " values, the graph output " +
            std::to_string(out_elements));
  }

  // Latents: prior samples, a 2 x 2 grid, an interpolation.
  const std::vector<float> samples = lk::sample_latents(latent, 2, seed);
  if (samples.size() != 2 * static_cast<std::size_t>(dims)) finding("sample_latents size");
  std::vector<float> grid;
  if (!latent.groups.empty() && latent.groups[0].kind == lk::LatentKind::gaussian &&
      latent.groups[0].size >= 2) {
    const lk::Range range = lk::default_grid_range();
    grid = lk::grid_latents(latent, 2, 2, range, range);
    if (grid.size() != 4 * static_cast<std::size_t>(dims)) finding("grid_latents size");
  }
  const std::vector<float> a(samples.begin(), samples.begin() + dims);
  const std::vector<float> b(samples.begin() + dims, samples.end());
  if (lk::interpolate_latents(a, b, 3).size() != 3 * static_cast<std::size_t>(dims)) {
    finding("interpolate_latents size");
  }

  // Both backends at batch 1 and 2; the reference backend computes each example on its own,
  // so image 0 of a batch of 2 is the batch-1 image, bit for bit.
  const std::size_t pixels = static_cast<std::size_t>(image.pixels());
  for (const lk::BackendKind kind : {lk::BackendKind::reference, lk::BackendKind::xnnpack}) {
    if (!lk::backend_available(kind)) continue;
    const Floats one = decode_with(model, kind, 1, samples.data());
    const Floats two = decode_with(model, kind, 2, samples.data());
    if (kind == lk::BackendKind::reference && one && two) {
      for (std::size_t i = 0; i < pixels; ++i) {
        if (!same(one[i], two[i])) {
          finding("reference backend: batch 1 and batch 2 differ at value " + std::to_string(i));
        }
      }
    }
    if (!grid.empty()) {
      (void)decode_with(model, kind, 2, grid.data() + 2 * static_cast<std::size_t>(dims));
    }
  }
}

void exercise_c_api(const uint8_t* data, std::size_t size, bool cpp_loaded,
                    const lk::Model* model, uint64_t seed) {
  latentkit_options options = latentkit_default_options();
  // Now and then a limit small enough that batch sizes (or the model itself) are refused for
  // memory, which exercises MemoryPlan and its message.
  options.max_memory_bytes = (seed & 6) == 0 ? (uint64_t{256} << 10) : kMaxMemoryBytes;
  options.backend = (seed & 1) ? LATENTKIT_BACKEND_REFERENCE : LATENTKIT_BACKEND_XNNPACK;
  if (!latentkit_backend_available(options.backend)) options.backend = LATENTKIT_BACKEND_DEFAULT;
  latentkit_model* m = reinterpret_cast<latentkit_model*>(uintptr_t{1});
  const latentkit_status loaded = latentkit_load_memory(data, size, &options, &m);
  if (loaded != LATENTKIT_OK) {
    if (m != nullptr) finding("latentkit_load_memory failed but left *out_model non-null");
    if (latentkit_last_error()[0] == '\0') finding("latentkit_load_memory failed without a message");
    return;
  }
  if (m == nullptr) finding("latentkit_load_memory: OK and a null model");
  ++stats.c_loaded;

  latentkit_info info;
  if (latentkit_model_info(m, &info) != LATENTKIT_OK) finding("latentkit_model_info failed");
  (void)std::strlen(info.model_family);
  (void)std::strlen(info.dataset);
  for (int i = 0; i < info.metric_count; ++i) {
    const char* name = nullptr;
    double value = 0;
    if (latentkit_model_metric(m, i, &name, &value) != LATENTKIT_OK || name == nullptr) {
      finding("latentkit_model_metric " + std::to_string(i) + " failed");
    }
    (void)std::strlen(name);
  }
  (void)latentkit_model_metric(m, info.metric_count, nullptr, nullptr);
  double elbo = 0;
  (void)latentkit_model_metric_by_name(m, "test_elbo_nats", &elbo);
  // A file may hold no decode method (nor a latent or image spec, if no method needs them).
  const bool decodes = latentkit_has_method(m, "decode") == 1;
  if (decodes && (info.latent_dims <= 0 || info.image_pixels <= 0)) finding("latentkit_info with no latents or pixels");
  if (int64_t{info.image_height} * info.image_width * info.image_channels != info.image_pixels) {
    finding("latentkit_info: image_pixels is not height x width x channels");
  }
  if (cpp_loaded) {
    if (info.latent_dims != model->latent().dims() || info.image_pixels != model->image().pixels()) {
      finding("the C API and the C++ API disagree on the latent or image size");
    }
  }

  // Decoding only for models the tight C++ limits admitted (the C API has no limit on
  // multiply-adds: a slow model is not a finding, a timeout would be).
  if (cpp_loaded) {
    const std::size_t dims = static_cast<std::size_t>(info.latent_dims);
    const std::size_t pixels = static_cast<std::size_t>(info.image_pixels);
    Floats z = exact(2 * dims);
    Floats x = exact(2 * pixels);
    fill_unwritten(x.get(), 2 * pixels);
    if (latentkit_sample_decode(m, 2, seed, z.get(), 2 * dims, x.get(), 2 * pixels) == LATENTKIT_OK) {
      ++stats.c_decoded;
      for (std::size_t i = 0; i < 2 * pixels; ++i) {
        if (is_unwritten(x[i])) finding("latentkit_sample_decode left value " + std::to_string(i) + " unwritten");
      }
      // One float too few: refused before anything is written.
      fill_unwritten(x.get(), 2 * pixels);
      if (latentkit_decode(m, z.get(), 2 * dims, 2, x.get(), 2 * pixels - 1) != LATENTKIT_INVALID_ARGUMENT) {
        finding("latentkit_decode accepted an images buffer one float too small");
      }
      for (std::size_t i = 0; i < 2 * pixels; ++i) {
        if (!is_unwritten(x[i])) finding("a refused latentkit_decode wrote its output");
      }
    }
    if (latentkit_has_method(m, "encode") == 1) {
      Floats images = exact(pixels), means = exact(dims), log_variances = exact(dims);
      for (std::size_t i = 0; i < pixels; ++i) images[i] = static_cast<float>(i % 7) / 6.0f;
      fill_unwritten(means.get(), dims);
      fill_unwritten(log_variances.get(), dims);
      if (latentkit_encode(m, images.get(), pixels, 1, means.get(), dims, log_variances.get(), dims) == LATENTKIT_OK) {
        ++stats.c_decoded;
        for (std::size_t i = 0; i < dims; ++i) {
          if (is_unwritten(means[i]) || is_unwritten(log_variances[i])) finding("latentkit_encode left a value unwritten");
        }
      }
    }
    Floats g = exact(4 * dims);
    if (latentkit_grid(m, 2, 2, 0, 0, 0, 0, g.get(), 4 * dims) == LATENTKIT_OK) {
      Floats images = exact(4 * pixels);
      (void)latentkit_decode(m, g.get(), 4 * dims, 4, images.get(), 4 * pixels);
    }
  } else {
    Floats z = exact(static_cast<std::size_t>(info.latent_dims));
    (void)latentkit_sample(m, 1, seed, z.get(), static_cast<std::size_t>(info.latent_dims));
    // Beyond the tight limits (large dimensions and strides): build the backend, which is where
    // the lowerings allocate, but do not run it. The memory limit still bounds the build.
    (void)latentkit_prepare(m, 1);
  }
  latentkit_free(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  // A seed for the latents that depends on the input (FNV-1a of its last bytes).
  uint64_t seed = 1469598103934665603ull;
  for (std::size_t i = size > 64 ? size - 64 : 0; i < size; ++i) seed = (seed ^ data[i]) * 1099511628211ull;

  ++stats.inputs;
  bool cpp_loaded = false;
  std::unique_ptr<lk::Model> model;
  try {
    model = std::make_unique<lk::Model>(lk::Model::load_bytes(data, size, fuzz_limits()));
    cpp_loaded = true;
    ++stats.loaded;
  } catch (const lk::Error&) {
    // refused: fine
  }
  if (cpp_loaded) {
    try {
      exercise_cpp(*model, seed);
    } catch (const lk::Error&) {
      // e.g. out_of_memory for a batch size: a refusal
    }
  }
  exercise_c_api(data, size, cpp_loaded, model.get(), seed);
  return 0;
}
