// The C API (latentkit.h) over the C++ runtime.
//
// Every entry point runs its body through `guarded`, which turns every C++ exception into a
// status and a message: latentkit::Error keeps its code, std::bad_alloc is out of memory, and
// anything else is an internal error. The message lives in a fixed thread-local buffer, so that
// reporting an error can itself neither allocate nor throw.
#include "latentkit.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/error.h"
#include "latentkit/latents.h"
#include "latentkit/method_runner.h"
#include "latentkit/model.h"

namespace lk = latentkit;

struct latentkit_model {
  latentkit_model(lk::Model model, lk::BackendKind kind, int threads)
      : model(std::move(model)), kind(kind), threads(threads) {}

  // The runner of method `name`, made at its first use and kept with the backends it builds.
  // Raises lk::Error(invalid_argument) naming the model's methods if there is none.
  lk::MethodRunner& runner(const std::string& name) {
    auto it = runners.find(name);
    if (it == runners.end()) {
      it = runners.emplace(name, std::make_unique<lk::MethodRunner>(model, name, kind, lk::BackendOptions{threads}))
               .first;
    }
    return *it->second;
  }

  lk::Model model;
  lk::BackendKind kind;
  int threads;
  std::map<std::string, std::unique_ptr<lk::MethodRunner>> runners;
};

