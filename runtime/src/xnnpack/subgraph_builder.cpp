#include "xnnpack/subgraph_builder.h"

#include "latentkit/error.h"

namespace latentkit::xnnpack {
namespace {

// "[2, 3, 4]"
std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

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

void check(xnn_status status, const std::string& what) {
  if (status != xnn_status_success) {
    throw Error(status == xnn_status_out_of_memory ? ErrorCode::out_of_memory : ErrorCode::backend,
                "xnnpack backend: " + what + " failed: " + to_string(status));
  }
}

std::string op_name(int op_index, const Op& op) {
  return "operator " + std::to_string(op_index) + " (" + latentkit::to_string(op.kind) + ")";
}

SubgraphBuilder::SubgraphBuilder(const Graph& graph, int batch, std::vector<std::vector<float>>* owned,
                                 Externals externals)
    : graph_(graph), batch_(batch), owned_(owned), externals_(std::move(externals)),
      values_(graph.tensors.size(), XNN_INVALID_VALUE_ID), parts_(graph.tensors.size()) {
  xnn_subgraph_t subgraph = nullptr;
  check(xnn_create_subgraph(static_cast<uint32_t>(externals_.inputs.size() + externals_.outputs.size()), /*flags=*/0,
                            &subgraph),
        "xnn_create_subgraph");
  subgraph_.reset(subgraph);
}

void SubgraphBuilder::add_op(int op_index, const Op& op) { lowering(op.kind).define(*this, op_index, op); }

std::vector<std::size_t> SubgraphBuilder::batched_dims(const Tensor& t) const {
  std::vector<std::size_t> dims{static_cast<std::size_t>(batch_)};
  for (int64_t d : t.shape) dims.push_back(static_cast<std::size_t>(d));
  return dims;
}

const Op* SubgraphBuilder::producer(int tensor_index) const {
  for (const Op& op : graph_.ops) {
    for (int y : op.outputs) {
      if (y == tensor_index) return &op;
    }
  }
  return nullptr;
}

void SubgraphBuilder::add_external_values() {
  for (std::size_t i = 0; i < externals_.inputs.size(); ++i) {
    define_activation(externals_.inputs[i], "input " + std::to_string(i));
  }
  for (std::size_t i = 0; i < externals_.outputs.size(); ++i) {
    define_activation(externals_.outputs[i], "output " + std::to_string(i));
  }
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
  for (std::size_t i = 0; i < externals_.inputs.size(); ++i) {
    if (tensor_index == externals_.inputs[i]) {
      external_id = external_input_id(i);
      flags |= XNN_VALUE_FLAG_EXTERNAL_INPUT;
    }
  }
  for (std::size_t i = 0; i < externals_.outputs.size(); ++i) {
    if (tensor_index == externals_.outputs[i]) {
      external_id = external_output_id(externals_, i);
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

std::vector<float> weight_scales(const Tensor& w) {
  const std::size_t channels = static_cast<std::size_t>(w.shape[0]);
  return w.quantization.axis == 0 ? w.quantization.scales : std::vector<float>(channels, w.quantization.scales[0]);
}

OpCost one_node(const CostModel&, const Graph& graph, const Op& op) { return {CostModel::kNodeBytes, multiply_adds(graph, op)}; }

}  // namespace latentkit::xnnpack
