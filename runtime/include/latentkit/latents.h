// Where latents come from: prior samples, grids over two dimensions, interpolation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "latentkit/graph.h"

namespace latentkit {

// `n` latent vectors drawn from the model's prior, row-major (n x spec.dims()). Gaussian groups
// are standard normal (latentkit::Rng::normal), or drawn from their mixture prior when they have
// one; a categorical group gets one uniformly chosen category set to 1 (rng.h specifies it all). The same seed gives bit-identical latents on every platform.
std::vector<float> sample_latents(const LatentSpec& spec, int n, uint64_t seed);

struct Range {
  float lo = 0, hi = 0;
};

// The inverse of the standard normal CDF at p, 0 < p < 1 (|error| < 1.2e-8).
double normal_quantile(double p);

// The default grid range: the 5% and 95% quantiles of N(0, 1), as in the seed-000 tutorial.
Range default_grid_range();

// A rows x cols grid of latents in row-major order. The first latent dimension varies along X
// (left to right, x.lo to x.hi), the second along Y (top to bottom, y.hi to y.lo, like a plot
// axis); all other Gaussian dimensions stay 0, and each categorical group is on its first
// category. Needs a model with at least 2 Gaussian dimensions first. A group with a mixture prior
// is gridded the same way, around 0 over the given (or default) range, not around its components:
// the grid shows the decoder's latent space, which the mixture only samples from.
std::vector<float> grid_latents(const LatentSpec& spec, int rows, int cols, Range x, Range y);

// Puts variable `variable` of latent group `group` on category `category` (a one-hot) in each of
// the `n` latents at `latents` (n x spec.dims() floats): what "draw a 7" means for a model whose
// decoder takes a categorical code. Throws Error(invalid_argument) naming the group and the
// bounds when the group is not categorical or an index is out of range; nothing is written then.
void set_category(const LatentSpec& spec, int group, int variable, int category, float* latents, int n);

// The first float of group `group` within a latent vector.
int64_t group_offset(const LatentSpec& spec, int group);

// The index of the latent group called `name`; throws Error(invalid_argument) listing the
// model's categorical groups when there is none.
int find_group(const LatentSpec& spec, const std::string& name);

// The category of `group` that `label_or_index` names: one of its labels ("red", "7"), else a
// decimal index (0..size-1). A label wins over an index of the same spelling; in a group whose
// labels are numbers (a digit group, whose category 7 need not draw a 7) a number is a label only.
// Throws Error(invalid_argument) listing the labels when neither matches.
int find_category(const LatentGroup& group, const std::string& label_or_index);

// One row per category of categorical group `group` (variable 0; a group of several variables
// sets them all to the row's category), `cols` columns with the first Gaussian dimension going
// from x.lo to x.hi (the middle of x for one column); every other Gaussian dimension is 0 and
// every other categorical group on its first category, as in grid_latents. Needs a Gaussian
// group first, as grid_latents, of at least 1 dimension.
std::vector<float> category_grid_latents(const LatentSpec& spec, int group, int cols, Range x);

// `steps` latents evenly spaced on the segment from a to b, both ends included.
std::vector<float> interpolate_latents(const std::vector<float>& a, const std::vector<float>& b,
                                       int steps);

}  // namespace latentkit