namespace {

constexpr int kMaxThreads = 256;
constexpr int kMaxGridSide = 1024;

thread_local char last_error[1024] = "";

void clear_error() { last_error[0] = '\0'; }

#if defined(__GNUC__) || defined(__clang__)
latentkit_status fail(latentkit_status status, const char* format, ...)
    __attribute__((format(printf, 2, 3)));
#endif

latentkit_status fail(latentkit_status status, const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  if (n < 0 || last_error[0] == '\0') {
    std::snprintf(last_error, sizeof last_error, "%s", latentkit_status_string(status));
  } else if (static_cast<std::size_t>(n) >= sizeof last_error) {
    std::memcpy(last_error + sizeof last_error - 4, "...", 4);  // truncated: say so
  }
  return status;
}

latentkit_status to_status(lk::ErrorCode code) {
  switch (code) {
    case lk::ErrorCode::invalid_argument:
      return LATENTKIT_INVALID_ARGUMENT;
    case lk::ErrorCode::io:
      return LATENTKIT_IO;
    case lk::ErrorCode::malformed_model:
      return LATENTKIT_MALFORMED_MODEL;
    case lk::ErrorCode::unsupported_model:
      return LATENTKIT_UNSUPPORTED_MODEL;
    case lk::ErrorCode::backend:
      return LATENTKIT_BACKEND_ERROR;
    case lk::ErrorCode::out_of_memory:
      return LATENTKIT_OUT_OF_MEMORY;
  }
  return LATENTKIT_INTERNAL;
}

// Runs `body` (which returns a status and sets the message itself on failure) so that no
// exception escapes. The message is cleared first, so success leaves "".
template <class Body>
latentkit_status guarded(const char* function, Body&& body) noexcept {
  clear_error();
  try {
    return body();
  } catch (const lk::Error& e) {
    return fail(to_status(e.code()), "%s: %s", function, e.what());
  } catch (const std::bad_alloc&) {
    return fail(LATENTKIT_OUT_OF_MEMORY, "%s: out of memory", function);
  } catch (const std::length_error& e) {
    return fail(LATENTKIT_OUT_OF_MEMORY, "%s: too large to allocate (%s)", function, e.what());
  } catch (const std::exception& e) {
    return fail(LATENTKIT_INTERNAL, "%s: internal error: %s", function, e.what());
  } catch (...) {
    return fail(LATENTKIT_INTERNAL, "%s: internal error: unknown exception", function);
  }
}

// Inside an entry point's body, where `fn` names the entry point.
#define LK_REQUIRE_POINTER(p)                                            \
  do {                                                                   \
    if ((p) == nullptr) {                                                \
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: " #p " is NULL", fn); \
    }                                                                    \
  } while (0)

// a * b, or false if it does not fit in size_t (a, b >= 0).
bool checked_mul(std::size_t a, std::size_t b, std::size_t* out) {
  if (b != 0 && a > std::numeric_limits<std::size_t>::max() / b) return false;
  *out = a * b;
  return true;
}

// Checks that `capacity` floats hold `n` items of `per_item` floats each.
latentkit_status check_room(const char* function, const char* what, int n, int64_t per_item,
                            std::size_t capacity) {
  std::size_t need = 0;
  if (!checked_mul(static_cast<std::size_t>(n), static_cast<std::size_t>(per_item), &need)) {
    return fail(LATENTKIT_INVALID_ARGUMENT, "%s: %d x %lld %s floats overflow size_t", function, n,
                static_cast<long long>(per_item), what);
  }
  if (capacity < need) {
    return fail(LATENTKIT_INVALID_ARGUMENT,
                "%s: %s buffer holds %zu floats, %d x %lld = %zu are needed", function, what,
                capacity, n, static_cast<long long>(per_item), need);
  }
  return LATENTKIT_OK;
}

latentkit_status check_count(const char* function, const char* what, int n, int max) {
  if (n < 1 || n > max) {
    return fail(LATENTKIT_INVALID_ARGUMENT, "%s: %s must be 1..%d, got %d", function, what, max, n);
  }
  return LATENTKIT_OK;
}

latentkit_status resolve_options(const latentkit_options* options, lk::BackendKind* kind,
                                 int* threads, lk::ModelLimits* limits, const char* function) {
  const latentkit_options o = options ? *options : latentkit_default_options();
  // A C caller can store any int in the enum field; loading it as a latentkit_backend outside
  // the enum's values would be undefined behaviour in C++, so read its bytes as an integer.
  std::underlying_type_t<latentkit_backend> backend;
  static_assert(sizeof backend == sizeof o.backend, "latentkit_backend's size");
  std::memcpy(&backend, &o.backend, sizeof backend);
  switch (backend) {
    case LATENTKIT_BACKEND_DEFAULT:
      *kind = lk::backend_available(lk::BackendKind::xnnpack) ? lk::BackendKind::xnnpack
                                                              : lk::BackendKind::reference;
      break;
    case LATENTKIT_BACKEND_XNNPACK:
      if (!lk::backend_available(lk::BackendKind::xnnpack)) {
        return fail(LATENTKIT_BACKEND_ERROR,
                    "%s: this runtime was built without XNNPACK; use the reference backend",
                    function);
      }
      *kind = lk::BackendKind::xnnpack;
      break;
    case LATENTKIT_BACKEND_REFERENCE:
      *kind = lk::BackendKind::reference;
      break;
    default:
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: options->backend is %lld, not a latentkit_backend",
                  function, static_cast<long long>(backend));
  }
  if (o.threads < 0 || o.threads > kMaxThreads) {
    return fail(LATENTKIT_INVALID_ARGUMENT, "%s: options->threads must be 0..%d, got %d", function,
                kMaxThreads, o.threads);
  }
  *threads = o.threads < 1 ? 1 : o.threads;
  if (o.max_memory_bytes != 0) limits->max_memory_bytes = o.max_memory_bytes;
  return LATENTKIT_OK;
}

// Loads with `load` (a callable taking lk::ModelLimits and returning an lk::Model) into *out_model.
template <class Load>
latentkit_status load_model(const char* function, const latentkit_options* options,
                            latentkit_model** out_model, Load&& load) {
  lk::BackendKind kind = lk::BackendKind::reference;
  int threads = 1;
  lk::ModelLimits limits;
  if (latentkit_status s = resolve_options(options, &kind, &threads, &limits, function)) return s;
  *out_model = new latentkit_model(load(limits), kind, threads);
  return LATENTKIT_OK;
}

// How messages name a buffer of values of `role`.
const char* buffer_name(lk::Role role) {
  switch (role) {
    case lk::Role::latent: return "latents";
    case lk::Role::image: return "images";
    case lk::Role::latent_mean: return "means";
    case lk::Role::latent_log_variance: return "log_variances";
  }
  return "values";
}

// Runs `method` after checking the buffers against its signature: every input holds batch x
// its elements, every output has room for batch x its elements. Nothing is written on failure.
latentkit_status run_method(const char* fn, latentkit_model* model, const char* method, int batch,
                            const std::vector<const float*>& inputs, const std::vector<std::size_t>& input_counts,
                            const std::vector<float*>& outputs, const std::vector<std::size_t>& output_capacities) {
  lk::MethodRunner& runner = model->runner(method);
  const lk::Method& m = runner.method();
  if (inputs.size() != m.graph.inputs.size() || outputs.size() != m.graph.outputs.size()) {
    return fail(LATENTKIT_INVALID_ARGUMENT, "%s: %s takes %zu inputs and gives %zu outputs; got %zu and %zu", fn,
                m.signature().c_str(), m.graph.inputs.size(), m.graph.outputs.size(), inputs.size(), outputs.size());
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == nullptr) return fail(LATENTKIT_INVALID_ARGUMENT, "%s: input %zu is NULL", fn, i);
    const std::string what = buffer_name(m.input_roles[i]);
    if (latentkit_status s = check_room(fn, what.c_str(), batch, m.input_elements(i), input_counts[i])) return s;
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i] == nullptr) return fail(LATENTKIT_INVALID_ARGUMENT, "%s: output %zu is NULL", fn, i);
    const std::string what = buffer_name(m.output_roles[i]);
    if (latentkit_status s = check_room(fn, what.c_str(), batch, m.output_elements(i), output_capacities[i])) return s;
  }
  runner.run_into(inputs.data(), batch, outputs.data());
  return LATENTKIT_OK;
}

}  // namespace

