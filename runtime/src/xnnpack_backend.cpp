// The XNNPACK backend: one method's graph as one XNNPACK subgraph (Debian bookworm's 2022 build,
// libxnnpack0 0.0~git20220216.ae108ef). Every XNNPACK call in latentkit lives in this file.
//
// Build: define one XNNPACK value per tensor the ops use (activations with the batch prepended,
// constants as static data pointing into the model's bytes), one or more nodes per op, create
// the runtime (this packs the weights) and set it up once with the backend's own input and
// output buffers. invoke() copies the inputs in, invokes the runtime and copies the outputs out.
//
// Why own buffers and a single xnn_setup_runtime at build, instead of setting up the caller's
// pointers on every run:
// - XNNPACK may read up to XNN_EXTRA_BYTES past the end of an input array, and backend.h does
//   not ask callers for that slack; our input buffer has it.
// - xnn_setup_runtime returns a status and, in this XNNPACK version, (re)allocates the
//   convolution and deconvolution indirection buffers whenever the sizes differ from the last
//   setup (src/operators/{convolution,deconvolution}-nhwc.c). Done once at build, all of that
//   happens where failing is allowed; run() is left with xnn_invoke_runtime, which cannot fail
//   on a runtime that was set up successfully, and two copies that are small next to the
//   convolutions.
//
// Op mapping:
//   fully_connected   -> xnn_define_fully_connected ([N, in] x [out, in]^T)
//   reshape           -> xnn_define_static_reshape
//   conv2d            -> xnn_define_convolution_2d (groups = 1)
//   transpose_conv2d  -> xnn_define_deconvolution_2d (groups = 1, dilation 1; XNNPACK requires
//                        adjustment < stride, as PyTorch's output_padding does)
//   relu              -> xnn_define_clamp(0, +inf); the optimiser fuses it into its producer
//   sigmoid           -> xnn_define_sigmoid
//   tanh              -> 2 * sigmoid(2x) - 1 (this XNNPACK has no fp32 tanh node): multiply2,
//                        sigmoid, multiply2, add2 clamped to [-1, 1], with scalar constants held
//                        by the backend. The identity is exact; in float it costs an absolute
//                        error of about one ulp of 1 (6e-8) near 0.
//
// int8 activations (QuantMode::int8 files), all natively in XNNPACK's int8 kernels:
//   quantize / dequantize -> xnn_define_convert
//   fully_connected   -> a 1x1 convolution between two static reshapes: this XNNPACK has
//                        per-channel int8 weights (qcint8) for convolutions only
//   conv2d            -> xnn_define_convolution_2d with qcint8 weights and qcint32 bias
//   transpose_conv2d  -> sub-pixel form (add_integer_transpose_conv2d): a stride-1 convolution
//                        computing every output phase as channels, a 0/1 deconvolution that
//                        interleaves them, and an identity convolution cropping surplus rows;
//                        both helpers requantise by exactly 1
//   relu, reshape     -> clamp and static reshape on int8 values
// Everything is integer arithmetic with the same rounding as the reference backend, whose
// output it matches (tests/runtime/test_quantize.cpp).
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
#include <pthreadpool.h>
#include <xnnpack.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "latentkit/backend.h"
#include "latentkit/error.h"
#include "latentkit/graph.h"
#include "latentkit/memory_plan.h"
#include "latentkit/model.h"
#include "backend_workspace.h"
#include "saturating.h"

namespace latentkit {
using detail::saturating_add;
using detail::saturating_product;
namespace {

const char* to_string(xnn_status status) {
  switch (status) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
  }
  return "unknown status";
}

// Throws Error(backend) unless `status` is success; `what` names the call and the op.
void check(xnn_status status, const std::string& what) {
  if (status != xnn_status_success) {
    throw Error(status == xnn_status_out_of_memory ? ErrorCode::out_of_memory : ErrorCode::backend,
                "xnnpack backend: " + what + " failed: " + to_string(status));
  }
}

// XNNPACK's allocations, counted: the bytes it holds are what the memory plan's workspace
// estimate must cover (tests/runtime/test_memory_plan.cpp compares them). malloc and free as
// XNNPACK's default allocator uses, so that memory allocated before or after another user of
// XNNPACK in the process (libtorch calls xnn_initialize too) is freed correctly either way.
std::atomic<int64_t> xnnpack_bytes{0};

std::size_t usable_size(void* p) {
#ifdef __GLIBC__
  return malloc_usable_size(p);
#else
  (void)p;
  return 0;  // not counted where the C library cannot say
#endif
}

void* counted(void* p) {
  if (p != nullptr) xnnpack_bytes += static_cast<int64_t>(usable_size(p));
  return p;
}

void* xnn_allocate(void*, std::size_t size) { return counted(std::malloc(size)); }

void xnn_deallocate(void*, void* pointer);

void* xnn_reallocate(void* context, void* pointer, std::size_t size) {
  if (size == 0) {  // glibc's realloc(p, 0) frees p
    xnn_deallocate(context, pointer);
    return nullptr;
  }
  const std::size_t before = pointer != nullptr ? usable_size(pointer) : 0;
  void* moved = std::realloc(pointer, size);
  if (moved != nullptr) xnnpack_bytes += static_cast<int64_t>(usable_size(moved)) - static_cast<int64_t>(before);
  return moved;
}

void xnn_deallocate(void*, void* pointer) {
  if (pointer == nullptr) return;
  xnnpack_bytes -= static_cast<int64_t>(usable_size(pointer));
  std::free(pointer);
}

void* xnn_aligned_allocate(void*, std::size_t alignment, std::size_t size) {
  void* p = nullptr;
  return posix_memalign(&p, alignment, size) == 0 ? counted(p) : nullptr;
}

const xnn_allocator kCountingAllocator = {nullptr, xnn_allocate, xnn_reallocate, xnn_deallocate,
                                          xnn_aligned_allocate, xnn_deallocate};

// xnn_initialize once per process (a function-local static is initialised thread-safely). It
// is never undone: XNNPACK's state lives as long as the process, as for every other user.
void initialize_xnnpack() {
  static const xnn_status status = xnn_initialize(&kCountingAllocator);
  check(status, "xnn_initialize");
}

struct SubgraphDeleter {
  void operator()(xnn_subgraph_t subgraph) const { xnn_delete_subgraph(subgraph); }
};
struct RuntimeDeleter {
  void operator()(xnn_runtime_t runtime) const { xnn_delete_runtime(runtime); }
};
struct ThreadpoolDeleter {
  void operator()(pthreadpool_t threadpool) const { pthreadpool_destroy(threadpool); }
};
using SubgraphPtr = std::unique_ptr<xnn_subgraph, SubgraphDeleter>;
using RuntimePtr = std::unique_ptr<xnn_runtime, RuntimeDeleter>;
using ThreadpoolPtr = std::unique_ptr<pthreadpool, ThreadpoolDeleter>;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string op_name(int op_index, const Op& op) {
  return "operator " + std::to_string(op_index) + " (" + to_string(op.kind) + ")";
}


bool has_bias(const Op& op) { return op.inputs[2] != -1; }

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

// Static data XNNPACK reads gets this many floats of slack (XNN_EXTRA_BYTES).
constexpr std::size_t kExtraFloats = (XNN_EXTRA_BYTES + sizeof(float) - 1) / sizeof(float);

// External value ids reserved in the subgraph: the method's inputs, then its outputs.
uint32_t external_input_id(std::size_t input) { return static_cast<uint32_t>(input); }
uint32_t external_output_id(const Graph& graph, std::size_t output) {
  return static_cast<uint32_t>(graph.inputs.size() + output);
}

// Translates the graph into an XNNPACK subgraph. Lives only while the backend is built.
class SubgraphBuilder {
 public:
  SubgraphBuilder(const Graph& graph, int batch, const float* two, const float* minus_one,
                  std::vector<std::vector<float>>* owned)
      : graph_(graph), batch_(batch), two_(two), minus_one_(minus_one), owned_(owned),
        values_(graph.tensors.size(), XNN_INVALID_VALUE_ID) {
    xnn_subgraph_t subgraph = nullptr;
    check(xnn_create_subgraph(static_cast<uint32_t>(graph.inputs.size() + graph.outputs.size()), /*flags=*/0,
                              &subgraph),
          "xnn_create_subgraph");
    subgraph_.reset(subgraph);
  }

