// The pieces the ops' rules are made of, with the loader's wording (tests match it).
#pragma once

#include <string>
#include <vector>

#include "latentkit/graph.h"
#include "refusal.h"

namespace latentkit::ops {

inline void expect_constant(const Tensor& t, bool constant, const std::string& what, const std::string& role) {
  if (t.is_constant() != constant) {
    detail::malformed(what + ": its " + role + " '" + t.name + "' must " + (constant ? "" : "not ") + "be a constant");
  }
}

inline void expect_dtypes(const Tensor& x, DType x_dtype, const Tensor& y, DType y_dtype, const std::string& what) {
  if (x.dtype != x_dtype || y.dtype != y_dtype) {
    detail::malformed(what + " maps " + to_string(x_dtype) + " to " + to_string(y_dtype) + ", but its input '" + x.name +
                      "' is " + to_string(x.dtype) + " and its output '" + y.name + "' is " + to_string(y.dtype));
  }
}

// int32 activations are max_pool2d's indices, which only max_unpool2d reads.
inline void expect_not_indices(const Tensor& x, const std::string& what) {
  if (x.dtype == DType::int32) {
    detail::malformed(what + ": its input '" + x.name + "' is int32 (indices); only max_unpool2d reads indices");
  }
}

// Relu, reshape, max pooling and nearest upsampling keep the encoding: float32, or int8 with the
// same scale and zero point.
inline void expect_same_encoding(const Tensor& x, const Tensor& y, const std::string& what) {
  expect_not_indices(x, what);
  expect_dtypes(x, x.dtype, y, x.dtype, what);
  if (x.dtype == DType::int8 && (x.quantization.scales != y.quantization.scales ||
                                 x.quantization.zero_points != y.quantization.zero_points)) {
    detail::malformed(what + ": int8 input '" + x.name + "' and output '" + y.name +
                      "' must share their scale and zero point");
  }
}

inline void expect_shape(const Tensor& t, const std::vector<int64_t>& shape, const std::string& what,
                         const std::string& role) {
  if (t.shape != shape) {
    detail::malformed(what + ": " + role + " '" + t.name + "' has shape " + detail::shape_string(t.shape) +
                      ", expected " + detail::shape_string(shape));
  }
}

// An element-wise op from x_dtype to y_dtype: the output has the input's shape.
inline void check_elementwise(const std::vector<Tensor>& tensors, const Op& op, DType x_dtype, DType y_dtype,
                              const std::string& what) {
  const Tensor& x = tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = tensors[static_cast<std::size_t>(op.outputs[0])];
  expect_dtypes(x, x_dtype, y, y_dtype, what);
  expect_shape(y, x.shape, what, "output");
}

}  // namespace latentkit::ops