extern "C" {

const char* latentkit_status_string(latentkit_status status) {
  switch (status) {
    case LATENTKIT_OK:
      return "ok";
    case LATENTKIT_INVALID_ARGUMENT:
      return "invalid argument";
    case LATENTKIT_IO:
      return "i/o error";
    case LATENTKIT_MALFORMED_MODEL:
      return "malformed model file";
    case LATENTKIT_UNSUPPORTED_MODEL:
      return "unsupported model file";
    case LATENTKIT_BACKEND_ERROR:
      return "backend error";
    case LATENTKIT_OUT_OF_MEMORY:
      return "out of memory";
    case LATENTKIT_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

const char* latentkit_last_error(void) { return last_error; }

latentkit_status latentkit_backend_from_name(const char* name, latentkit_backend* out_backend) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(name);
    LK_REQUIRE_POINTER(out_backend);
    if (std::strcmp(name, "default") == 0) {
      *out_backend = LATENTKIT_BACKEND_DEFAULT;
    } else if (std::strcmp(name, "xnnpack") == 0) {
      *out_backend = LATENTKIT_BACKEND_XNNPACK;
    } else if (std::strcmp(name, "reference") == 0) {
      *out_backend = LATENTKIT_BACKEND_REFERENCE;
    } else {
      return fail(LATENTKIT_INVALID_ARGUMENT,
                  "%s: unknown backend '%.100s' (expected 'xnnpack', 'reference' or 'default')", fn,
                  name);
    }
    return LATENTKIT_OK;
  });
}

const char* latentkit_backend_name(latentkit_backend backend) {
  switch (backend) {
    case LATENTKIT_BACKEND_DEFAULT:
      return "default";
    case LATENTKIT_BACKEND_XNNPACK:
      return "xnnpack";
    case LATENTKIT_BACKEND_REFERENCE:
      return "reference";
  }
  return nullptr;
}

int latentkit_backend_available(latentkit_backend backend) {
  switch (backend) {
    case LATENTKIT_BACKEND_DEFAULT:
      return 1;
    case LATENTKIT_BACKEND_XNNPACK:
      return lk::backend_available(lk::BackendKind::xnnpack) ? 1 : 0;
    case LATENTKIT_BACKEND_REFERENCE:
      return 1;
  }
  return 0;
}

latentkit_options latentkit_default_options(void) {
  latentkit_options options;
  options.backend = LATENTKIT_BACKEND_DEFAULT;
  options.threads = 1;
  options.max_memory_bytes = 0;
  return options;
}

latentkit_status latentkit_load_file(const char* path, const latentkit_options* options,
                                     latentkit_model** out_model) {
  if (out_model != nullptr) *out_model = nullptr;
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(out_model);
    LK_REQUIRE_POINTER(path);
    return load_model(fn, options, out_model, [&](const lk::ModelLimits& limits) { return lk::Model::load_file(path, limits); });
  });
}

