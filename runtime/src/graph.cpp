#include "latentkit/graph.h"

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

const char* to_string(OpKind kind) {
  switch (kind) {
    case OpKind::fully_connected: return "fully_connected";
    case OpKind::reshape: return "reshape";
    case OpKind::conv2d: return "conv2d";
    case OpKind::transpose_conv2d: return "transpose_conv2d";
    case OpKind::relu: return "relu";
    case OpKind::sigmoid: return "sigmoid";
    case OpKind::tanh: return "tanh";
  }
  return "?";
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

int LatentSpec::dims() const {
  int n = 0;
  for (const LatentGroup& g : groups) n += g.dims();
  return n;
}

}  // namespace latentkit
