#include "latentkit/graph.h"

#include <limits>


#include <cstring>

namespace latentkit {

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::float16: return "float16";
    case DType::int8: return "int8";
    case DType::int32: return "int32";
  }
  return "?";
}

std::size_t size_of(DType dtype) {
  switch (dtype) {
    case DType::float32: return 4;
    case DType::float16: return 2;
    case DType::int8: return 1;
    case DType::int32: return 4;
  }
  return 0;
}

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t conv2d_output_size(int64_t in, int64_t kernel, int stride, int dilation, int pad_before,
                           int pad_after) {
  const int64_t span = in + pad_before + pad_after - int64_t{dilation} * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

int64_t transpose_conv2d_output_size(int64_t in, int64_t kernel, int stride, int pad_before,
                                     int pad_after, int adjustment) {
  const int64_t size = int64_t{stride} * (in - 1) + kernel - pad_before - pad_after + adjustment;
  return size < 0 ? 0 : size;
}

const Metric* Provenance::metric(const std::string& name) const {
  for (const Metric& m : metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

float half_to_float(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1Fu;
  uint32_t mantissa = half & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);  // infinity or NaN
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal: shift the mantissa up until it is normal.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3FFu) << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

uint16_t float_to_half(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return sign | 0x7E00u;           // NaN
  if (abs >= 0x477FF000u) return sign | 0x7C00u;          // rounds to infinity
  if (abs < 0x33000001u) return sign;                     // rounds to zero
  uint32_t exponent = abs >> 23;
  uint32_t mantissa = (abs & 0x7FFFFFu) | 0x800000u;      // with the implicit bit
  // Shift so that 10 mantissa bits remain (more for subnormal halves), rounding to nearest even.
  const int shift = exponent >= 113 ? 13 : static_cast<int>(126 - exponent);
  const uint32_t half_exponent = exponent >= 113 ? exponent - 112 : 0;
  const uint32_t rest = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
  uint32_t result = mantissa >> shift;
  if (rest > halfway || (rest == halfway && (result & 1u))) ++result;
  // A normal half stores the mantissa without its implicit bit; a carry moves into the exponent.
  if (half_exponent != 0) result = (half_exponent << 10) + (result - 0x400u);
  return sign | static_cast<uint16_t>(result);
}

// to_string(OpKind), all_op_kinds, is_weighted, multiply_adds and describe_options: the op table
// (ops/op_table.cpp).

int LatentSpec::dims() const {
  int64_t n = 0;
  for (const LatentGroup& g : groups) {
    n += g.dims();
    if (n >= std::numeric_limits<int>::max()) return std::numeric_limits<int>::max();
  }
  return static_cast<int>(n);
}

}  // namespace latentkit