latentkit_status latentkit_load_memory(const void* data, size_t size,
                                       const latentkit_options* options,
                                       latentkit_model** out_model) {
  if (out_model != nullptr) *out_model = nullptr;
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(out_model);
    LK_REQUIRE_POINTER(data);
    if (size == 0) return fail(LATENTKIT_INVALID_ARGUMENT, "%s: size is 0", fn);
    return load_model(fn, options, out_model, [&](const lk::ModelLimits& limits) { return lk::Model::load_bytes(data, size, limits); });
  });
}

void latentkit_free(latentkit_model* model) { delete model; }

latentkit_status latentkit_model_info(const latentkit_model* model, latentkit_info* out_info) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(out_info);
    const lk::Model& m = model->model;
    const lk::ImageSpec& image = m.image();
    const lk::Provenance& provenance = m.provenance();
    latentkit_info info;
    std::memset(&info, 0, sizeof info);
    info.latent_dims = m.latent().dims();
    info.image_height = image.height;
    info.image_width = image.width;
    info.image_channels = image.channels;
    info.image_pixels = static_cast<int>(image.pixels());  // the loader bounds it (ModelLimits)
    info.value_range =
        image.range == lk::ValueRange::symmetric ? LATENTKIT_RANGE_SYMMETRIC : LATENTKIT_RANGE_UNIT;
    info.format_version = m.format_version();
    info.file_size = m.file_size();
    info.backend = model->kind == lk::BackendKind::xnnpack
                       ? LATENTKIT_BACKEND_XNNPACK
                       : LATENTKIT_BACKEND_REFERENCE;
    info.threads = model->threads;
    info.model_family = provenance.model_family.c_str();
    info.dataset = provenance.dataset.c_str();
    info.epochs = provenance.epochs;
    info.metric_count = static_cast<int>(provenance.metrics.size());
    *out_info = info;
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_model_metric(const latentkit_model* model, int index,
                                        const char** out_name, double* out_value) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    const std::vector<lk::Metric>& metrics = model->model.provenance().metrics;
    if (index < 0 || static_cast<std::size_t>(index) >= metrics.size()) {
      return fail(LATENTKIT_INVALID_ARGUMENT,
                  "%s: index %d is out of range (the model has %zu metrics)", fn, index,
                  metrics.size());
    }
    if (out_name) *out_name = metrics[static_cast<std::size_t>(index)].name.c_str();
    if (out_value) *out_value = metrics[static_cast<std::size_t>(index)].value;
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_model_metric_by_name(const latentkit_model* model, const char* name,
                                                double* out_value) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(name);
    LK_REQUIRE_POINTER(out_value);
    for (const lk::Metric& metric : model->model.provenance().metrics) {
      if (metric.name == name) {
        *out_value = metric.value;
        return LATENTKIT_OK;
      }
    }
    return fail(LATENTKIT_INVALID_ARGUMENT, "%s: the model has no metric '%.100s'", fn, name);
  });
}

latentkit_status latentkit_sample(const latentkit_model* model, int n, uint64_t seed,
                                  float* latents, size_t latents_capacity) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(latents);
    if (latentkit_status s = check_count(fn, "n", n, std::numeric_limits<int>::max())) return s;
    const lk::LatentSpec& spec = model->model.latent();
    if (latentkit_status s = check_room(fn, "latents", n, spec.dims(), latents_capacity)) return s;
    const std::vector<float> z = lk::sample_latents(spec, n, seed);
    std::memcpy(latents, z.data(), z.size() * sizeof(float));
    return LATENTKIT_OK;
  });
}

void latentkit_default_grid_range(float* out_lo, float* out_hi) {
  // normal_quantile does not throw for 0.05 and 0.95; computed once.
  static const lk::Range range = lk::default_grid_range();
  if (out_lo) *out_lo = range.lo;
  if (out_hi) *out_hi = range.hi;
}