  // Defines the method's inputs and outputs as the external values invoke() binds, so that they
  // exist whatever the ops do with them.
  void add_external_values();
  void add_op(int op_index, const Op& op);
  SubgraphPtr release() { return std::move(subgraph_); }

 private:
  // The value of an activation tensor (input/output are external), defined on first use.
  uint32_t activation(int op_index, const Op& op, int tensor_index) {
    return define_activation(tensor_index, op_name(op_index, op));
  }
  uint32_t define_activation(int tensor_index, const std::string& context);
  const Tensor& tensor(int index) const {
    return graph_.tensors[static_cast<std::size_t>(index)];
  }
  uint32_t constant(int op_index, const Op& op, int tensor_index);
  uint32_t internal_value(int op_index, const Op& op, const std::vector<std::size_t>& dims,
                          const float* data);
  std::vector<std::size_t> batched_dims(const Tensor& t) const;

  void add_fully_connected(int op_index, const Op& op);
  void add_window_op(int op_index, const Op& op);
  // Integer (int8) forms; see "int8 activations" at the top of this file.
  void add_integer_fully_connected(int op_index, const Op& op);
  void add_integer_conv2d(int op_index, const Op& op);
  void add_integer_transpose_conv2d(int op_index, const Op& op);
  uint32_t int8_value(int op_index, const Op& op, const std::vector<std::size_t>& dims, const Tensor& like);
  uint32_t channelwise_weights(int op_index, const Op& op, const std::vector<std::size_t>& dims,
                               const int8_t* data, const std::vector<float>& scales);
  uint32_t channelwise_bias(int op_index, const Op& op, const int32_t* data, const std::vector<float>& scales);
  // The op's int32 bias with the scales the loader implied for it (s_x * s_w[c]), or none.
  uint32_t integer_bias(int op_index, const Op& op);
  template <typename T>
  T* own(std::size_t count);
  void add_reshape(int op_index, const Op& op);
  void add_activation_function(int op_index, const Op& op);

