#include "ops/window.h"

#include "ops/rules.h"
#include "saturating.h"

namespace latentkit::ops {

using detail::malformed;
using detail::shape_string;

void check_window(uint32_t index, const ModelLimits& limits, int stride_h, int stride_w, int pad_top, int pad_left,
                  int pad_bottom, int pad_right) {
  for (int v : {stride_h, stride_w}) {
    if (v < 1 || v > limits.max_dimension) malformed("operator " + std::to_string(index) + " has stride " + std::to_string(v));
  }
  for (int v : {pad_top, pad_left, pad_bottom, pad_right}) {
    if (v < 0 || v > limits.max_dimension) malformed("operator " + std::to_string(index) + " has padding " + std::to_string(v));
  }
}

void check_window_input(const Tensor& x, const Tensor& w, const std::string& what) {
  if (x.shape.size() != 3) {
    malformed(what + ": input '" + x.name + "' has shape " + shape_string(x.shape) +
              "; expected [height, width, channels]");
  }
  if (w.shape.size() != 4 || w.shape[3] != x.shape[2]) {
    malformed(what + ": weights '" + w.name + "' have shape " + shape_string(w.shape) +
              "; expected [out, kernel_h, kernel_w, " + std::to_string(x.shape[2]) + "] (OHWI)");
  }
}

void check_window_output(const Tensor& y, int64_t oh, int64_t ow, int64_t out_channels, const std::string& what) {
  if (oh < 1 || ow < 1) {
    malformed(what + ": its window leaves an empty output (" + std::to_string(oh) + "x" + std::to_string(ow) + ")");
  }
  expect_shape(y, {oh, ow, out_channels}, what, "output");
}

int64_t window_multiply_adds(const Graph& graph, const Op& op) {
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  const Tensor& w = graph.tensors[static_cast<std::size_t>(op.inputs[1])];
  return detail::saturating_product({y.elements(), w.shape[1], w.shape[2], w.shape[3]});
}

std::string describe_window(const Window& w) {
  return "stride " + std::to_string(w.stride_h) + "x" + std::to_string(w.stride_w) + ", pad " +
         std::to_string(w.pad_top) + "," + std::to_string(w.pad_left) + "," + std::to_string(w.pad_bottom) + "," +
         std::to_string(w.pad_right);
}

}  // namespace latentkit::ops