latentkit_status latentkit_grid(const latentkit_model* model, int rows, int cols, float x_lo,
                                float x_hi, float y_lo, float y_hi, float* latents,
                                size_t latents_capacity) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(latents);
    if (latentkit_status s = check_count(fn, "rows", rows, kMaxGridSide)) return s;
    if (latentkit_status s = check_count(fn, "cols", cols, kMaxGridSide)) return s;
    if (!std::isfinite(x_lo) || !std::isfinite(x_hi) || !std::isfinite(y_lo) ||
        !std::isfinite(y_hi)) {
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: ranges must be finite, got x %g..%g, y %g..%g",
                  fn, x_lo, x_hi, y_lo, y_hi);
    }
    const lk::LatentSpec& spec = model->model.latent();
    if (latentkit_status s =
            check_room(fn, "latents", rows * cols, spec.dims(), latents_capacity)) {
      return s;
    }
    lk::Range x{x_lo, x_hi}, y{y_lo, y_hi};
    if (x_lo == x_hi) latentkit_default_grid_range(&x.lo, &x.hi);
    if (y_lo == y_hi) latentkit_default_grid_range(&y.lo, &y.hi);
    const std::vector<float> z = lk::grid_latents(spec, rows, cols, x, y);
    std::memcpy(latents, z.data(), z.size() * sizeof(float));
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_latent_group_count(const latentkit_model* model, int* out_count) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(out_count);
    *out_count = static_cast<int>(model->model.latent().groups.size());
    return LATENTKIT_OK;
  });
}

namespace {
// The group `group` of `model`, or a failure naming the bounds.
latentkit_status find_group(const char* fn, const latentkit_model* model, int group, const lk::LatentGroup** out) {
  const std::vector<lk::LatentGroup>& groups = model->model.latent().groups;
  if (group < 0 || static_cast<std::size_t>(group) >= groups.size()) {
    return fail(LATENTKIT_INVALID_ARGUMENT, "%s: group %d is out of range (the model has %zu latent groups)", fn, group,
                groups.size());
  }
  *out = &groups[static_cast<std::size_t>(group)];
  return LATENTKIT_OK;
}
}  // namespace

latentkit_status latentkit_latent_group_info(const latentkit_model* model, int group, latentkit_latent_group* out_group) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(out_group);
    const lk::LatentGroup* g = nullptr;
    if (latentkit_status s = find_group(fn, model, group, &g)) return s;
    latentkit_latent_group info;
    std::memset(&info, 0, sizeof info);
    info.name = g->name.c_str();
    info.kind = g->kind == lk::LatentKind::categorical ? LATENTKIT_LATENT_CATEGORICAL : LATENTKIT_LATENT_GAUSSIAN;
    info.size = g->size;
    info.count = g->count;
    // The loader bounds the latent size by ModelLimits, far below INT_MAX.
    info.offset = static_cast<int>(lk::group_offset(model->model.latent(), group));
    info.dims = static_cast<int>(g->dims());
    info.label_count = static_cast<int>(g->labels.size());
    *out_group = info;
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_latent_group_components(const latentkit_model* model, int group, int* out_components) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(out_components);
    const lk::LatentGroup* g = nullptr;
    if (latentkit_status s = find_group(fn, model, group, &g)) return s;
    *out_components = g->mixture.components();
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_latent_group_label(const latentkit_model* model, int group, int category,
                                              const char** out_label) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(out_label);
    const lk::LatentGroup* g = nullptr;
    if (latentkit_status s = find_group(fn, model, group, &g)) return s;
    if (category < 0 || static_cast<std::size_t>(category) >= g->labels.size()) {
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: latent group %d has %zu labels, no label %d", fn, group,
                  g->labels.size(), category);
    }
    *out_label = g->labels[static_cast<std::size_t>(category)].c_str();
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_find_latent_group(const latentkit_model* model, const char* name, int* out_group) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(name);
    LK_REQUIRE_POINTER(out_group);
    *out_group = lk::find_group(model->model.latent(), name);
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_find_category(const latentkit_model* model, int group, const char* label_or_index,
                                         int* out_category) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(label_or_index);
    LK_REQUIRE_POINTER(out_category);
    const lk::LatentGroup* g = nullptr;
    if (latentkit_status s = find_group(fn, model, group, &g)) return s;
    *out_category = lk::find_category(*g, label_or_index);
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_set_category(const latentkit_model* model, int group, int variable, int category,
                                        float* latents, size_t latents_count, int n) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(latents);
    if (latentkit_status s = check_count(fn, "n", n, std::numeric_limits<int>::max())) return s;
    const lk::LatentSpec& spec = model->model.latent();
    if (latentkit_status s = check_room(fn, "latents", n, spec.dims(), latents_count)) return s;
    lk::set_category(spec, group, variable, category, latents, n);
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_category_grid(const latentkit_model* model, int group, int cols, float x_lo, float x_hi,
                                         float* latents, size_t latents_capacity) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(latents);
    if (latentkit_status s = check_count(fn, "cols", cols, kMaxGridSide)) return s;
    if (!std::isfinite(x_lo) || !std::isfinite(x_hi)) {
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: the range must be finite, got %g..%g", fn, x_lo, x_hi);
    }
    const lk::LatentGroup* g = nullptr;
    if (latentkit_status s = find_group(fn, model, group, &g)) return s;
    const lk::LatentSpec& spec = model->model.latent();
    if (latentkit_status s = check_room(fn, "latents", g->size * cols, spec.dims(), latents_capacity)) return s;
    lk::Range x{x_lo, x_hi};
    if (x_lo == x_hi) latentkit_default_grid_range(&x.lo, &x.hi);
    const std::vector<float> z = lk::category_grid_latents(spec, group, cols, x);
    std::memcpy(latents, z.data(), z.size() * sizeof(float));
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_prepare(latentkit_model* model, int batch) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    if (latentkit_status s = check_count(fn, "batch", batch, std::numeric_limits<int>::max())) {
      return s;
    }
    model->runner(lk::methods::decode).prepare(batch);
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_decode(latentkit_model* model, const float* latents,
                                  size_t latents_count, int batch, float* images,
                                  size_t images_capacity) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(latents);
    LK_REQUIRE_POINTER(images);
    if (latentkit_status s = check_count(fn, "batch", batch, std::numeric_limits<int>::max())) {
      return s;
    }
    return run_method(fn, model, lk::methods::decode, batch, {latents}, {latents_count}, {images},
                      {images_capacity});
  });
}

