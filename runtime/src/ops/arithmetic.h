// The arithmetic of the reference kernels. The weighted ops' loops are written once; what a
// multiply-accumulate and the final store mean comes from one of these two policies.
//
// Float ops accumulate in double: the oracle should be more accurate than the backends it
// checks, so that a difference measures their rounding error and not its own, and the result
// does not depend on the summation order a compiler or a future refactoring picks. Integer ops
// (int8 activations) follow the arithmetic that schema/latentkit.fbs defines, which is the
// oracle for XNNPACK's.
#pragma once

#include <cmath>
#include <cstdint>

namespace latentkit::ops {

// Float ops: float32 in and out, accumulated in double, bias in float.
struct FloatArithmetic {
  using Input = float;
  using Weight = float;
  using Output = float;
  using Accumulator = double;
  const float* bias = nullptr;  // per output channel, or null

  double start(int64_t channel) const { return bias ? bias[channel] : 0.0; }
  void add(double& acc, float x, float w) const { acc += double{x} * w; }
  float finish(double acc, int64_t) const { return static_cast<float>(acc); }
};

// A rounded float as int8, saturating. NaN (a NaN latent reaching a quantize op) has no int8
// value; it becomes -128 rather than the undefined behaviour of converting it.
inline int8_t saturate_to_int8(float rounded) {
  if (!(rounded >= -128.0f)) return -128;
  if (rounded > 127.0f) return 127;
  return static_cast<int8_t>(rounded);
}

// Integer ops (schema/latentkit.fbs): int8 in and out, int32 accumulation and bias,
// requantised with one float32 multiplier per output channel, rounded half to even.
struct IntegerArithmetic {
  using Input = int8_t;
  using Weight = int8_t;
  using Output = int8_t;
  using Accumulator = int32_t;
  const int32_t* bias = nullptr;       // per output channel, or null
  const float* multipliers = nullptr;  // s_x * s_w[c] / s_y per output channel
  int32_t input_zero = 0, output_zero = 0;

  int32_t start(int64_t channel) const { return bias ? bias[channel] : 0; }
  void add(int32_t& acc, int8_t x, int8_t w) const { acc += (int32_t{x} - input_zero) * int32_t{w}; }
  int8_t finish(int32_t acc, int64_t channel) const {
    const float scaled = std::nearbyint(static_cast<float>(acc) * multipliers[channel]);
    return saturate_to_int8(scaled + static_cast<float>(output_zero));
  }
};

}  // namespace latentkit::ops
