#include "latentkit/latents.h"

#include <cmath>
#include <string>

#include "latentkit/error.h"
#include "latentkit/rng.h"

namespace latentkit {

namespace {

// rng.h's specification of a weighted draw, to the letter: every operation is a double one that
// IEEE-754 rounds exactly, in this order (the file is compiled without fused multiply-adds).
int draw_weighted(const float* weights, int count, Rng& rng) {
  if (count == 1) return 0;
  double total = 0;
  for (int k = 0; k < count; ++k) total += static_cast<double>(weights[k]);
  const double u = rng.uniform() * total;
  double cumulative = 0;
  int k = 0;
  for (; k < count - 1; ++k) {
    cumulative += static_cast<double>(weights[k]);
    if (u < cumulative) break;
  }
  return k;
}

void sample_mixture(const GaussianMixture& m, int size, Rng& rng, std::vector<float>& z) {
  const int k = draw_weighted(m.weights.data(), m.components(), rng);
  const std::size_t row = static_cast<std::size_t>(k) * static_cast<std::size_t>(size);
  for (int d = 0; d < size; ++d) {
    const double mean = m.means[row + static_cast<std::size_t>(d)];
    const double sd = std::sqrt(static_cast<double>(m.variances[row + static_cast<std::size_t>(d)]));
    z.push_back(static_cast<float>(mean + sd * rng.normal()));
  }
}

}  // namespace

std::vector<float> sample_latents(const LatentSpec& spec, int n, uint64_t seed) {
  if (n < 0) throw Error(ErrorCode::invalid_argument, "cannot sample " + std::to_string(n) + " latents");
  Rng rng(seed);
  std::vector<float> z;
  z.reserve(static_cast<std::size_t>(n) * spec.dims());
  for (int i = 0; i < n; ++i) {
    for (const LatentGroup& g : spec.groups) {
      if (g.kind == LatentKind::gaussian && g.mixture.components() > 0) {
        sample_mixture(g.mixture, g.size, rng, z);
      } else if (g.kind == LatentKind::gaussian) {
        for (int64_t d = 0; d < g.dims(); ++d) z.push_back(static_cast<float>(rng.normal()));
      } else {
        for (int c = 0; c < g.count; ++c) {
          const uint64_t hot =
              g.category_weights.empty()
                  ? rng.below(static_cast<uint64_t>(g.size))
                  : static_cast<uint64_t>(draw_weighted(
                        g.category_weights.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(g.size),
                        g.size, rng));
          for (int k = 0; k < g.size; ++k) z.push_back(k == static_cast<int>(hot) ? 1.0f : 0.0f);
        }
      }
    }
  }
  return z;
}

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) {
    throw Error(ErrorCode::invalid_argument, "normal quantile needs 0 < p < 1, got " + std::to_string(p));
  }
  // Acklam's rational approximation, refined by one Halley step on erfc.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double p_low = 0.02425;
  double x;
  if (p < p_low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - p_low) {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

Range default_grid_range() {
  return {static_cast<float>(normal_quantile(0.05)), static_cast<float>(normal_quantile(0.95))};
}

namespace {

// Where cell i of n along an axis lies: evenly from r.lo to r.hi, the middle for one cell.
float along(Range r, int i, int n) {
  return n == 1 ? 0.5f * (r.lo + r.hi) : r.lo + (r.hi - r.lo) * static_cast<float>(i) / static_cast<float>(n - 1);
}

// The latent every grid cell starts from: Gaussian dimensions at 0 (the prior's mean), each
// categorical group on its first category (a valid one-hot, the decoder was never trained on
// all-zero groups).
std::vector<float> base_latent(const LatentSpec& spec) {
  std::vector<float> base(static_cast<std::size_t>(spec.dims()), 0.0f);
  std::size_t offset = 0;
  for (const LatentGroup& g : spec.groups) {
    if (g.kind == LatentKind::categorical) {
      for (int k = 0; k < g.count; ++k) base[offset + static_cast<std::size_t>(k) * g.size] = 1.0f;
    }
    offset += static_cast<std::size_t>(g.dims());
  }
  return base;
}

void check_grid_side(int rows, int cols) {
  if (rows < 1 || cols < 1) {
    throw Error(ErrorCode::invalid_argument,
                "a grid needs at least 1 row and 1 column, got " + std::to_string(rows) + "x" + std::to_string(cols));
  }
}

}  // namespace

std::vector<float> grid_latents(const LatentSpec& spec, int rows, int cols, Range x, Range y) {
  check_grid_side(rows, cols);
  if (spec.groups.empty() || spec.groups[0].kind != LatentKind::gaussian || spec.groups[0].size < 2) {
    throw Error(ErrorCode::invalid_argument,
                "a latent grid needs a model whose first latent group has at least 2 Gaussian dimensions");
  }
  const std::vector<float> base = base_latent(spec);
  std::vector<float> z;
  z.reserve(static_cast<std::size_t>(rows) * cols * base.size());
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const std::size_t start = z.size();
      z.insert(z.end(), base.begin(), base.end());
      z[start] = along(x, c, cols);
      z[start + 1] = along(y, rows - 1 - r, rows);  // top row is y.hi
    }
  }
  return z;
}

int64_t group_offset(const LatentSpec& spec, int group) {
  if (group < 0 || group >= static_cast<int>(spec.groups.size())) {
    throw Error(ErrorCode::invalid_argument, "latent group " + std::to_string(group) + " does not exist (the model has " +
                                                 std::to_string(spec.groups.size()) + ")");
  }
  int64_t offset = 0;
  for (int g = 0; g < group; ++g) offset += spec.groups[static_cast<std::size_t>(g)].dims();
  return offset;
}