latentkit_status latentkit_sample_decode(latentkit_model* model, int n, uint64_t seed,
                                         float* latents, size_t latents_capacity, float* images,
                                         size_t images_capacity) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(images);
    if (latentkit_status s = check_count(fn, "n", n, std::numeric_limits<int>::max())) return s;
    lk::MethodRunner& decoder = model->runner(lk::methods::decode);
    if (latents != nullptr) {
      if (latentkit_status s = check_room(fn, "latents", n, decoder.method().input_elements(0), latents_capacity)) {
        return s;
      }
    }
    if (latentkit_status s = check_room(fn, "images", n, decoder.method().output_elements(0), images_capacity)) {
      return s;
    }
    const std::vector<float> z = lk::sample_latents(model->model.latent(), n, seed);
    const float* input = z.data();
    decoder.run_into(&input, n, &images);
    if (latents != nullptr) std::memcpy(latents, z.data(), z.size() * sizeof(float));
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_method_count(const latentkit_model* model, int* out_count) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(out_count);
    *out_count = static_cast<int>(model->model.methods().size());
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_method_name(const latentkit_model* model, int index, const char** out_name) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(out_name);
    const auto& methods = model->model.methods();
    if (index < 0 || static_cast<std::size_t>(index) >= methods.size()) {
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: index %d is outside 0..%zu", fn, index, methods.size() - 1);
    }
    *out_name = methods[static_cast<std::size_t>(index)].name.c_str();
    return LATENTKIT_OK;
  });
}

int latentkit_has_method(const latentkit_model* model, const char* name) {
  return model != nullptr && name != nullptr && model->model.find_method(name) != nullptr ? 1 : 0;
}

namespace {
latentkit_status find_method(const char* fn, const latentkit_model* model, const char* name, const lk::Method** out) {
  LK_REQUIRE_POINTER(model);
  LK_REQUIRE_POINTER(name);
  *out = &model->model.method(name);  // raises naming the model's methods
  return LATENTKIT_OK;
}

latentkit_role to_c_role(lk::Role role) {
  switch (role) {
    case lk::Role::latent: return LATENTKIT_ROLE_LATENT;
    case lk::Role::image: return LATENTKIT_ROLE_IMAGE;
    case lk::Role::latent_mean: return LATENTKIT_ROLE_LATENT_MEAN;
    case lk::Role::latent_log_variance: return LATENTKIT_ROLE_LATENT_LOG_VARIANCE;
  }
  return LATENTKIT_ROLE_LATENT;
}
}  // namespace

