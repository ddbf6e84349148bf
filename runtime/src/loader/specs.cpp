// The latent and image specs, and the provenance.
#include <cmath>

#include "loader/loader.h"
#include "refusal.h"
#include "saturating.h"

namespace latentkit::loader {

using detail::beyond_limit;
using detail::fail;
using detail::malformed;
using detail::shape_string;

namespace {

// Every value of `values` finite, and positive when `positive`; a message naming the first that
// is not.
void check_values(const flatbuffers::Vector<float>& values, bool positive, const std::string& what) {
  for (uint32_t i = 0; i < values.size(); ++i) {
    const float v = values.Get(i);
    if (!std::isfinite(v) || (positive && !(v > 0))) {
      malformed(what + " " + std::to_string(i) + " is " + std::to_string(v) +
                (positive ? " (must be finite and positive)" : " (must be finite)"));
    }
  }
}

// The rules of graph.h's GaussianMixture. Sampling indexes means and variances by component
// and dimension without checking, so every size must agree here.
GaussianMixture read_mixture(Context& c, const fb::GaussianMixture* in, int size, const std::string& named) {
  if (in == nullptr) malformed(named + " is a Gaussian mixture without its mixture (weights, means, variances)");
  const uint32_t k = in->weights() == nullptr ? 0 : in->weights()->size();
  if (k == 0) malformed(named + " is a Gaussian mixture with no components");
  if (k > static_cast<uint32_t>(c.limits.max_dimension)) {
    malformed(named + " has " + std::to_string(k) + " mixture components (allowed 1.." +
              std::to_string(c.limits.max_dimension) + ")");
  }
  const uint64_t expected = uint64_t{k} * static_cast<uint64_t>(size);
  auto check_size = [&](const flatbuffers::Vector<float>* v, const char* field) {
    const uint64_t got = v == nullptr ? 0 : v->size();
    if (got != expected) {
      malformed(named + "'s mixture has " + std::to_string(got) + " " + field + " for " + std::to_string(k) +
                " components of " + std::to_string(size) + " dimensions (needs " + std::to_string(expected) + ")");
    }
  };
  check_size(in->means(), "means");
  check_size(in->variances(), "variances");
  check_values(*in->weights(), true, named + "'s mixture weight");
  check_values(*in->means(), false, named + "'s mixture mean");
  check_values(*in->variances(), true, named + "'s mixture variance");
  double sum = 0;
  for (uint32_t i = 0; i < k; ++i) sum += in->weights()->Get(i);
  if (!(std::fabs(sum - 1.0) <= 1e-4)) {
    malformed(named + "'s mixture weights sum to " + std::to_string(sum) + ", not 1");
  }
  GaussianMixture m;
  m.weights.assign(in->weights()->begin(), in->weights()->end());
  m.means.assign(in->means()->begin(), in->means()->end());
  m.variances.assign(in->variances()->begin(), in->variances()->end());
  return m;
}

// The rules of graph.h's category_weights: sampling walks each variable's row by index, so the
// size must agree, and a row that sums to 1 with a positive entry always yields a category.
std::vector<float> read_category_weights(const flatbuffers::Vector<float>& in, const LatentGroup& group,
                                         const std::string& named) {
  const uint64_t expected = static_cast<uint64_t>(group.count) * static_cast<uint64_t>(group.size);
  if (in.size() != expected) {
    malformed(named + " has " + std::to_string(in.size()) + " category weights for " + std::to_string(group.count) +
              " variable(s) of " + std::to_string(group.size) + " categories (needs " + std::to_string(expected) + ")");
  }
  for (uint32_t i = 0; i < in.size(); ++i) {
    const float w = in.Get(i);
    if (!std::isfinite(w) || w < 0) {
      malformed(named + "'s category weight " + std::to_string(i) + " is " + std::to_string(w) +
                " (must be finite and not negative)");
    }
  }
  for (int v = 0; v < group.count; ++v) {
    double sum = 0;
    for (int k = 0; k < group.size; ++k) sum += in.Get(static_cast<uint32_t>(v * group.size + k));
    if (!(std::fabs(sum - 1.0) <= 1e-4)) {
      malformed(named + "'s category weights of variable " + std::to_string(v) + " sum to " + std::to_string(sum) +
                ", not 1");
    }
  }
  return std::vector<float>(in.begin(), in.end());
}

}  // namespace

// The rules of graph.h's LatentGroup: sampling, grids and the C API write exactly
// spec.dims() values per example, group by group, so the groups must describe exactly the
// decoder input.
void read_latent(Context& c, LatentSpec& spec) {
  // Absent in a file none of whose methods takes or gives latents (check_roles).
  const fb::LatentSpec* latent = c.model.latent();
  if (latent == nullptr) return;
  if (latent->groups() == nullptr || latent->groups()->size() == 0) malformed("the file's latent spec has no groups");
  if (latent->groups()->size() > static_cast<uint32_t>(c.limits.max_dimension)) {
    malformed("the latent spec has " + std::to_string(latent->groups()->size()) + " groups");
  }
  int64_t total = 0;
  for (uint32_t i = 0; i < latent->groups()->size(); ++i) {
    const fb::LatentGroup* g = latent->groups()->Get(i);
    LatentGroup group;
    const std::string what = "latent group " + std::to_string(i);
    group.name = c.text(g->name(), "the name of " + what);
    const std::string named = what + " '" + group.name + "'";
    if (g->kind() == fb::LatentKind::GAUSSIAN || g->kind() == fb::LatentKind::GAUSSIAN_MIXTURE) {
      group.kind = LatentKind::gaussian;
    } else if (g->kind() == fb::LatentKind::CATEGORICAL) {
      group.kind = LatentKind::categorical;
    } else {
      fail(ErrorCode::unsupported_model, named + " has unknown kind " + std::to_string(static_cast<int>(g->kind())));
    }
    if (g->size() < 1 || g->size() > c.limits.max_dimension) {
      malformed(named + " has size " + std::to_string(g->size()) + " (allowed 1.." +
                std::to_string(c.limits.max_dimension) + ")");
    }
    if (group.kind == LatentKind::gaussian && g->count() != 1) {
      malformed(named + " is Gaussian with count " + std::to_string(g->count()) +
                "; a Gaussian group has count 1 (its size is its number of dimensions)");
    }
    if (g->count() < 1 || g->count() > c.limits.max_dimension) {
      malformed(named + " has count " + std::to_string(g->count()) + " (allowed 1.." +
                std::to_string(c.limits.max_dimension) + ")");
    }
    group.size = g->size();
    group.count = g->count();
    total = detail::saturating_add(total, group.dims());
    if (total > c.limits.max_dimension) {
      malformed("the latent spec has more than " + std::to_string(c.limits.max_dimension) + " dimensions (at " +
                named + ", " + std::to_string(group.size) + " x " + std::to_string(group.count) + ")");
    }
    if (g->labels() != nullptr && g->labels()->size() != 0) {
      if (group.kind == LatentKind::gaussian) malformed(named + " is Gaussian but has labels; labels name categories");
      if (g->labels()->size() != static_cast<uint32_t>(group.size)) {
        malformed(named + " has " + std::to_string(g->labels()->size()) + " labels for " +
                  std::to_string(group.size) + " categories (give one per category, or none)");
      }
      for (uint32_t k = 0; k < g->labels()->size(); ++k) {
        group.labels.push_back(c.text(g->labels()->Get(k), "label " + std::to_string(k) + " of " + named));
      }
    }
    if (g->kind() == fb::LatentKind::GAUSSIAN_MIXTURE) {
      group.mixture = read_mixture(c, g->mixture(), group.size, named);
    } else if (g->mixture() != nullptr) {
      malformed(named + " has a mixture but is not of kind GAUSSIAN_MIXTURE");
    }
    if (g->category_weights() != nullptr && g->category_weights()->size() != 0) {
      if (group.kind != LatentKind::categorical) malformed(named + " is Gaussian but has category weights");
      group.category_weights = read_category_weights(*g->category_weights(), group, named);
    }
    spec.groups.push_back(std::move(group));
  }
}

void read_image(Context& c, ImageSpec& spec) {
  // Absent in a file none of whose methods takes or gives images (check_roles).
  const fb::ImageSpec* image = c.model.image();
  if (image == nullptr) return;
  for (const auto& [value, name] : {std::pair{image->height(), "height"}, std::pair{image->width(), "width"},
                                    std::pair{image->channels(), "channels"}}) {
    if (value < 1 || value > c.limits.max_dimension) {
      malformed(std::string("the image spec has ") + name + " " + std::to_string(value) + " (allowed 1.." +
                std::to_string(c.limits.max_dimension) + ")");
    }
  }
  spec.height = image->height();
  spec.width = image->width();
  spec.channels = image->channels();
  if (image->range() == fb::ValueRange::UNIT) {
    spec.range = ValueRange::unit;
  } else if (image->range() == fb::ValueRange::SYMMETRIC) {
    spec.range = ValueRange::symmetric;
  } else {
    malformed("the image spec has unknown value range " + std::to_string(static_cast<int>(image->range())));
  }
}

void read_provenance(Context& c, Provenance& p) {
  const fb::Provenance* in = c.model.provenance();
  if (in == nullptr) return;
  p.model_family = c.text(in->model_family(), "provenance model_family");
  p.dataset = c.text(in->dataset(), "provenance dataset");
  p.epochs = in->epochs();
  p.trainer_version = c.text(in->trainer_version(), "provenance trainer_version");
  p.created_utc = c.text(in->created_utc(), "provenance created_utc");
  p.quantization = c.text(in->quantization(), "provenance quantization");
  for (const auto& [count, what] : {std::pair{in->metrics() ? in->metrics()->size() : 0u, "metrics"},
                                    std::pair{in->labels() ? in->labels()->size() : 0u, "labels"}}) {
    if (count > kMaxListEntries) {
      malformed("the provenance has " + std::to_string(count) + " " + what + " (limit " +
                std::to_string(kMaxListEntries) + ")");
    }
  }
  if (in->metrics() != nullptr) {
    for (uint32_t i = 0; i < in->metrics()->size(); ++i) {
      const fb::Metric* m = in->metrics()->Get(i);
      p.metrics.push_back({c.text(m->name(), "the name of provenance metric " + std::to_string(i)), m->value()});
    }
  }
  if (in->labels() != nullptr) {
    for (uint32_t i = 0; i < in->labels()->size(); ++i) {
      p.labels.push_back(c.text(in->labels()->Get(i), "provenance label " + std::to_string(i)));
    }
  }
}

}  // namespace latentkit::loader
