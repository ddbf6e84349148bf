// latentkit's random number generator: a specification, not just an implementation.
//
// Sampling must give the same latents for the same seed on x86 and ARM, with any compiler, so
// the generator is defined here exactly and implemented with integer arithmetic and IEEE-754
// double operations that are exactly rounded everywhere (+, -, *, /, sqrt). Its logarithm is
// our own for the same reason: libm's log may differ in the last bit between platforms.
//
//   next_u64:  SplitMix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15, then
//              z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9; z = (z ^ z >> 27) * 0x94D049BB133111EB;
//              return z ^ z >> 31.
//   uniform:   ((next_u64 >> 11) + 0.5) * 2^-53, in (0, 1), never 0 or 1.
//   normal:    Marsaglia's polar method on u = 2 uniform - 1, v = 2 uniform - 1, rejecting
//              s = u^2 + v^2 >= 1; returns u * f then v * f with f = sqrt(-2 ln(s) / s).
//
// A weighted draw of an index among K with weights w_0 .. w_{K-1}: k = 0 when K = 1 (no draw).
// Otherwise, in double, t = w_0 + w_1 + ... + w_{K-1} summed in index order, u = uniform() * t,
// and k is the first index with u < w_0 + ... + w_k (the same running sum), or K - 1 when there
// is none.
//
// Sampling (latents.cpp) draws each example's groups in order from one generator: a Gaussian
// group `size` normals; a categorical group one below(size) per variable, or with category
// weights one weighted draw per variable over that variable's row; a Gaussian mixture group
// (weights w, means mu, variances var; K components over `size` dimensions):
//   component: a weighted draw over w.
//   values:    for d = 0 .. size - 1, float(double(mu[k][d]) + sqrt(double(var[k][d])) * normal()),
//              each rounded once (no fused multiply-add), the float conversion to nearest.
#pragma once

#include <cstdint>

namespace latentkit {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next_u64();
  double uniform();
  double normal();
  // Uniform integer in [0, n), n > 0, without modulo bias.
  uint64_t below(uint64_t n);

 private:
  uint64_t state_;
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

// Natural logarithm of x > 0, from IEEE-exact operations only (see above). Within a few ulp of
// the true value (tests check 4); what matters here is that it is the same everywhere.
double portable_log(double x);

}  // namespace latentkit
