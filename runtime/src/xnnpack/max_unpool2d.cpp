// max_unpool2d -> up to two xnn_define_unpooling_2d and two xnn_define_static_constant_pad, the
// reverse of max_pool2d's two argmax poolings (xnnpack/max_pool2d.cpp, which says why two):
// each value goes down to its row through the row indices (a kernel_h x 1 unpooling), the rows
// that no window covers (the pooling's floor) are zero-padded, then each row's values go to
// their columns through the column indices (1 x kernel_w), and the uncovered columns are
// zero-padded. Unpooling zeroes each window before it writes, and with a stride equal to the
// kernel the windows do not overlap, so every position of the output is written exactly once: the
// result is the file's, value for value. XNNPACK reads its indices without a range check, which
// is safe here because they come from the argmax poolings of the same subgraph, never from the
// file or a caller.
// Declined (unsupported_model; the reference backend computes the op): indices that no
// max_pool2d lowered to argmax pooling wrote (cannot happen in a file the loader accepted, since
// only max_pool2d writes int32 activations and its lowering declines first), and an output plane
// other than that max_pool2d's input plane: the file places values by plane position
// i / width, i % width, which for another width is not a window's position.
#include <algorithm>

#include "latentkit/error.h"
#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

[[noreturn]] void decline(int op_index, const Op& op, const std::string& why) {
  throw Error(ErrorCode::unsupported_model, "xnnpack backend: " + op_name(op_index, op) + ": " + why +
                                                "; the reference backend computes it");
}

// Zeros after the last row or column of `input` ([n, h, w, c]), into `output`.
void pad_zeros(SubgraphBuilder& b, const std::string& name, uint32_t input, uint32_t output, std::size_t rows,
               std::size_t columns) {
  const std::size_t before[4] = {0, 0, 0, 0};
  const std::size_t after[4] = {0, rows, columns, 0};
  check(xnn_define_static_constant_pad(b.subgraph(), before, after, 0.0f, input, output, /*flags=*/0),
        "xnn_define_static_constant_pad for " + name);
}

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  const std::string name = op_name(op_index, op);
  const Op* pool = b.producer(op.inputs[1]);
  const std::vector<uint32_t>& parts = b.parts(op.inputs[1]);
  if (pool == nullptr || pool->kind != OpKind::max_pool2d || parts.size() != 2) {
    decline(op_index, op, "its indices do not come from a max_pool2d lowered to XNNPACK's argmax pooling");
  }
  const Tensor& x = b.tensor(op.inputs[0]);
  const Tensor& y = b.tensor(op.outputs[0]);
  const Tensor& plane = b.tensor(pool->inputs[0]);
  if (y.shape[0] != plane.shape[0] || y.shape[1] != plane.shape[1]) {
    decline(op_index, op,
            "its output (" + std::to_string(y.shape[0]) + "x" + std::to_string(y.shape[1]) +
                ") is not the plane its indices count in, the input of the max_pool2d that wrote them (" +
                std::to_string(plane.shape[0]) + "x" + std::to_string(plane.shape[1]) +
                "), and XNNPACK's unpooling places values by window, not by plane position");
  }
  const auto n = static_cast<std::size_t>(b.batch());
  const auto h = static_cast<std::size_t>(y.shape[0]), w = static_cast<std::size_t>(y.shape[1]);
  const auto oh = static_cast<std::size_t>(x.shape[0]), ow = static_cast<std::size_t>(x.shape[1]);
  const auto c = static_cast<std::size_t>(x.shape[2]);
  const auto kh = static_cast<std::size_t>(pool->kernel_h), kw = static_cast<std::size_t>(pool->kernel_w);
  const uint32_t row_index = parts[0], column_index = parts[1];
  const uint32_t values = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  // Rows: [n, oh, ow, c] -> [n, oh * kh, ow, c] -> (zero rows) [n, h, ow, c].
  uint32_t rows = values;
  const bool pad_rows = oh * kh < h, pad_columns = ow * kw < w;
  if (kh > 1) {
    const bool last = kw == 1 && !pad_rows;
    const uint32_t unpooled = last ? output : b.internal_value(op_index, op, {n, oh * kh, ow, c}, nullptr);
    check(xnn_define_unpooling_2d(b.subgraph(), 0, 0, 0, 0, static_cast<uint32_t>(kh), 1, values, row_index, unpooled,
                                  /*flags=*/0),
          "xnn_define_unpooling_2d (rows) for " + name);
    rows = unpooled;
  }
  if (pad_rows) {
    const uint32_t padded = kw == 1 ? output : b.internal_value(op_index, op, {n, h, ow, c}, nullptr);
    pad_zeros(b, name, rows, padded, h - oh * kh, 0);
    rows = padded;
  }
  if (kw == 1) return;
  // Columns: [n, h, ow, c] -> [n, h, ow * kw, c] -> (zero columns) [n, h, w, c].
  const uint32_t unpooled = pad_columns ? b.internal_value(op_index, op, {n, h, ow * kw, c}, nullptr) : output;
  check(xnn_define_unpooling_2d(b.subgraph(), 0, 0, 0, 0, 1, static_cast<uint32_t>(kw), rows, column_index, unpooled,
                                /*flags=*/0),
        "xnn_define_unpooling_2d (columns) for " + name);
  if (pad_columns) pad_zeros(b, name, unpooled, output, 0, w - ow * kw);
}

// The nodes define() makes, their intermediates, and each unpooling's indirection buffer (one
// pointer per position it writes).
OpCost cost(const CostModel& m, const Graph& graph, const Op& op) {
  OpCost c = one_node(m, graph, op);
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  const Op* pool = nullptr;
  for (const Op& o : graph.ops) {
    if (o.outputs.size() == 2 && o.outputs[1] == op.inputs[1]) pool = &o;
  }
  if (pool == nullptr) return c;  // define() declines
  const int64_t kh = pool->kernel_h, kw = pool->kernel_w;
  const int64_t h = y.shape[0], w = y.shape[1], oh = x.shape[0], ow = x.shape[1], channels = x.shape[2];
  const bool pad_rows = oh * kh < h, pad_columns = ow * kw < w;
  int64_t nodes = 0;
  const auto stage = [&](int64_t rows, int64_t columns, bool last) {
    ++nodes;
    if (!last) c.bytes = detail::saturating_add(c.bytes, m.values(detail::saturating_product({rows, columns, channels}), 4));
  };
  if (kh > 1) {
    stage(oh * kh, ow, kw == 1 && !pad_rows);
    c.bytes = detail::saturating_add(c.bytes, m.indirection(oh * kh * ow, 1));
  }
  if (pad_rows) stage(h, ow, kw == 1);
  if (kw > 1) {
    stage(h, ow * kw, !pad_columns);
    c.bytes = detail::saturating_add(c.bytes, m.indirection(h * ow * kw, 1));
  }
  if (pad_columns) stage(h, w, true);
  c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({std::max<int64_t>(nodes - 1, 0), CostModel::kNodeBytes}));
  c.work = detail::saturating_product({y.elements(), std::max<int64_t>(nodes, 1)});
  return c;
}

}  // namespace

extern const Lowering max_unpool2d_lowering;
const Lowering max_unpool2d_lowering = {define, cost};

}  // namespace latentkit::xnnpack
