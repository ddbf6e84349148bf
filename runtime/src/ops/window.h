// What conv2d and transpose_conv2d share: their window options, the rule for their input,
// weights and output, and the reference kernel, one loop for both. Each op's file gives what
// differs: its options table, its output size, and which input pixel a kernel tap reads (Taps).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/weighted.h"

namespace latentkit::ops {

// Strides 1..max_dimension, paddings 0..max_dimension; refusals name operator `index`.
void check_window(uint32_t index, const ModelLimits& limits, int stride_h, int stride_w, int pad_top, int pad_left,
                  int pad_bottom, int pad_right);

// After check_weighted: x is [H, W, Cin], the weights OHWI over Cin, and the output
// [oh, ow, Cout] with oh, ow >= 1 (as the op's output size gives them).
void check_window_input(const Tensor& x, const Tensor& w, const std::string& what);
void check_window_output(const Tensor& y, int64_t oh, int64_t ow, int64_t out_channels, const std::string& what);

// Every kernel tap of every output, as the reference kernel computes them.
int64_t window_multiply_adds(const Graph& graph, const Op& op);

// "stride 2x2, pad 1,1,1,1" (tools add the op's own: dilation, adjustment).
std::string describe_window(const Window& w);

// Dimensions of a convolution or transposed convolution, per example, NHWC / OHWI.
template <typename Arithmetic>
struct WindowArgs {
  const typename Arithmetic::Input* x = nullptr;         // batch x h x w x cin
  const typename Arithmetic::Weight* weights = nullptr;  // cout x kh x kw x cin
  typename Arithmetic::Output* y = nullptr;              // batch x oh x ow x cout
  int64_t h = 0, w = 0, cin = 0;
  int64_t oh = 0, ow = 0, cout = 0;
  int64_t kh = 0, kw = 0;
  Window window;
  Arithmetic math;
};

// One output value per (oy, ox, co): a sum over the taps that Taps::source says reach it
// (the input row or column that output position o reads through kernel tap k, or -1).
template <typename Taps, typename Arithmetic>
void window_op(const WindowArgs<Arithmetic>& a, int batch) {
  const Window& win = a.window;
  for (int n = 0; n < batch; ++n) {
    const auto* x = a.x + n * a.h * a.w * a.cin;
    auto* y = a.y + n * a.oh * a.ow * a.cout;
    for (int64_t oy = 0; oy < a.oh; ++oy) {
      for (int64_t ox = 0; ox < a.ow; ++ox) {
        for (int64_t co = 0; co < a.cout; ++co) {
          auto acc = a.math.start(co);
          for (int64_t ky = 0; ky < a.kh; ++ky) {
            const int64_t iy = Taps::source(oy, ky, win.stride_h, win.dilation_h, win.pad_top, a.h);
            if (iy < 0) continue;
            for (int64_t kx = 0; kx < a.kw; ++kx) {
              const int64_t ix = Taps::source(ox, kx, win.stride_w, win.dilation_w, win.pad_left, a.w);
              if (ix < 0) continue;
              const auto* xp = x + (iy * a.w + ix) * a.cin;
              const auto* wp = a.weights + ((co * a.kh + ky) * a.kw + kx) * a.cin;
              for (int64_t ci = 0; ci < a.cin; ++ci) a.math.add(acc, xp[ci], wp[ci]);
            }
          }
          y[(oy * a.ow + ox) * a.cout + co] = a.math.finish(acc, co);
        }
      }
    }
  }
}

// build_reference of a window op whose taps are Taps.
template <typename Taps>
void build_window_op(ReferenceProgram& program, const Op& op) {
  build_weighted(program, op, [&](auto math, const auto* weights) {
    using Arithmetic = decltype(math);
    const Tensor& x = program.tensor(op.inputs[0]);
    const Tensor& w = program.tensor(op.inputs[1]);
    const Tensor& y = program.tensor(op.outputs[0]);
    WindowArgs<Arithmetic> a;
    a.h = x.shape[0];
    a.w = x.shape[1];
    a.cin = x.shape[2];
    a.cout = w.shape[0];
    a.kh = w.shape[1];
    a.kw = w.shape[2];
    a.oh = y.shape[0];
    a.ow = y.shape[1];
    a.window = op.window;
    a.x = program.activation<typename Arithmetic::Input>(op.inputs[0]);
    a.y = program.activation<typename Arithmetic::Output>(op.outputs[0]);
    a.weights = weights;
    a.math = math;
    program.steps.emplace_back([a, batch = program.batch] { window_op<Taps>(a, batch); });
  });
}

}  // namespace latentkit::ops
