// max_pool2d -> xnn_define_max_pooling_2d (float32, int8) when it has no indices; with indices,
// two argmax poolings (float32, stride equal to the kernel, no padding), which max_unpool2d's
// lowering reads (xnnpack/max_unpool2d.cpp).
//
// Without indices: this XNNPACK clamps window positions in the padding to the border
// (src/indirection.c, xnn_indirection_init_maxpool2d), which with dilation 1 only repeats a
// position of the same window: the maximum is the file's, since every window holds a position of
// the input (the rule). It refuses a 1x1 window ("1x1 pooling is meaningless"), and so do we.
//
// With indices: xnn_define_argmax_pooling_2d has no stride (it is the kernel) and gives the
// position in the window, counted column by column (index = kx * kernel_h + ky), so that among
// equal values the first in column-major order wins where the file (PyTorch) takes the first in
// row-major order: [[1, 5], [5, 1]] has its maximum at (0, 1) in the file and at (1, 0) in one
// argmax pooling. Two poolings give the file's choice exactly: a 1 x kernel_w argmax along each
// row (ties: the first column), then a kernel_h x 1 argmax over those row maxima (ties: the first
// row) - the first row holding the maximum, and its first column holding it, which is the first
// in row-major order. XNNPACK keeps the two index values (column per row, row per window) in
// place of the file's int32 plane indices: the indices are an activation that only max_unpool2d
// reads, and its lowering scatters by them in the reverse order. The file's plane index
// iy * W + ix is never formed; XNNPACK has no integer arithmetic to form it.
// Declined (unsupported_model, so that choose_backend uses the reference backend and says why):
// indices with a stride other than the kernel or with padding (argmax pooling has neither; with
// padding it clamps, and a padded position would win a tie), indices on int8 (argmax pooling is
// float32 only), and a 1x1 window. A window holding a NaN may give another maximum than the
// reference backend (XNNPACK's comparisons skip NaN; the file's maximum is the last NaN).
#include <limits>

#include "latentkit/error.h"
#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

[[noreturn]] void decline(int op_index, const Op& op, const std::string& why) {
  throw Error(ErrorCode::unsupported_model, "xnnpack backend: " + op_name(op_index, op) + ": " + why +
                                                "; the reference backend computes it");
}

std::string window_string(const Op& op) {
  const Window& w = op.window;
  return "kernel " + std::to_string(op.kernel_h) + "x" + std::to_string(op.kernel_w) + ", stride " +
         std::to_string(w.stride_h) + "x" + std::to_string(w.stride_w) + ", pad " + std::to_string(w.pad_top) + "," +
         std::to_string(w.pad_left) + "," + std::to_string(w.pad_bottom) + "," + std::to_string(w.pad_right);
}

bool has_padding(const Window& w) { return w.pad_top != 0 || w.pad_left != 0 || w.pad_bottom != 0 || w.pad_right != 0; }

void define_values(SubgraphBuilder& b, int op_index, const Op& op) {
  const Window& w = op.window;
  const auto u32 = [](int v) { return static_cast<uint32_t>(v); };
  const float inf = std::numeric_limits<float>::infinity();
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  check(xnn_define_max_pooling_2d(b.subgraph(), u32(w.pad_top), u32(w.pad_right), u32(w.pad_bottom), u32(w.pad_left),
                                  u32(op.kernel_h), u32(op.kernel_w), u32(w.stride_h), u32(w.stride_w), 1, 1, -inf, inf,
                                  input, output, /*flags=*/0),
        "xnn_define_max_pooling_2d for " + op_name(op_index, op));
}

