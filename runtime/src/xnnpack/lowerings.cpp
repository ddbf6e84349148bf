#include "xnnpack/subgraph_builder.h"

namespace latentkit::xnnpack {

// Defined in the op's own file of this folder.
extern const Lowering fully_connected_lowering;
extern const Lowering reshape_lowering;
extern const Lowering conv2d_lowering;
extern const Lowering transpose_conv2d_lowering;
extern const Lowering relu_lowering;
extern const Lowering sigmoid_lowering;
extern const Lowering tanh_lowering;
extern const Lowering quantize_lowering;
extern const Lowering dequantize_lowering;
extern const Lowering max_pool2d_lowering;
extern const Lowering max_unpool2d_lowering;
extern const Lowering upsample_nearest2d_lowering;

// Without a default branch, an op without a lowering is a compiler warning (-Wswitch).
const Lowering& lowering(OpKind kind) {
  switch (kind) {
    case OpKind::fully_connected: return fully_connected_lowering;
    case OpKind::reshape: return reshape_lowering;
    case OpKind::conv2d: return conv2d_lowering;
    case OpKind::transpose_conv2d: return transpose_conv2d_lowering;
    case OpKind::relu: return relu_lowering;
    case OpKind::sigmoid: return sigmoid_lowering;
    case OpKind::tanh: return tanh_lowering;
    case OpKind::quantize: return quantize_lowering;
    case OpKind::dequantize: return dequantize_lowering;
    case OpKind::max_pool2d: return max_pool2d_lowering;
    case OpKind::max_unpool2d: return max_unpool2d_lowering;
    case OpKind::upsample_nearest2d: return upsample_nearest2d_lowering;
  }
  return relu_lowering;  // not reached for a valid OpKind
}

}  // namespace latentkit::xnnpack