void set_category(const LatentSpec& spec, int group, int variable, int category, float* latents, int n) {
  const int64_t offset = group_offset(spec, group);
  const LatentGroup& g = spec.groups[static_cast<std::size_t>(group)];
  const std::string name = "latent group " + std::to_string(group) + (g.name.empty() ? "" : " ('" + g.name + "')");
  if (g.kind != LatentKind::categorical) {
    throw Error(ErrorCode::invalid_argument, name + " is Gaussian, not categorical: it has no categories to set");
  }
  if (variable < 0 || variable >= g.count) {
    throw Error(ErrorCode::invalid_argument, name + " has " + std::to_string(g.count) + " categorical variable(s), no " +
                                                 std::to_string(variable));
  }
  if (category < 0 || category >= g.size) {
    throw Error(ErrorCode::invalid_argument, name + " has categories 0.." + std::to_string(g.size - 1) + ", not " +
                                                 std::to_string(category));
  }
  if (n < 0) throw Error(ErrorCode::invalid_argument, "cannot set a category in " + std::to_string(n) + " latents");
  if (n > 0 && latents == nullptr) throw Error(ErrorCode::invalid_argument, "no latents to set a category in");
  const std::size_t dims = static_cast<std::size_t>(spec.dims());
  for (int i = 0; i < n; ++i) {
    float* one_hot = latents + static_cast<std::size_t>(i) * dims + static_cast<std::size_t>(offset) +
                     static_cast<std::size_t>(variable) * static_cast<std::size_t>(g.size);
    for (int k = 0; k < g.size; ++k) one_hot[k] = k == category ? 1.0f : 0.0f;
  }
}

int find_group(const LatentSpec& spec, const std::string& name) {
  std::string categorical;
  for (std::size_t g = 0; g < spec.groups.size(); ++g) {
    if (spec.groups[g].name == name) return static_cast<int>(g);
    if (spec.groups[g].kind == LatentKind::categorical) {
      categorical += (categorical.empty() ? "" : ", ") + spec.groups[g].name;
    }
  }
  throw Error(ErrorCode::invalid_argument, "the model has no latent group '" + name + "' (its categorical groups: " +
                                               (categorical.empty() ? "none" : categorical) + ")");
}

int find_category(const LatentGroup& group, const std::string& label_or_index) {
  for (std::size_t k = 0; k < group.labels.size(); ++k) {
    if (group.labels[k] == label_or_index) return static_cast<int>(k);
  }
  auto is_number = [](const std::string& text) {
    return !text.empty() && text.size() <= 9 && text.find_first_not_of("0123456789") == std::string::npos;
  };
  // When the labels are numbers themselves (a digit group), a number is a label only: "7" must not
  // fall back to category 7 of a model that has no category drawing a 7.
  bool numbered = false;
  for (const std::string& label : group.labels) numbered = numbered || is_number(label);
  if (!numbered && is_number(label_or_index)) {
    const int index = std::stoi(label_or_index);
    if (index < group.size) return index;
  }
  std::string labels;
  for (const std::string& label : group.labels) labels += (labels.empty() ? "" : ", ") + label;
  throw Error(ErrorCode::invalid_argument,
              "latent group '" + group.name + "' has no category '" + label_or_index + "' (" +
                  (labels.empty() ? "" : "its labels: " + labels + (numbered ? "" : "; ")) +
                  (numbered ? "" : "or an index 0.." + std::to_string(group.size - 1)) + ")");
}

std::vector<float> category_grid_latents(const LatentSpec& spec, int group, int cols, Range x) {
  const int64_t offset = group_offset(spec, group);
  const LatentGroup& swept = spec.groups[static_cast<std::size_t>(group)];
  if (swept.kind != LatentKind::categorical) {
    throw Error(ErrorCode::invalid_argument, "latent group '" + swept.name + "' is Gaussian: only a categorical group "
                                                 "gives one row per category");
  }
  check_grid_side(swept.size, cols);
  if (spec.groups[0].kind != LatentKind::gaussian || spec.groups[0].size < 1) {
    throw Error(ErrorCode::invalid_argument,
                "a grid over categories needs a model whose first latent group is Gaussian (for the columns)");
  }
  const std::vector<float> base = base_latent(spec);
  std::vector<float> z;
  z.reserve(static_cast<std::size_t>(swept.size) * cols * base.size());
  for (int category = 0; category < swept.size; ++category) {
    for (int c = 0; c < cols; ++c) {
      const std::size_t start = z.size();
      z.insert(z.end(), base.begin(), base.end());
      z[start] = along(x, c, cols);
      float* one_hots = z.data() + start + static_cast<std::size_t>(offset);
      for (int v = 0; v < swept.count; ++v) {
        for (int k = 0; k < swept.size; ++k) one_hots[v * swept.size + k] = k == category ? 1.0f : 0.0f;
      }
    }
  }
  return z;
}

std::vector<float> interpolate_latents(const std::vector<float>& a, const std::vector<float>& b, int steps) {
  if (a.size() != b.size() || a.empty()) {
    throw Error(ErrorCode::invalid_argument, "interpolation needs two latents of the same non-zero size");
  }
  if (steps < 2) throw Error(ErrorCode::invalid_argument, "interpolation needs at least 2 steps");
  std::vector<float> z;
  z.reserve(a.size() * steps);
  for (int s = 0; s < steps; ++s) {
    const float t = static_cast<float>(s) / static_cast<float>(steps - 1);
    for (std::size_t i = 0; i < a.size(); ++i) z.push_back(a[i] + t * (b[i] - a[i]));
  }
  return z;
}

}  // namespace latentkit