void define_with_indices(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& x = b.tensor(op.inputs[0]);
  const Tensor& y = b.tensor(op.outputs[0]);
  const Window& w = op.window;
  if (x.dtype != DType::float32) decline(op_index, op, "its indices need XNNPACK's argmax pooling, which is float32 only");
  if (w.stride_h != op.kernel_h || w.stride_w != op.kernel_w || has_padding(w)) {
    decline(op_index, op,
            "its indices need XNNPACK's argmax pooling, whose stride is its kernel and which has no exact padding (" +
                window_string(op) + ")");
  }
  const std::string name = op_name(op_index, op);
  const auto n = static_cast<std::size_t>(b.batch());
  const auto h = static_cast<std::size_t>(x.shape[0]), c = static_cast<std::size_t>(x.shape[2]);
  const auto oh = static_cast<std::size_t>(y.shape[0]), ow = static_cast<std::size_t>(y.shape[1]);
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  // Index values hold XNNPACK's uint32 indices in 32-bit values that nothing reads as floats.
  uint32_t row_maxima = input, column_index = XNN_INVALID_VALUE_ID, row_index = XNN_INVALID_VALUE_ID;
  if (op.kernel_w > 1) {  // along each row: [n, h, ow, c]
    const std::vector<std::size_t> dims{n, h, ow, c};
    row_maxima = op.kernel_h > 1 ? b.internal_value(op_index, op, dims, nullptr) : output;
    column_index = b.internal_value(op_index, op, dims, nullptr);
    check(xnn_define_argmax_pooling_2d(b.subgraph(), 0, 0, 0, 0, 1, static_cast<uint32_t>(op.kernel_w), input, row_maxima,
                                       column_index, /*flags=*/0),
          "xnn_define_argmax_pooling_2d (along rows) for " + name);
  }
  if (op.kernel_h > 1) {  // over the row maxima: [n, oh, ow, c]
    row_index = b.internal_value(op_index, op, {n, oh, ow, c}, nullptr);
    check(xnn_define_argmax_pooling_2d(b.subgraph(), 0, 0, 0, 0, static_cast<uint32_t>(op.kernel_h), 1, row_maxima, output,
                                       row_index, /*flags=*/0),
          "xnn_define_argmax_pooling_2d (along columns) for " + name);
  }
  b.set_parts(op.outputs[1], {row_index, column_index});
}

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  if (op.kernel_h == 1 && op.kernel_w == 1) {
    decline(op_index, op, "this XNNPACK refuses 1x1 pooling windows (" + window_string(op) + ")");
  }
  if (op.outputs.size() == 2) return define_with_indices(b, op_index, op);
  define_values(b, op_index, op);
}

OpCost cost(const CostModel& m, const Graph& graph, const Op& op) {
  OpCost c = one_node(m, graph, op);
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  const int64_t out_pixels = detail::saturating_product({y.shape[0], y.shape[1]});
  if (op.outputs.size() == 1) {
    c.bytes = detail::saturating_add(c.bytes, m.indirection(out_pixels, detail::saturating_product({op.kernel_h, op.kernel_w})));
    return c;
  }
  // The argmax poolings that define_with_indices makes: along rows (kernel_w > 1) into the row
  // maxima and the column indices, then along columns (kernel_h > 1) into the row indices, which
  // take the place of the file's int32 indices (counted with the activations).
  const int64_t row_pixels = detail::saturating_product({x.shape[0], y.shape[1]});
  const int64_t row_elements = detail::saturating_product({row_pixels, x.shape[2]});
  if (op.kernel_w > 1) {
    c.bytes = detail::saturating_add(c.bytes, m.indirection(row_pixels, op.kernel_w));
    c.bytes = detail::saturating_add(c.bytes, m.values(row_elements, 4));  // column indices
    if (op.kernel_h > 1) c.bytes = detail::saturating_add(c.bytes, m.values(row_elements, 4));  // row maxima
  }
  if (op.kernel_h > 1) {
    if (op.kernel_w > 1) c.bytes = detail::saturating_add(c.bytes, CostModel::kNodeBytes);
    c.bytes = detail::saturating_add(c.bytes, m.indirection(out_pixels, op.kernel_h));
  }
  return c;
}

}  // namespace

extern const Lowering max_pool2d_lowering;
const Lowering max_pool2d_lowering = {define, cost};

}  // namespace latentkit::xnnpack
