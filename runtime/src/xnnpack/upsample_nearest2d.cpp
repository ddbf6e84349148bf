// upsample_nearest2d -> xnn_define_deconvolution_2d, depthwise (groups = channels, one input and
// one output channel each), kernel = stride = the scale factors, every weight 1, no bias: each
// input pixel scatters to its scale_h x scale_w block, and each output receives exactly one
// product x * 1, which is x (a -0 becomes +0, which compares equal). This XNNPACK has no
// nearest-neighbour resize (xnn_define_static_resize_bilinear_2d interpolates, and its
// depth-to-space needs one block size for both axes and channels made first). int8: the same
// deconvolution with int8 weights 1 of scale 1 and no bias, between values of one scale and zero
// point, requantises by exactly 1: y = (x - z) * 1 + z = x. The output is at least the stride on
// each axis, so the small-output defect of this XNNPACK's deconvolution
// (xnnpack/transpose_conv2d.cpp) cannot occur.
#include <algorithm>
#include <limits>

#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& x = b.tensor(op.inputs[0]);
  const std::string name = op_name(op_index, op);
  const auto channels = static_cast<std::size_t>(x.shape[2]);
  const auto sh = static_cast<std::size_t>(op.scale_h), sw = static_cast<std::size_t>(op.scale_w);
  const std::size_t dims[] = {channels, sh, sw, 1};
  uint32_t filter = XNN_INVALID_VALUE_ID;
  if (x.dtype == DType::int8) {
    int8_t* ones = b.own<int8_t>(channels * sh * sw);
    std::fill(ones, ones + channels * sh * sw, int8_t{1});
    check(xnn_define_quantized_tensor_value(b.subgraph(), xnn_datatype_qint8, 0, 1.0f, 4, dims, ones,
                                            XNN_INVALID_VALUE_ID, /*flags=*/0, &filter),
          "xnn_define_quantized_tensor_value (ones) for " + name);
  } else {
    float* ones = b.own<float>(channels * sh * sw);
    std::fill(ones, ones + channels * sh * sw, 1.0f);
    filter = b.internal_value(op_index, op, {channels, sh, sw, 1}, ones);
  }
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  const float inf = std::numeric_limits<float>::infinity();
  check(xnn_define_deconvolution_2d(b.subgraph(), 0, 0, 0, 0, 0, 0, static_cast<uint32_t>(sh), static_cast<uint32_t>(sw),
                                    static_cast<uint32_t>(sh), static_cast<uint32_t>(sw), 1, 1,
                                    static_cast<uint32_t>(channels), 1, 1, -inf, inf, input, filter,
                                    XNN_INVALID_VALUE_ID, output, /*flags=*/0),
        "xnn_define_deconvolution_2d (nearest upsampling) for " + name);
}

// Per group XNNPACK packs a tile of output channels with a bias, and runs its kernel for the
// whole tile: 16 products where one is needed.
OpCost cost(const CostModel& m, const Graph& graph, const Op& op) {
  OpCost c = one_node(m, graph, op);
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  const int64_t taps = detail::saturating_product({op.scale_h, op.scale_w});
  const int64_t element = x.dtype == DType::int8 ? 1 : 4;
  c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({x.shape[2], taps, element}));  // our ones
  c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({x.shape[2], CostModel::packed(1, taps, element)}));
  c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({taps, 256}));
  c.bytes = detail::saturating_add(c.bytes, m.indirection(detail::saturating_product({y.shape[0], y.shape[1]}), taps));
  c.work = detail::saturating_product({y.elements(), CostModel::tile(1)});
  return c;
}

}  // namespace

extern const Lowering upsample_nearest2d_lowering;
const Lowering upsample_nearest2d_lowering = {define, cost};

}  // namespace latentkit::xnnpack
