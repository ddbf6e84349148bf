// transpose_conv2d -> xnn_define_deconvolution_2d (groups = 1, dilation 1; XNNPACK requires
// adjustment < stride, as PyTorch's output_padding does), and around a defect of this XNNPACK:
//
// XNNPACK bug (in this version; found by the random-model tests and confirmed with valgrind): a
// deconvolution that takes the "subconvolution" path (a stride above 1, every
// stride <= its kernel size, dilation 1) splits the output into stride_h x stride_w slices that
// start at offsets (offset - padding) mod stride, and sizes them with an unsigned
// (output_size - start) / stride. When an output is smaller than stride - 1 along an axis, some
// start lies past the end, the subtraction wraps, and XNNPACK writes far outside its buffers
// (indirection buffer at setup, output at run). For exactly those ops we define the
// deconvolution without padding along the affected axes (its output is then at least the
// kernel size, >= the stride) and crop the padding away with an identity 1-tap convolution.
//
// int8: sub-pixel form (define_integer): a stride-1 convolution computing every output phase as
// channels, a 0/1 deconvolution that interleaves them, and an identity convolution cropping
// surplus rows; both helpers requantise by exactly 1.
#include <algorithm>
#include <cstring>
#include <limits>

#include "latentkit/error.h"
#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {
namespace {

// A float transposed convolution as XNNPACK runs it, around the defect described at the top of
// this file: the deconvolution (with the padding of the affected axes removed) and, where
// needed, the crop of its full_h x full_w output back to the op's.
struct DeconvolutionPlan {
  bool crop_h = false, crop_w = false;
  Window deconv;
  int64_t full_h = 0, full_w = 0;
};

DeconvolutionPlan plan_deconvolution(const Tensor& x, const Tensor& w, const Tensor& y, const Window& win) {
  const int64_t kh = w.shape[1], kw = w.shape[2];
  const bool subconvolution = (win.stride_h > 1 || win.stride_w > 1) && win.stride_h <= kh && win.stride_w <= kw;
  DeconvolutionPlan plan;
  plan.crop_h = subconvolution && y.shape[0] + 2 <= win.stride_h;
  plan.crop_w = subconvolution && y.shape[1] + 2 <= win.stride_w;
  plan.deconv = win;
  if (plan.crop_h) plan.deconv.pad_top = plan.deconv.pad_bottom = 0;
  if (plan.crop_w) plan.deconv.pad_left = plan.deconv.pad_right = 0;
  plan.full_h = transpose_conv2d_output_size(x.shape[0], kh, win.stride_h, plan.deconv.pad_top,
                                             plan.deconv.pad_bottom, win.adjustment_h);
  plan.full_w = transpose_conv2d_output_size(x.shape[1], kw, win.stride_w, plan.deconv.pad_left,
                                             plan.deconv.pad_right, win.adjustment_w);
  return plan;
}

void define_float(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& x = b.tensor(op.inputs[0]);
  const Tensor& w = b.tensor(op.inputs[1]);
  const Tensor& y = b.tensor(op.outputs[0]);
  const Window& win = op.window;
  const int64_t cin = x.shape[2], cout = w.shape[0], kh = w.shape[1], kw = w.shape[2];
  const int64_t oh = y.shape[0], ow = y.shape[1];
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t filter = b.constant(op_index, op, op.inputs[1]);
  const uint32_t bias = has_bias(op) ? b.constant(op_index, op, op.inputs[2]) : XNN_INVALID_VALUE_ID;
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  const float lo = -std::numeric_limits<float>::infinity();
  const float hi = std::numeric_limits<float>::infinity();
  const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  const DeconvolutionPlan plan = plan_deconvolution(x, w, y, win);
  const bool crop_h = plan.crop_h, crop_w = plan.crop_w;
  const Window& deconv = plan.deconv;
  const int64_t full_h = plan.full_h, full_w = plan.full_w;
  const uint32_t deconv_output =
      crop_h || crop_w
          ? b.internal_value(op_index, op,
                           {static_cast<std::size_t>(b.batch()), static_cast<std::size_t>(full_h),
                            static_cast<std::size_t>(full_w), static_cast<std::size_t>(cout)},
                           nullptr)
          : output;
  check(xnn_define_deconvolution_2d(
            b.subgraph(), u32(deconv.pad_top), u32(deconv.pad_right),
            u32(deconv.pad_bottom), u32(deconv.pad_left), u32(win.adjustment_h),
            u32(win.adjustment_w), u32(kh), u32(kw), u32(win.stride_h), u32(win.stride_w),
            /*dilation_height=*/1, /*dilation_width=*/1, /*groups=*/1,
            static_cast<std::size_t>(cin), static_cast<std::size_t>(cout), lo, hi, input,
            filter, bias, deconv_output, /*flags=*/0),
        "xnn_define_deconvolution_2d for " + op_name(op_index, op));
  if (crop_h || crop_w) {
    // Crop rows [pad_top, pad_top + oh) and columns [pad_left, pad_left + ow) out of the
    // unpadded result with a convolution whose only non-zero tap is the identity matrix at
    // (pad_top, pad_left): y = 1 * x + 0 * (the rest), exact for finite values.
    const int64_t eh = full_h - oh + 1, ew = full_w - ow + 1;
    const int64_t tap_y = crop_h ? win.pad_top : 0, tap_x = crop_w ? win.pad_left : 0;
    float* weights = b.own<float>(static_cast<std::size_t>(cout * eh * ew * cout));
    for (int64_t c = 0; c < cout; ++c) {
      weights[static_cast<std::size_t>(((c * eh + tap_y) * ew + tap_x) * cout + c)] = 1.0f;
    }
    const uint32_t crop_filter = b.internal_value(
        op_index, op,
        {static_cast<std::size_t>(cout), static_cast<std::size_t>(eh),
         static_cast<std::size_t>(ew), static_cast<std::size_t>(cout)},
        weights);
    check(xnn_define_convolution_2d(b.subgraph(), 0, 0, 0, 0, u32(eh), u32(ew), 1, 1, 1, 1,
                                    /*groups=*/1, static_cast<std::size_t>(cout),
                                    static_cast<std::size_t>(cout), lo, hi, deconv_output,
                                    crop_filter, XNN_INVALID_VALUE_ID, output, /*flags=*/0),
          "xnn_define_convolution_2d (crop after deconvolution) for " +
              op_name(op_index, op));
  }
}

// How a transposed convolution along one axis becomes `stride` interleaved phases of a stride-1
// convolution ("sub-pixel convolution"). Output row oy = stride * q + t (phase t) sums
// x[q + a_t - j] * w[b_t + stride * j] over j, with t + pad = stride * a_t + b_t; one convolution
// of `taps` rows whose padding covers every phase's offsets computes all phases at once.
struct SubPixelAxis {
  int stride = 1, taps = 0, pad_before = 0, pad_after = 0;
  int64_t phase_size = 0;     // q runs over [0, phase_size)
  int64_t surplus = 0;        // rows past the output that the interleaved phases also produce
  std::vector<int> kernel_row;  // [phase * taps + u] -> tap of the original kernel, or -1
};

bool plan_axis(int64_t in, int64_t kernel, int stride, int pad, int64_t out, SubPixelAxis& axis) {
  axis.stride = stride;
  int d_min = std::numeric_limits<int>::max(), d_max = std::numeric_limits<int>::min();
  for (int t = 0; t < stride; ++t) {
    const int a = (t + pad) / stride, b = (t + pad) % stride;
    if (b >= kernel) continue;
    const int count = static_cast<int>((kernel - 1 - b) / stride + 1);
    d_min = std::min(d_min, a - count + 1);
    d_max = std::max(d_max, a);
  }
  if (d_min > d_max) return false;  // no tap reaches any output
  // Offsets below 0 become padding; a kernel whose offsets all lie ahead keeps zero taps first.
  axis.pad_before = std::max(0, -d_min);
  axis.taps = d_max + axis.pad_before + 1;
  // Enough phase rows to cover the output, and at least what the unpadded input gives.
  axis.phase_size = std::max<int64_t>((out + stride - 1) / stride, in + axis.pad_before - axis.taps + 1);
  axis.pad_after = static_cast<int>(axis.phase_size - in - axis.pad_before + axis.taps - 1);
  axis.surplus = stride * axis.phase_size - out;
  axis.kernel_row.assign(static_cast<std::size_t>(stride * axis.taps), -1);
  for (int t = 0; t < stride; ++t) {
    const int a = (t + pad) / stride, b = (t + pad) % stride;
    for (int u = 0; u < axis.taps; ++u) {
      const int j = a - (u - axis.pad_before);
      const int k = b + stride * j;
      if (j >= 0 && k < kernel) axis.kernel_row[static_cast<std::size_t>(t * axis.taps + u)] = k;
    }
  }
  return true;
}

// This XNNPACK's int8 deconvolution takes one weight scale per tensor, which would lose the
// per-channel precision of the file. The exact equivalent used instead: a stride-1 int8
// convolution with per-channel weights that computes all stride_h x stride_w output phases as
// separate channels, then a deconvolution whose 0/1 weights only interleave those channels into
// pixels (depth to space; this XNNPACK's depth-to-space node has no int8 form). The second step
// requantises with a multiplier of exactly 1, so it changes no value.
void define_integer(SubgraphBuilder& b, int op_index, const Op& op) {
  const Tensor& x = b.tensor(op.inputs[0]);
  const Tensor& w = b.tensor(op.inputs[1]);
  const Tensor& y = b.tensor(op.outputs[0]);
  const Window& win = op.window;
  const int64_t cout = w.shape[0], kh = w.shape[1], kw = w.shape[2], cin = w.shape[3];
  SubPixelAxis rows, cols;
  if (!plan_axis(x.shape[0], kh, win.stride_h, win.pad_top, y.shape[0], rows) ||
      !plan_axis(x.shape[1], kw, win.stride_w, win.pad_left, y.shape[1], cols)) {
    throw Error(ErrorCode::unsupported_model,
                "xnnpack backend: " + op_name(op_index, op) + ": no kernel tap reaches the output");
  }
  const std::string name = op_name(op_index, op);
  // 64 bits: the strides come from the file (plan_memory has bounded what they make us allocate).
  const int64_t phases = int64_t{rows.stride} * cols.stride;
  const std::size_t channels = static_cast<std::size_t>(phases * cout);
  // Phase (ty, tx) of output channel c is convolution channel (ty * stride_w + tx) * cout + c.
  int8_t* weights = b.own<int8_t>(channels * rows.taps * cols.taps * cin);
  const auto* original = static_cast<const int8_t*>(w.data);
  std::vector<float> scales(channels);
  const std::vector<float> channel_scales = weight_scales(w);
  for (int ty = 0; ty < rows.stride; ++ty) {
    for (int tx = 0; tx < cols.stride; ++tx) {
      for (int64_t c = 0; c < cout; ++c) {
        const std::size_t oc = static_cast<std::size_t>((int64_t{ty} * cols.stride + tx) * cout + c);
        scales[oc] = channel_scales[c];
        for (int uy = 0; uy < rows.taps; ++uy) {
          const int ky = rows.kernel_row[ty * rows.taps + uy];
          for (int ux = 0; ux < cols.taps; ++ux) {
            const int kx = cols.kernel_row[tx * cols.taps + ux];
            if (ky < 0 || kx < 0) continue;
            std::memcpy(weights + ((oc * rows.taps + uy) * cols.taps + ux) * cin,
                        original + ((c * kh + ky) * kw + kx) * cin, static_cast<std::size_t>(cin));
          }
        }
      }
    }
  }
  const uint32_t filter = b.channelwise_weights(
      op_index, op, {channels, static_cast<std::size_t>(rows.taps), static_cast<std::size_t>(cols.taps), static_cast<std::size_t>(cin)},
      weights, scales);
  uint32_t bias = XNN_INVALID_VALUE_ID;
  if (has_bias(op)) {
    const Tensor& original = b.tensor(op.inputs[2]);
    const auto* original_bias = static_cast<const int32_t*>(original.data);
    int32_t* phase_bias = b.own<int32_t>(channels);
    std::vector<float> phase_bias_scales(channels);
    for (std::size_t oc = 0; oc < channels; ++oc) {
      phase_bias[oc] = original_bias[oc % static_cast<std::size_t>(cout)];
      phase_bias_scales[oc] = original.quantization.scales[oc % static_cast<std::size_t>(cout)];
    }
    bias = b.channelwise_bias(op_index, op, phase_bias, phase_bias_scales);
  }
  const float inf = std::numeric_limits<float>::infinity();
  const uint32_t input = b.activation(op_index, op, op.inputs[0]);
  const uint32_t output = b.activation(op_index, op, op.outputs[0]);
  const bool crop = rows.surplus > 0 || cols.surplus > 0;
  const std::size_t full_h = static_cast<std::size_t>(rows.stride * rows.phase_size),
                    full_w = static_cast<std::size_t>(cols.stride * cols.phase_size);
  const uint32_t interleaved =
      crop ? b.int8_value(op_index, op, {static_cast<std::size_t>(b.batch()), full_h, full_w, static_cast<std::size_t>(cout)}, y)
           : output;
  const uint32_t phased = phases == 1 ? interleaved
                                      : b.int8_value(op_index, op,
                                                   {static_cast<std::size_t>(b.batch()), static_cast<std::size_t>(rows.phase_size),
                                                    static_cast<std::size_t>(cols.phase_size), channels},
                                                   y);
  check(xnn_define_convolution_2d(b.subgraph(), static_cast<uint32_t>(rows.pad_before), static_cast<uint32_t>(cols.pad_after),
                                  static_cast<uint32_t>(rows.pad_after), static_cast<uint32_t>(cols.pad_before),
                                  static_cast<uint32_t>(rows.taps), static_cast<uint32_t>(cols.taps), 1, 1, 1, 1, 1,
                                  static_cast<std::size_t>(cin), channels, -inf, inf, input, filter, bias, phased, 0),
        "xnn_define_convolution_2d (sub-pixel phases) for " + name);
  if (phases > 1) {
    int8_t* interleave = b.own<int8_t>(static_cast<std::size_t>(cout) * phases * channels);
    for (int ty = 0; ty < rows.stride; ++ty) {
      for (int tx = 0; tx < cols.stride; ++tx) {
        for (int64_t c = 0; c < cout; ++c) {
          const std::size_t tap = static_cast<std::size_t>((c * rows.stride + ty) * cols.stride + tx);
          interleave[tap * channels + static_cast<std::size_t>((int64_t{ty} * cols.stride + tx) * cout + c)] = 1;
        }
      }
    }
    const std::size_t interleave_dims[] = {static_cast<std::size_t>(cout), static_cast<std::size_t>(rows.stride),
                                           static_cast<std::size_t>(cols.stride), channels};
    uint32_t interleave_id = XNN_INVALID_VALUE_ID;
    check(xnn_define_quantized_tensor_value(b.subgraph(), xnn_datatype_qint8, 0, 1.0f, 4, interleave_dims, interleave,
                                            XNN_INVALID_VALUE_ID, 0, &interleave_id),
          "xnn_define_quantized_tensor_value (interleave) for " + name);
    check(xnn_define_deconvolution_2d(b.subgraph(), 0, 0, 0, 0, 0, 0, static_cast<uint32_t>(rows.stride),
                                      static_cast<uint32_t>(cols.stride), static_cast<uint32_t>(rows.stride),
                                      static_cast<uint32_t>(cols.stride), 1, 1, 1, channels, static_cast<std::size_t>(cout),
                                      -inf, inf, phased, interleave_id, XNN_INVALID_VALUE_ID, interleaved, 0),
          "xnn_define_deconvolution_2d (interleave phases) for " + name);
  }
  if (!crop) return;
  // The surplus rows and columns at the bottom and right go through a convolution whose one
  // non-zero tap, at (0, 0), is the identity: with equal scales it copies values exactly.
  const std::size_t eh = static_cast<std::size_t>(rows.surplus + 1), ew = static_cast<std::size_t>(cols.surplus + 1),
                    c = static_cast<std::size_t>(cout);
  int8_t* identity = b.own<int8_t>(c * eh * ew * c);
  for (std::size_t k = 0; k < c; ++k) identity[(k * eh * ew) * c + k] = 1;
  const std::size_t identity_dims[] = {c, eh, ew, c};
  uint32_t identity_id = XNN_INVALID_VALUE_ID;
  check(xnn_define_quantized_tensor_value(b.subgraph(), xnn_datatype_qint8, 0, 1.0f, 4, identity_dims, identity,
                                          XNN_INVALID_VALUE_ID, 0, &identity_id),
        "xnn_define_quantized_tensor_value (crop) for " + name);
  check(xnn_define_convolution_2d(b.subgraph(), 0, 0, 0, 0, static_cast<uint32_t>(eh), static_cast<uint32_t>(ew), 1, 1, 1,
                                  1, 1, c, c, -inf, inf, interleaved, identity_id, XNN_INVALID_VALUE_ID, output, 0),
        "xnn_define_convolution_2d (crop) for " + name);
}

void define(SubgraphBuilder& b, int op_index, const Op& op) {
  if (b.tensor(op.inputs[0]).dtype == DType::int8) return define_integer(b, op_index, op);
  define_float(b, op_index, op);
}

OpCost cost(const CostModel& m, const Graph& graph, const Op& op) {
  OpCost c = one_node(m, graph, op);
  const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
  const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
  const bool integer = x.dtype == DType::int8;
  const Tensor& w = graph.tensors[static_cast<std::size_t>(op.inputs[1])];
  const Window& win = op.window;
  const int64_t cout = w.shape[0], kh = w.shape[1], kw = w.shape[2], cin = w.shape[3];
  const int64_t strides = detail::saturating_product({win.stride_h, win.stride_w});
  const int64_t pixels = detail::saturating_product({y.shape[0], y.shape[1]});
  if (!integer) {
    // Subconvolutions: one packed kernel and one set of records per stride phase.
    c.bytes = detail::saturating_add(c.bytes, CostModel::packed(cout, detail::saturating_add(detail::saturating_product({kh, kw, cin}), strides), 4));
    c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({strides, 256}));
    c.bytes = detail::saturating_add(c.bytes, m.indirection(pixels, detail::saturating_product({kh, kw})));
    // The crop around XNNPACK's small-output defect (define_float): the unpadded output,
    // an identity kernel over the padding (ours and XNNPACK's packed copy).
    const DeconvolutionPlan plan = plan_deconvolution(x, w, y, win);
    if (plan.crop_h || plan.crop_w) {
      const int64_t crop_taps = detail::saturating_product({plan.full_h - y.shape[0] + 1, plan.full_w - y.shape[1] + 1});
      c.bytes = detail::saturating_add(c.bytes, CostModel::kNodeBytes);
      c.bytes = detail::saturating_add(c.bytes, m.values(detail::saturating_product({plan.full_h, plan.full_w, cout}), 4));
      c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({cout, crop_taps, CostModel::tile(cout), 8}));
      c.bytes = detail::saturating_add(c.bytes, m.indirection(pixels, crop_taps));
      c.work = detail::saturating_add(c.work, detail::saturating_product({pixels, cout, crop_taps, cout}));
    }
    return c;
  }
  // The sub-pixel form (define_integer): phase weights, the interleaving and
  // cropping kernels, and their intermediates.
  SubPixelAxis rows, cols;
  if (!plan_axis(x.shape[0], kh, win.stride_h, win.pad_top, y.shape[0], rows) ||
      !plan_axis(x.shape[1], kw, win.stride_w, win.pad_left, y.shape[1], cols)) {
    return c;  // the builder refuses the op
  }
  c.bytes = detail::saturating_add(c.bytes, 2 * CostModel::kNodeBytes);  // the interleave and the crop
  const int64_t channels = detail::saturating_product({strides, cout});
  const int64_t taps = detail::saturating_product({rows.taps, cols.taps});
  const int64_t phase_pixels = detail::saturating_product({rows.phase_size, cols.phase_size});
  const int64_t full_pixels = detail::saturating_product({strides, phase_pixels});
  c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({channels, taps, cin, 2}));  // ours + packed
  c.bytes = detail::saturating_add(c.bytes, CostModel::packed(channels, detail::saturating_product({taps, cin}), 1));
  c.bytes = detail::saturating_add(c.bytes, m.indirection(phase_pixels, taps));
  c.bytes = detail::saturating_add(c.bytes, m.values(detail::saturating_product({phase_pixels, channels}), 1));
  c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({cout, strides, channels, 2}));  // interleave
  c.bytes = detail::saturating_add(c.bytes, m.indirection(full_pixels, strides));
  c.bytes = detail::saturating_add(c.bytes, m.values(detail::saturating_product({full_pixels, cout}), 1));
  const int64_t crop_taps = detail::saturating_product({rows.surplus + 1, cols.surplus + 1});
  c.bytes = detail::saturating_add(c.bytes, detail::saturating_product({cout, crop_taps, cout, 2}));
  c.bytes = detail::saturating_add(c.bytes, m.indirection(pixels, crop_taps));
  // The phases' convolution, the interleaving deconvolution (every phase channel into each
  // output pixel) and the crop.
  c.work = detail::saturating_product({phase_pixels, channels, taps, cin});
  c.work = detail::saturating_add(c.work, detail::saturating_product({full_pixels, cout, channels}));
  c.work = detail::saturating_add(c.work, detail::saturating_product({pixels, cout, crop_taps, cout}));
  return c;
}

}  // namespace

extern const Lowering transpose_conv2d_lowering;
const Lowering transpose_conv2d_lowering = {define, cost};

}  // namespace latentkit::xnnpack