latentkit_status latentkit_method_arity(const latentkit_model* model, const char* method, int* out_inputs,
                                        int* out_outputs) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    const lk::Method* m = nullptr;
    if (latentkit_status s = find_method(fn, model, method, &m)) return s;
    if (out_inputs) *out_inputs = static_cast<int>(m->graph.inputs.size());
    if (out_outputs) *out_outputs = static_cast<int>(m->graph.outputs.size());
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_method_value(const latentkit_model* model, const char* method, int is_output, int index,
                                        latentkit_role* out_role, size_t* out_floats_per_item) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    const lk::Method* m = nullptr;
    if (latentkit_status s = find_method(fn, model, method, &m)) return s;
    const std::vector<lk::Role>& roles = is_output ? m->output_roles : m->input_roles;
    if (index < 0 || static_cast<std::size_t>(index) >= roles.size()) {
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: %s has %zu %s, no %d", fn, m->signature().c_str(), roles.size(),
                  is_output ? "outputs" : "inputs", index);
    }
    const auto i = static_cast<std::size_t>(index);
    if (out_role) *out_role = to_c_role(roles[i]);
    if (out_floats_per_item) {
      *out_floats_per_item = static_cast<std::size_t>(is_output ? m->output_elements(i) : m->input_elements(i));
    }
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_run(latentkit_model* model, const char* method, int batch, const float* const* inputs,
                               const size_t* input_counts, size_t input_count, float* const* outputs,
                               const size_t* output_capacities, size_t output_count) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(method);
    LK_REQUIRE_POINTER(inputs);
    LK_REQUIRE_POINTER(input_counts);
    LK_REQUIRE_POINTER(outputs);
    LK_REQUIRE_POINTER(output_capacities);
    if (latentkit_status s = check_count(fn, "batch", batch, std::numeric_limits<int>::max())) return s;
    // The signature bounds the counts; a caller's count beyond it is refused before it is used.
    if (input_count > 64 || output_count > 64) {
      return fail(LATENTKIT_INVALID_ARGUMENT, "%s: %zu inputs and %zu outputs is more than any method has", fn,
                  input_count, output_count);
    }
    return run_method(fn, model, method, batch, std::vector<const float*>(inputs, inputs + input_count),
                      std::vector<std::size_t>(input_counts, input_counts + input_count),
                      std::vector<float*>(outputs, outputs + output_count),
                      std::vector<std::size_t>(output_capacities, output_capacities + output_count));
  });
}

latentkit_status latentkit_encode(latentkit_model* model, const float* images, size_t images_count, int batch,
                                  float* means, size_t means_capacity, float* log_variances,
                                  size_t log_variances_capacity) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(images);
    LK_REQUIRE_POINTER(means);
    if (latentkit_status s = check_count(fn, "batch", batch, std::numeric_limits<int>::max())) return s;
    const lk::Method& m = model->runner(lk::methods::encode).method();
    if (m.output_roles.size() == 2) {
      LK_REQUIRE_POINTER(log_variances);
      return run_method(fn, model, lk::methods::encode, batch, {images}, {images_count}, {means, log_variances},
                        {means_capacity, log_variances_capacity});
    }
    // A plain autoencoder's code: a posterior with all its mass on one point, log-variance -inf.
    const int64_t dims = m.output_elements(0);
    if (log_variances != nullptr) {
      if (latentkit_status s = check_room(fn, "log_variances", batch, dims, log_variances_capacity)) return s;
    }
    if (latentkit_status s = run_method(fn, model, lk::methods::encode, batch, {images}, {images_count}, {means},
                                        {means_capacity})) {
      return s;
    }
    if (log_variances != nullptr) {
      std::fill(log_variances, log_variances + static_cast<std::size_t>(batch) * static_cast<std::size_t>(dims),
                -std::numeric_limits<float>::infinity());
    }
    return LATENTKIT_OK;
  });
}

latentkit_status latentkit_reconstruct(latentkit_model* model, const float* images, size_t images_count, int batch,
                                       float* reconstructions, size_t reconstructions_capacity) {
  const char* fn = __func__;
  return guarded(fn, [&] {
    LK_REQUIRE_POINTER(model);
    LK_REQUIRE_POINTER(images);
    LK_REQUIRE_POINTER(reconstructions);
    if (latentkit_status s = check_count(fn, "batch", batch, std::numeric_limits<int>::max())) return s;
    return run_method(fn, model, lk::methods::reconstruct, batch, {images}, {images_count}, {reconstructions},
                      {reconstructions_capacity});
  });
}

}  // extern "C"
