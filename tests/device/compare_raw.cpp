// Compares two files of raw little-endian float32 (latentkit-sample --save-latents /
// --save-images): same size, and every |a - b| <= TOLERANCE (0: the bytes must be identical).
// Prints one line: "identical" or "max |diff| X at index I (a, b)"; exit 0 when within tolerance,
// 1 when not, 2 on usage or I/O errors.
//   lk_compare_raw A B TOLERANCE
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace {
bool read_all(const char* path, std::vector<char>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s A B TOLERANCE\n", argv[0]);
    return 2;
  }
  std::vector<char> a, b;
  if (!read_all(argv[1], a) || !read_all(argv[2], b)) {
    std::fprintf(stderr, "lk_compare_raw: cannot read %s or %s\n", argv[1], argv[2]);
    return 2;
  }
  const double tolerance = std::atof(argv[3]);
  if (a.size() != b.size() || a.size() % 4 != 0) {
    std::printf("sizes differ: %zu and %zu bytes\n", a.size(), b.size());
    return 1;
  }
  if (a == b) {
    std::printf("identical (%zu values)\n", a.size() / 4);
    return 0;
  }
  const std::size_t n = a.size() / 4;
  double worst = -1;
  std::size_t at = 0;
  float va = 0, vb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    float x, y;
    std::memcpy(&x, &a[4 * i], 4);
    std::memcpy(&y, &b[4 * i], 4);
    const double d = (std::isnan(x) || std::isnan(y)) ? INFINITY : std::fabs(double(x) - double(y));
    if (d > worst) worst = d, at = i, va = x, vb = y;
  }
  std::printf("max |diff| %.3g at index %zu (%.9g vs %.9g) over %zu values\n", worst, at, va, vb, n);
  return worst <= tolerance && tolerance > 0 ? 0 : 1;
}
