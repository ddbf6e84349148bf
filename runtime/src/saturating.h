// Arithmetic on sizes that saturates at INT64_MAX instead of wrapping. The loader and the memory
// plan compute products of dimensions from untrusted files with these: a product that saturates
// is larger than every limit it is compared with, so it is refused rather than misread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

namespace latentkit::detail {

constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();

// a + b for a, b >= 0.
inline int64_t saturating_add(int64_t a, int64_t b) { return a > kSaturated - b ? kSaturated : a + b; }

// The product of non-negative factors; 0 if any is 0 (or negative).
inline int64_t saturating_product(std::initializer_list<int64_t> factors) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (f <= 0) return 0;
    p = p > kSaturated / f ? kSaturated : p * f;
  }
  return p;
}

}  // namespace latentkit::detail