  const Graph& graph_;
  int batch_;
  const float* two_;        // static scalars for tanh, owned by the backend
  const float* minus_one_;
  std::vector<std::vector<float>>* owned_;  // static data the builder makes, kept by the backend
  std::vector<uint32_t> values_;  // XNNPACK value id per tensor, once defined
  SubgraphPtr subgraph_;
};

std::vector<std::size_t> SubgraphBuilder::batched_dims(const Tensor& t) const {
  std::vector<std::size_t> dims{static_cast<std::size_t>(batch_)};
  for (int64_t d : t.shape) dims.push_back(static_cast<std::size_t>(d));
  return dims;
}

void SubgraphBuilder::add_external_values() {
  for (std::size_t i = 0; i < graph_.inputs.size(); ++i) define_activation(graph_.inputs[i], "input " + std::to_string(i));
  for (std::size_t i = 0; i < graph_.outputs.size(); ++i) define_activation(graph_.outputs[i], "output " + std::to_string(i));
}

uint32_t SubgraphBuilder::define_activation(int tensor_index, const std::string& context) {
  const Tensor& t = tensor(tensor_index);
  uint32_t& id = values_[static_cast<std::size_t>(tensor_index)];
  if (id != XNN_INVALID_VALUE_ID) return id;
  if (t.shape.size() + 1 > XNN_MAX_TENSOR_DIMS) {
    throw Error(ErrorCode::unsupported_model,
                "xnnpack backend: " + context + ": tensor '" + t.name + "' of shape " +
                    shape_string(t.shape) + " has more than " +
                    std::to_string(XNN_MAX_TENSOR_DIMS - 1) + " dimensions per example");
  }
  uint32_t external_id = XNN_INVALID_VALUE_ID, flags = 0;
  for (std::size_t i = 0; i < graph_.inputs.size(); ++i) {
    if (tensor_index == graph_.inputs[i]) {
      external_id = external_input_id(i);
      flags |= XNN_VALUE_FLAG_EXTERNAL_INPUT;
    }
  }
  for (std::size_t i = 0; i < graph_.outputs.size(); ++i) {
    if (tensor_index == graph_.outputs[i]) {
      external_id = external_output_id(graph_, i);
      flags |= XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    }
  }
  const std::vector<std::size_t> dims = batched_dims(t);
  if (t.dtype == DType::int8) {
    check(xnn_define_quantized_tensor_value(subgraph_.get(), xnn_datatype_qint8,
                                            static_cast<int32_t>(t.quantization.zero_points[0]),
                                            t.quantization.scales[0], dims.size(), dims.data(),
                                            /*data=*/nullptr, external_id, flags, &id),
          "xnn_define_quantized_tensor_value for tensor '" + t.name + "' of " + context);
    return id;
  }
  check(xnn_define_tensor_value(subgraph_.get(), xnn_datatype_fp32, dims.size(), dims.data(),
                                /*data=*/nullptr, external_id, flags, &id),
        "xnn_define_tensor_value for tensor '" + t.name + "' of " + context);
  return id;
}

uint32_t SubgraphBuilder::constant(int op_index, const Op& op, int tensor_index) {
  const Tensor& t = tensor(tensor_index);
  uint32_t& id = values_[static_cast<std::size_t>(tensor_index)];
  if (id != XNN_INVALID_VALUE_ID) return id;
  std::vector<std::size_t> dims;
  for (int64_t d : t.shape) dims.push_back(static_cast<std::size_t>(d));
  // The data must outlive the runtime: the backend holds model.keep_alive().
  check(xnn_define_tensor_value(subgraph_.get(), xnn_datatype_fp32, dims.size(), dims.data(),
                                t.f32(), XNN_INVALID_VALUE_ID, /*flags=*/0, &id),
        "xnn_define_tensor_value for constant '" + t.name + "' of " + op_name(op_index, op));
  return id;
}

// A value that exists only inside XNNPACK: an intermediate of a decomposed op, or (with data)
// one of the backend's static scalars.
uint32_t SubgraphBuilder::internal_value(int op_index, const Op& op,
                                         const std::vector<std::size_t>& dims,
                                         const float* data) {
  uint32_t id = XNN_INVALID_VALUE_ID;
  check(xnn_define_tensor_value(subgraph_.get(), xnn_datatype_fp32, dims.size(), dims.data(),
                                data, XNN_INVALID_VALUE_ID, /*flags=*/0, &id),
        "xnn_define_tensor_value for an intermediate of " + op_name(op_index, op));
  return id;
}

// The graph satisfies everything graph.h promises (Model::load checked it); only what is
// particular to XNNPACK is handled here.
void SubgraphBuilder::add_op(int op_index, const Op& op) {
  switch (op.kind) {
    case OpKind::fully_connected:
      add_fully_connected(op_index, op);
      break;
    case OpKind::conv2d:
    case OpKind::transpose_conv2d:
      add_window_op(op_index, op);
      break;
    case OpKind::reshape:
      add_reshape(op_index, op);
      break;
    case OpKind::relu:
    case OpKind::sigmoid:
    case OpKind::tanh:
      add_activation_function(op_index, op);
      break;
    case OpKind::quantize:
    case OpKind::dequantize:
      check(xnn_define_convert(subgraph_.get(), activation(op_index, op, op.inputs[0]),
                               activation(op_index, op, op.outputs[0]), /*flags=*/0),
            "xnn_define_convert for " + op_name(op_index, op));
      break;
  }
}

void SubgraphBuilder::add_fully_connected(int op_index, const Op& op) {
  if (tensor(op.inputs[0]).dtype == DType::int8) return add_integer_fully_connected(op_index, op);
  const uint32_t input = activation(op_index, op, op.inputs[0]);
  const uint32_t weights = constant(op_index, op, op.inputs[1]);
  const uint32_t bias = has_bias(op) ? constant(op_index, op, op.inputs[2]) : XNN_INVALID_VALUE_ID;
  const uint32_t output = activation(op_index, op, op.outputs[0]);
  check(xnn_define_fully_connected(subgraph_.get(), -std::numeric_limits<float>::infinity(),
                                   std::numeric_limits<float>::infinity(), input, weights, bias,
                                   output, /*flags=*/0),
        "xnn_define_fully_connected for " + op_name(op_index, op));
}

void SubgraphBuilder::add_window_op(int op_index, const Op& op) {
  if (tensor(op.inputs[0]).dtype == DType::int8) {
    return op.kind == OpKind::conv2d ? add_integer_conv2d(op_index, op) : add_integer_transpose_conv2d(op_index, op);
  }
  const bool transposed = op.kind == OpKind::transpose_conv2d;
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& w = tensor(op.inputs[1]);
  const Tensor& y = tensor(op.outputs[0]);
  const Window& win = op.window;
  const int64_t cin = x.shape[2], cout = w.shape[0], kh = w.shape[1], kw = w.shape[2];
  const int64_t oh = y.shape[0], ow = y.shape[1];
  const uint32_t input = activation(op_index, op, op.inputs[0]);
  const uint32_t filter = constant(op_index, op, op.inputs[1]);
  const uint32_t bias = has_bias(op) ? constant(op_index, op, op.inputs[2]) : XNN_INVALID_VALUE_ID;
  const uint32_t output = activation(op_index, op, op.outputs[0]);
  const float lo = -std::numeric_limits<float>::infinity();
  const float hi = std::numeric_limits<float>::infinity();
  const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  if (transposed) {
    const DeconvolutionPlan plan = plan_deconvolution(x, w, y, win);
    const bool crop_h = plan.crop_h, crop_w = plan.crop_w;
    const Window& deconv = plan.deconv;
    const int64_t full_h = plan.full_h, full_w = plan.full_w;
    const uint32_t deconv_output =
        crop_h || crop_w
            ? internal_value(op_index, op,
                             {static_cast<std::size_t>(batch_), static_cast<std::size_t>(full_h),
                              static_cast<std::size_t>(full_w), static_cast<std::size_t>(cout)},
                             nullptr)
            : output;
    check(xnn_define_deconvolution_2d(
              subgraph_.get(), u32(deconv.pad_top), u32(deconv.pad_right),
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
      std::vector<float>& weights = owned_->emplace_back(
          static_cast<std::size_t>(cout * eh * ew * cout) + kExtraFloats, 0.0f);
      for (int64_t c = 0; c < cout; ++c) {
        weights[static_cast<std::size_t>(((c * eh + tap_y) * ew + tap_x) * cout + c)] = 1.0f;
      }
      const uint32_t crop_filter = internal_value(
          op_index, op,
          {static_cast<std::size_t>(cout), static_cast<std::size_t>(eh),
           static_cast<std::size_t>(ew), static_cast<std::size_t>(cout)},
          weights.data());
      check(xnn_define_convolution_2d(subgraph_.get(), 0, 0, 0, 0, u32(eh), u32(ew), 1, 1, 1, 1,
                                      /*groups=*/1, static_cast<std::size_t>(cout),
                                      static_cast<std::size_t>(cout), lo, hi, deconv_output,
                                      crop_filter, XNN_INVALID_VALUE_ID, output, /*flags=*/0),
            "xnn_define_convolution_2d (crop after deconvolution) for " +
                op_name(op_index, op));
    }
  } else {
    check(xnn_define_convolution_2d(
              subgraph_.get(), u32(win.pad_top), u32(win.pad_right), u32(win.pad_bottom),
              u32(win.pad_left), u32(kh), u32(kw), u32(win.stride_h), u32(win.stride_w),
              u32(win.dilation_h), u32(win.dilation_w), /*groups=*/1,
              static_cast<std::size_t>(cin), static_cast<std::size_t>(cout), lo, hi, input,
              filter, bias, output, /*flags=*/0),
          "xnn_define_convolution_2d for " + op_name(op_index, op));
  }
}

void SubgraphBuilder::add_reshape(int op_index, const Op& op) {
  const Tensor& y = tensor(op.outputs[0]);
  const uint32_t input = activation(op_index, op, op.inputs[0]);
  const uint32_t output = activation(op_index, op, op.outputs[0]);
  const std::vector<std::size_t> new_shape = batched_dims(y);
  check(xnn_define_static_reshape(subgraph_.get(), new_shape.size(), new_shape.data(), input,
                                  output, /*flags=*/0),
        "xnn_define_static_reshape for " + op_name(op_index, op));
}

void SubgraphBuilder::add_activation_function(int op_index, const Op& op) {
  const Tensor& x = tensor(op.inputs[0]);
  const uint32_t input = activation(op_index, op, op.inputs[0]);
  const uint32_t output = activation(op_index, op, op.outputs[0]);
  const float inf = std::numeric_limits<float>::infinity();
  if (op.kind == OpKind::relu) {
    check(xnn_define_clamp(subgraph_.get(), 0.0f, inf, input, output, /*flags=*/0),
          "xnn_define_clamp for " + op_name(op_index, op));
  } else if (op.kind == OpKind::sigmoid) {
    check(xnn_define_sigmoid(subgraph_.get(), input, output, /*flags=*/0),
          "xnn_define_sigmoid for " + op_name(op_index, op));
  } else {
    // tanh(x) = 2 sigmoid(2x) - 1.
    const std::vector<std::size_t> dims = batched_dims(x);
    const std::vector<std::size_t> scalar{1};
    const uint32_t two = internal_value(op_index, op, scalar, two_);
    const uint32_t minus_one = internal_value(op_index, op, scalar, minus_one_);
    const uint32_t doubled = internal_value(op_index, op, dims, nullptr);
    const uint32_t squashed = internal_value(op_index, op, dims, nullptr);
    const uint32_t stretched = internal_value(op_index, op, dims, nullptr);
    const std::string name = op_name(op_index, op);
    check(xnn_define_multiply2(subgraph_.get(), -inf, inf, input, two, doubled, 0),
          "xnn_define_multiply2 (2x) for " + name);
    check(xnn_define_sigmoid(subgraph_.get(), doubled, squashed, 0),
          "xnn_define_sigmoid (sigmoid(2x)) for " + name);
    check(xnn_define_multiply2(subgraph_.get(), -inf, inf, squashed, two, stretched, 0),
          "xnn_define_multiply2 (2 sigmoid(2x)) for " + name);
    check(xnn_define_add2(subgraph_.get(), -1.0f, 1.0f, stretched, minus_one, output, 0),
          "xnn_define_add2 (2 sigmoid(2x) - 1) for " + name);
  }
}

// The scalars of the tanh decomposition. XNNPACK reads static data in place for the lifetime of
// the runtime, and may read up to XNN_EXTRA_BYTES past it: pad each to 16 bytes and more.
struct alignas(16) TanhConstants {
  float two[8] = {2, 2, 2, 2, 2, 2, 2, 2};
  float minus_one[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
};

// ---------------------------------------------------------------------------------------------
// Integer ops

template <typename T>
T* SubgraphBuilder::own(std::size_t count) {
  // Kept by the backend for as long as the runtime: XNNPACK keeps pointers to static data.
  std::vector<float>& storage = owned_->emplace_back((count * sizeof(T) + sizeof(float) - 1) / sizeof(float) + kExtraFloats, 0.0f);
  return reinterpret_cast<T*>(storage.data());
}

uint32_t SubgraphBuilder::int8_value(int op_index, const Op& op, const std::vector<std::size_t>& dims,
                                     const Tensor& like) {
  uint32_t id = XNN_INVALID_VALUE_ID;
  check(xnn_define_quantized_tensor_value(subgraph_.get(), xnn_datatype_qint8,
                                          static_cast<int32_t>(like.quantization.zero_points[0]),
                                          like.quantization.scales[0], dims.size(), dims.data(), nullptr,
                                          XNN_INVALID_VALUE_ID, /*flags=*/0, &id),
        "xnn_define_quantized_tensor_value for an intermediate of " + op_name(op_index, op));
  return id;
}

uint32_t SubgraphBuilder::channelwise_weights(int op_index, const Op& op, const std::vector<std::size_t>& dims,
                                              const int8_t* data, const std::vector<float>& scales) {
  float* kept_scales = own<float>(scales.size());
  std::copy(scales.begin(), scales.end(), kept_scales);
  uint32_t id = XNN_INVALID_VALUE_ID;
  check(xnn_define_channelwise_quantized_tensor_value(subgraph_.get(), xnn_datatype_qcint8, kept_scales, dims.size(),
                                                      /*channel_dim=*/0, dims.data(), data, XNN_INVALID_VALUE_ID,
                                                      /*flags=*/0, &id),
        "xnn_define_channelwise_quantized_tensor_value (weights) for " + op_name(op_index, op));
  return id;
}

uint32_t SubgraphBuilder::channelwise_bias(int op_index, const Op& op, const int32_t* data,
                                           const std::vector<float>& scales) {
  float* kept_scales = own<float>(scales.size());
  std::copy(scales.begin(), scales.end(), kept_scales);
  const std::size_t dims[] = {scales.size()};
  uint32_t id = XNN_INVALID_VALUE_ID;
  check(xnn_define_channelwise_quantized_tensor_value(subgraph_.get(), xnn_datatype_qcint32, kept_scales, 1, 0, dims,
                                                      data, XNN_INVALID_VALUE_ID, /*flags=*/0, &id),
        "xnn_define_channelwise_quantized_tensor_value (bias) for " + op_name(op_index, op));
  return id;
}

uint32_t SubgraphBuilder::integer_bias(int op_index, const Op& op) {
  if (!has_bias(op)) return XNN_INVALID_VALUE_ID;
  const Tensor& bias = tensor(op.inputs[2]);
  return channelwise_bias(op_index, op, static_cast<const int32_t*>(bias.data), bias.quantization.scales);
}

namespace {

// Per output channel scales of int8 weights (a per-tensor scale repeated).
std::vector<float> weight_scales(const Tensor& w) {
  const std::size_t channels = static_cast<std::size_t>(w.shape[0]);
  return w.quantization.axis == 0 ? w.quantization.scales : std::vector<float>(channels, w.quantization.scales[0]);
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

}  // namespace

// An int8 fully connected layer as a 1x1 convolution, because this XNNPACK has per-channel int8
// weights (qcint8) for convolutions only: [B, in] -> [B, 1, 1, in] -> conv -> [B, 1, 1, out].
void SubgraphBuilder::add_integer_fully_connected(int op_index, const Op& op) {
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& w = tensor(op.inputs[1]);
  const Tensor& y = tensor(op.outputs[0]);
  const std::size_t b = static_cast<std::size_t>(batch_), in = static_cast<std::size_t>(x.shape[0]),
                    out = static_cast<std::size_t>(y.shape[0]);
  const std::string name = op_name(op_index, op);
  const std::vector<std::size_t> image_in{b, 1, 1, in}, image_out{b, 1, 1, out};
  const uint32_t x4 = int8_value(op_index, op, image_in, x), y4 = int8_value(op_index, op, image_out, y);
  check(xnn_define_static_reshape(subgraph_.get(), 4, image_in.data(), activation(op_index, op, op.inputs[0]), x4, 0),
        "xnn_define_static_reshape (to 1x1 image) for " + name);
  const uint32_t filter = channelwise_weights(op_index, op, {out, 1, 1, in}, static_cast<const int8_t*>(w.data), weight_scales(w));
  const uint32_t bias = integer_bias(op_index, op);
  const float inf = std::numeric_limits<float>::infinity();
  check(xnn_define_convolution_2d(subgraph_.get(), 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, in, out, -inf, inf, x4, filter, bias,
                                  y4, 0),
        "xnn_define_convolution_2d (as fully connected) for " + name);
  const std::vector<std::size_t> flat = batched_dims(y);
  check(xnn_define_static_reshape(subgraph_.get(), flat.size(), flat.data(), y4, activation(op_index, op, op.outputs[0]), 0),
        "xnn_define_static_reshape (from 1x1 image) for " + name);
}

void SubgraphBuilder::add_integer_conv2d(int op_index, const Op& op) {
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& w = tensor(op.inputs[1]);
  const Window& win = op.window;
  const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  std::vector<std::size_t> dims(w.shape.begin(), w.shape.end());
  const uint32_t filter = channelwise_weights(op_index, op, dims, static_cast<const int8_t*>(w.data), weight_scales(w));
  const uint32_t bias = integer_bias(op_index, op);
  const float inf = std::numeric_limits<float>::infinity();
  check(xnn_define_convolution_2d(subgraph_.get(), u32(win.pad_top), u32(win.pad_right), u32(win.pad_bottom),
                                  u32(win.pad_left), u32(w.shape[1]), u32(w.shape[2]), u32(win.stride_h),
                                  u32(win.stride_w), u32(win.dilation_h), u32(win.dilation_w), 1,
                                  static_cast<std::size_t>(x.shape[2]), static_cast<std::size_t>(w.shape[0]), -inf, inf,
                                  activation(op_index, op, op.inputs[0]), filter, bias,
                                  activation(op_index, op, op.outputs[0]), 0),
        "xnn_define_convolution_2d for " + op_name(op_index, op));
}

// This XNNPACK's int8 deconvolution takes one weight scale per tensor, which would lose the
// per-channel precision of the file. The exact equivalent used instead: a stride-1 int8
// convolution with per-channel weights that computes all stride_h x stride_w output phases as
// separate channels, then a deconvolution whose 0/1 weights only interleave those channels into
// pixels (depth to space; this XNNPACK's depth-to-space node has no int8 form). The second step
// requantises with a multiplier of exactly 1, so it changes no value.
void SubgraphBuilder::add_integer_transpose_conv2d(int op_index, const Op& op) {
  const Tensor& x = tensor(op.inputs[0]);
  const Tensor& w = tensor(op.inputs[1]);
  const Tensor& y = tensor(op.outputs[0]);
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
  int8_t* weights = own<int8_t>(channels * rows.taps * cols.taps * cin);
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
  const uint32_t filter = channelwise_weights(
      op_index, op, {channels, static_cast<std::size_t>(rows.taps), static_cast<std::size_t>(cols.taps), static_cast<std::size_t>(cin)},
      weights, scales);
  uint32_t bias = XNN_INVALID_VALUE_ID;
  if (has_bias(op)) {
    const Tensor& original = tensor(op.inputs[2]);
    const auto* original_bias = static_cast<const int32_t*>(original.data);
    int32_t* phase_bias = own<int32_t>(channels);
    std::vector<float> phase_bias_scales(channels);
    for (std::size_t oc = 0; oc < channels; ++oc) {
      phase_bias[oc] = original_bias[oc % static_cast<std::size_t>(cout)];
      phase_bias_scales[oc] = original.quantization.scales[oc % static_cast<std::size_t>(cout)];
    }
    bias = channelwise_bias(op_index, op, phase_bias, phase_bias_scales);
  }
  const float inf = std::numeric_limits<float>::infinity();
  const uint32_t input = activation(op_index, op, op.inputs[0]);
  const uint32_t output = activation(op_index, op, op.outputs[0]);
  const bool crop = rows.surplus > 0 || cols.surplus > 0;
  const std::size_t full_h = static_cast<std::size_t>(rows.stride * rows.phase_size),
                    full_w = static_cast<std::size_t>(cols.stride * cols.phase_size);
  const uint32_t interleaved =
      crop ? int8_value(op_index, op, {static_cast<std::size_t>(batch_), full_h, full_w, static_cast<std::size_t>(cout)}, y)
           : output;
  const uint32_t phased = phases == 1 ? interleaved
                                      : int8_value(op_index, op,
                                                   {static_cast<std::size_t>(batch_), static_cast<std::size_t>(rows.phase_size),
                                                    static_cast<std::size_t>(cols.phase_size), channels},
                                                   y);
  check(xnn_define_convolution_2d(subgraph_.get(), static_cast<uint32_t>(rows.pad_before), static_cast<uint32_t>(cols.pad_after),
                                  static_cast<uint32_t>(rows.pad_after), static_cast<uint32_t>(cols.pad_before),
                                  static_cast<uint32_t>(rows.taps), static_cast<uint32_t>(cols.taps), 1, 1, 1, 1, 1,
                                  static_cast<std::size_t>(cin), channels, -inf, inf, input, filter, bias, phased, 0),
        "xnn_define_convolution_2d (sub-pixel phases) for " + name);
  if (phases > 1) {
    int8_t* interleave = own<int8_t>(static_cast<std::size_t>(cout) * phases * channels);
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
    check(xnn_define_quantized_tensor_value(subgraph_.get(), xnn_datatype_qint8, 0, 1.0f, 4, interleave_dims, interleave,
                                            XNN_INVALID_VALUE_ID, 0, &interleave_id),
          "xnn_define_quantized_tensor_value (interleave) for " + name);
    check(xnn_define_deconvolution_2d(subgraph_.get(), 0, 0, 0, 0, 0, 0, static_cast<uint32_t>(rows.stride),
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
  int8_t* identity = own<int8_t>(c * eh * ew * c);
  for (std::size_t k = 0; k < c; ++k) identity[(k * eh * ew) * c + k] = 1;
  const std::size_t identity_dims[] = {c, eh, ew, c};
  uint32_t identity_id = XNN_INVALID_VALUE_ID;
  check(xnn_define_quantized_tensor_value(subgraph_.get(), xnn_datatype_qint8, 0, 1.0f, 4, identity_dims, identity,
                                          XNN_INVALID_VALUE_ID, 0, &identity_id),
        "xnn_define_quantized_tensor_value (crop) for " + name);
  check(xnn_define_convolution_2d(subgraph_.get(), 0, 0, 0, 0, static_cast<uint32_t>(eh), static_cast<uint32_t>(ew), 1, 1, 1,
                                  1, 1, c, c, -inf, inf, interleaved, identity_id, XNN_INVALID_VALUE_ID, output, 0),
        "xnn_define_convolution_2d (crop) for " + name);
}

class XnnpackBackend final : public Backend {
 public:
  XnnpackBackend(const Model& model, const Method& method, int batch, const BackendOptions& options);

  void invoke(const float* const* inputs, float* const* outputs) override {
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      std::memcpy(inputs_[i].data(), inputs[i], sizeof(float) * input_counts_[i]);
    }
    // Cannot fail: the runtime was set up at build with these same buffers and sizes, and
    // invoking a set-up runtime only runs its operators. Should XNNPACK ever disagree, stop
    // loudly rather than hand back an image that was not computed.
    const xnn_status status = xnn_invoke_runtime(runtime_.get());
    if (status != xnn_status_success) {
      std::fprintf(stderr, "latentkit: xnn_invoke_runtime failed: %s\n", to_string(status));
      std::abort();
    }
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      std::memcpy(outputs[i], outputs_[i].data(), sizeof(float) * output_counts_[i]);
    }
  }

  BackendKind kind() const override { return BackendKind::xnnpack; }

 private:
  // Destruction runs bottom-up: the runtime goes first, then the pool it uses, then the
  // buffers and constant data it points into.
  std::shared_ptr<const void> keep_alive_;  // static tensors point into the model's bytes
  TanhConstants tanh_constants_;
  std::vector<std::vector<float>> owned_constants_;  // static data made at build (see builder)
  std::vector<std::vector<float>> inputs_, outputs_;  // with XNN_EXTRA_BYTES of slack
  std::vector<std::size_t> input_counts_, output_counts_;
  ThreadpoolPtr threadpool_;
  RuntimePtr runtime_;
};

XnnpackBackend::XnnpackBackend(const Model& model, const Method& method, int batch, const BackendOptions& options)
    : Backend(method, batch), keep_alive_(model.keep_alive()) {
  const Graph& graph = method.graph;
  for (const Tensor& t : graph.tensors) {
    if (!t.is_constant() && t.elements() > std::numeric_limits<int32_t>::max() / batch) {
      throw Error(ErrorCode::invalid_argument,
                  "xnnpack backend: batch size " + std::to_string(batch) +
                      " is too large for tensor '" + t.name + "' of " +
                      std::to_string(t.elements()) + " elements");
    }
  }

  initialize_xnnpack();

  SubgraphBuilder builder(graph, batch, tanh_constants_.two, tanh_constants_.minus_one,
                          &owned_constants_);
  builder.add_external_values();
  for (std::size_t i = 0; i < graph.ops.size(); ++i) {
    builder.add_op(static_cast<int>(i), graph.ops[i]);
  }
  const SubgraphPtr subgraph = builder.release();

  if (options.threads > 1) {
    threadpool_.reset(pthreadpool_create(static_cast<std::size_t>(options.threads)));
    if (!threadpool_) {
      throw Error(ErrorCode::backend, "xnnpack backend: could not create a thread pool of " +
                                          std::to_string(options.threads) + " threads");
    }
  }
  xnn_runtime_t runtime = nullptr;
  check(xnn_create_runtime_v2(subgraph.get(), threadpool_.get(), /*flags=*/0, &runtime),
        "xnn_create_runtime_v2");
  runtime_.reset(runtime);

  std::vector<xnn_external_value> externals;
  for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
    input_counts_.push_back(static_cast<std::size_t>(graph.tensors[static_cast<std::size_t>(graph.inputs[i])].elements() * batch));
    inputs_.emplace_back(input_counts_.back() + kExtraFloats, 0.0f);
    externals.push_back({external_input_id(i), inputs_.back().data()});
  }
  for (std::size_t i = 0; i < graph.outputs.size(); ++i) {
    output_counts_.push_back(static_cast<std::size_t>(graph.tensors[static_cast<std::size_t>(graph.outputs[i])].elements() * batch));
    outputs_.emplace_back(output_counts_.back() + kExtraFloats, 0.0f);
    externals.push_back({external_output_id(graph, i), outputs_.back().data()});
  }
  check(xnn_setup_runtime(runtime_.get(), externals.size(), externals.data()), "xnn_setup_runtime");
}

}  // namespace

namespace detail {

// What one XNNPACK node costs beyond its data: the operator object, the runtime's per-node
// record and the subgraph's value records (measured: 3 to 4 KiB per node in this version).
constexpr int64_t kNodeBytes = 4096;

// Follows SubgraphBuilder op by op; every product saturates (a file can ask for anything).
// Work: the multiply-adds of the nodes we define, which differ from the graph's own count
// (multiply_adds) where an op is lowered to several nodes. Memory: XNNPACK 2022 packs weights in tiles of up to 16 output channels with the bias in front of each
// channel's taps, and gives each convolution an indirection buffer of one pointer per kernel tap
// per output pixel; its runtime holds every value we define (activations and intermediates) in
// one arena.
XnnpackCost xnnpack_cost(const Graph& graph, int batch) {
  auto tile = [](int64_t channels) { return (channels + 15) / 16 * 16; };
  auto packed = [&](int64_t out, int64_t taps, int64_t element_bytes) {
    return saturating_product({tile(out), saturating_add(taps, 1), element_bytes == 1 ? 4 : element_bytes});
  };
  auto indirection = [&](int64_t pixels, int64_t taps) {
    return saturating_product({batch, pixels + 16, taps, static_cast<int64_t>(sizeof(void*))});
  };
  auto values = [&](int64_t elements, int64_t element_bytes) {
    return saturating_product({batch, elements, element_bytes});
  };
  // Our own copies of the inputs and outputs, with XNNPACK's slack.
  int64_t bytes = 0;
  for (const std::vector<int>* list : {&graph.inputs, &graph.outputs}) {
    for (int i : *list) {
      bytes = saturating_add(bytes, values(graph.tensors[static_cast<std::size_t>(i)].elements(), 4));
      bytes = saturating_add(bytes, XNN_EXTRA_BYTES);
    }
  }
  bytes = saturating_add(bytes, 4 * kNodeBytes);  // and the runtime itself
  int64_t work = 0;
  for (const Op& op : graph.ops) {
    int64_t op_work = multiply_adds(graph, op);
    const Tensor& x = graph.tensors[static_cast<std::size_t>(op.inputs[0])];
    const Tensor& y = graph.tensors[static_cast<std::size_t>(op.outputs[0])];
    const bool integer = x.dtype == DType::int8;
    const int64_t element = integer ? 1 : 4;
    int64_t op_bytes = kNodeBytes;
    switch (op.kind) {
      case OpKind::fully_connected: {
        const int64_t in = x.shape[0], out = y.shape[0];
        op_bytes = saturating_add(op_bytes, packed(out, in, element));
        if (integer) {  // a 1x1 convolution between two reshapes
          op_bytes = saturating_add(op_bytes, 2 * kNodeBytes);
          op_bytes = saturating_add(op_bytes, saturating_add(indirection(1, 1), values(in + out, 1)));
        }
        break;
      }
      case OpKind::conv2d: {
        const Tensor& w = graph.tensors[static_cast<std::size_t>(op.inputs[1])];
        const int64_t taps = saturating_product({w.shape[1], w.shape[2]});
        op_bytes = saturating_add(op_bytes, packed(w.shape[0], saturating_product({taps, w.shape[3]}), element));
        op_bytes = saturating_add(op_bytes, indirection(y.shape[0] * y.shape[1], taps));
        break;
      }
      case OpKind::transpose_conv2d: {
        const Tensor& w = graph.tensors[static_cast<std::size_t>(op.inputs[1])];
        const Window& win = op.window;
        const int64_t cout = w.shape[0], kh = w.shape[1], kw = w.shape[2], cin = w.shape[3];
        const int64_t strides = saturating_product({win.stride_h, win.stride_w});
        const int64_t pixels = saturating_product({y.shape[0], y.shape[1]});
        if (!integer) {
          // Subconvolutions: one packed kernel and one set of records per stride phase.
          op_bytes = saturating_add(op_bytes, packed(cout, saturating_add(saturating_product({kh, kw, cin}), strides), 4));
          op_bytes = saturating_add(op_bytes, saturating_product({strides, 256}));
          op_bytes = saturating_add(op_bytes, indirection(pixels, saturating_product({kh, kw})));
          // The crop around XNNPACK's small-output defect (add_window_op): the unpadded output,
          // an identity kernel over the padding (ours and XNNPACK's packed copy).
          const DeconvolutionPlan plan = plan_deconvolution(x, w, y, win);
          if (plan.crop_h || plan.crop_w) {
            const int64_t crop_taps = saturating_product({plan.full_h - y.shape[0] + 1, plan.full_w - y.shape[1] + 1});
            op_bytes = saturating_add(op_bytes, kNodeBytes);
            op_bytes = saturating_add(op_bytes, values(saturating_product({plan.full_h, plan.full_w, cout}), 4));
            op_bytes = saturating_add(op_bytes, saturating_product({cout, crop_taps, tile(cout), 8}));
            op_bytes = saturating_add(op_bytes, indirection(pixels, crop_taps));
            op_work = saturating_add(op_work, saturating_product({pixels, cout, crop_taps, cout}));
          }
          break;
        }
        // The sub-pixel form (add_integer_transpose_conv2d): phase weights, the interleaving and
        // cropping kernels, and their intermediates.
        SubPixelAxis rows, cols;
        if (!plan_axis(x.shape[0], kh, win.stride_h, win.pad_top, y.shape[0], rows) ||
            !plan_axis(x.shape[1], kw, win.stride_w, win.pad_left, y.shape[1], cols)) {
          break;  // the builder refuses the op
        }
        op_bytes = saturating_add(op_bytes, 2 * kNodeBytes);  // the interleave and the crop
        const int64_t channels = saturating_product({strides, cout});
        const int64_t taps = saturating_product({rows.taps, cols.taps});
        const int64_t phase_pixels = saturating_product({rows.phase_size, cols.phase_size});
        const int64_t full_pixels = saturating_product({strides, phase_pixels});
        op_bytes = saturating_add(op_bytes, saturating_product({channels, taps, cin, 2}));  // ours + packed
        op_bytes = saturating_add(op_bytes, packed(channels, saturating_product({taps, cin}), 1));
        op_bytes = saturating_add(op_bytes, indirection(phase_pixels, taps));
        op_bytes = saturating_add(op_bytes, values(saturating_product({phase_pixels, channels}), 1));
        op_bytes = saturating_add(op_bytes, saturating_product({cout, strides, channels, 2}));  // interleave
        op_bytes = saturating_add(op_bytes, indirection(full_pixels, strides));
        op_bytes = saturating_add(op_bytes, values(saturating_product({full_pixels, cout}), 1));
        const int64_t crop_taps = saturating_product({rows.surplus + 1, cols.surplus + 1});
        op_bytes = saturating_add(op_bytes, saturating_product({cout, crop_taps, cout, 2}));
        op_bytes = saturating_add(op_bytes, indirection(pixels, crop_taps));
        // The phases' convolution, the interleaving deconvolution (every phase channel into each
        // output pixel) and the crop.
        op_work = saturating_product({phase_pixels, channels, taps, cin});
        op_work = saturating_add(op_work, saturating_product({full_pixels, cout, channels}));
        op_work = saturating_add(op_work, saturating_product({pixels, cout, crop_taps, cout}));
        break;
      }
      case OpKind::tanh:
        // 2 sigmoid(2x) - 1: three more nodes and their intermediates.
        op_bytes = saturating_add(op_bytes, 3 * kNodeBytes);
        op_bytes = saturating_add(op_bytes, values(saturating_product({x.elements(), 3}), 4));
        op_work = saturating_product({x.elements(), 4});
        break;
      case OpKind::reshape:
      case OpKind::relu:
      case OpKind::sigmoid:
      case OpKind::quantize:
      case OpKind::dequantize:
        break;
    }
    bytes = saturating_add(bytes, op_bytes);
    work = saturating_add(work, op_work);
  }
  return {bytes, work};
}

}  // namespace detail

uint64_t xnnpack_bytes_in_use() { return static_cast<uint64_t>(std::max<int64_t>(0, xnnpack_bytes.load())); }

std::unique_ptr<Backend> make_xnnpack_backend(const Model& model, const Method& method, int batch,
                                              const BackendOptions& options) {
  if (batch < 1) {
    throw Error(ErrorCode::invalid_argument,
                "xnnpack backend: batch size must be at least 1, got " + std::to_string(batch));
  }
  // Time before memory: a lowering that multiplies the work is a reason to use the reference
  // backend (choose_backend falls back on unsupported_model), not a memory question.
  const int64_t work = detail::xnnpack_cost(method.graph, 1).multiply_adds;
  if (work > model.limits().max_multiply_adds) {
    throw Error(ErrorCode::unsupported_model,
                "xnnpack backend: its lowering of this graph needs " + std::to_string(work) +
                    " multiply-adds per example (limit " + std::to_string(model.limits().max_multiply_adds) +
                    ", ModelLimits::max_multiply_adds); the reference backend computes the graph directly");
  }
  check_memory(model, plan_memory(model, method, BackendKind::xnnpack, batch),
               "the xnnpack backend for " + method.name + " at batch " + std::to_string(batch));
  return std::make_unique<XnnpackBackend>(model, method, batch, options);
}

}  // namespace latentkit
