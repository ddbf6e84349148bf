// See rng.h for the specification. This file is compiled with -ffp-contract=off so that no
// compiler turns a * b + c into a fused multiply-add on one platform and not on another.
#include "latentkit/rng.h"

#include <cmath>

namespace latentkit {

uint64_t Rng::next_u64() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double Rng::uniform() {
  return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0);  // s > 0 always: uniform() never returns exactly 0.5
  const double f = std::sqrt(-2.0 * portable_log(s) / s);
  spare_normal_ = v * f;
  has_spare_ = true;
  return u * f;
}

uint64_t Rng::below(uint64_t n) {
  // Reject the top partial block so that every residue is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do {
    r = next_u64();
  } while (r >= limit);
  return r % n;
}

double portable_log(double x) {
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(t), t = (m - 1) / (m + 1), whose
  // odd series converges fast because |t| < 0.172. frexp and ldexp are exact bit operations.
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  const double t = (m - 1.0) / (m + 1.0);
  const double t2 = t * t;
  double series = 0.0;
  for (int k = 12; k >= 1; --k) series = (2.0 / (2 * k + 1)) + t2 * series;
  const double log_m = t * (2.0 + t2 * series);
  // ln 2 split so that e * ln2_hi is exact for any double exponent.
  const double ln2_hi = 6.93147180369123816490e-01;
  const double ln2_lo = 1.90821492927058770002e-10;
  return e * ln2_hi + (e * ln2_lo + log_m);
}

}  // namespace latentkit
