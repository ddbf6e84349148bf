// Tensors: shapes, dtypes and buffers; quantisation parameters; the float32 copies of
// constants stored smaller (widening).
#include <cmath>
#include <cstring>

#include "loader/loader.h"
#include "refusal.h"
#include "saturating.h"

namespace latentkit::loader {

using detail::beyond_limit;
using detail::fail;
using detail::malformed;
using detail::shape_string;

namespace {

DType dtype_of(fb::DType stored, const std::string& what) {
  switch (stored) {
    case fb::DType::FLOAT32: return DType::float32;
    case fb::DType::FLOAT16: return DType::float16;
    case fb::DType::INT8: return DType::int8;
    case fb::DType::INT32: return DType::int32;
  }
  malformed(what + " has unknown dtype " + std::to_string(static_cast<int>(stored)));
}

int64_t checked_dim(Context& c, int64_t d, const std::string& what) {
  if (d < 1) malformed(what + " has dimension " + std::to_string(d) + " (dimensions are at least 1)");
  if (d > c.limits.max_dimension) {
    beyond_limit(what + " has dimension " + std::to_string(d) + " (allowed 1.." + std::to_string(c.limits.max_dimension) + ")",
                 "max_dimension");
  }
  return d;
}

// Quantisation parameters of an int8 tensor: present, one scale or one per channel along a
// valid axis, every scale finite and positive, zero points in int8 range.
Quantization read_quantization(const fb::Tensor& t, const Tensor& tensor, const std::string& what) {
  const fb::Quantization* q = t.quantization();
  const std::size_t floats = q && q->scale() ? q->scale()->size() : 0;
  const std::size_t halves = q && q->scale_half() ? q->scale_half()->size() : 0;
  if (floats == 0 && halves == 0) {
    malformed(what + " is " + to_string(tensor.dtype) + " but has no quantization scales");
  }
  if (floats != 0 && halves != 0) {
    malformed(what + " has both float and half quantization scales; a file stores one of them");
  }
  Quantization out;
  out.axis = q->axis();
  const std::size_t scales = floats + halves;
  if (out.axis == -1) {
    if (scales != 1) malformed(what + " is quantised per tensor (axis -1) but has " + std::to_string(scales) + " scales");
  } else if (out.axis < 0 || out.axis >= static_cast<int>(tensor.shape.size())) {
    malformed(what + " has quantization axis " + std::to_string(out.axis) + " but rank " +
              std::to_string(tensor.shape.size()));
  } else if (static_cast<int64_t>(scales) != tensor.shape[out.axis]) {
    malformed(what + " is quantised per channel along axis " + std::to_string(out.axis) + " of size " +
              std::to_string(tensor.shape[out.axis]) + " but has " + std::to_string(scales) + " scales");
  }
  for (std::size_t i = 0; i < scales; ++i) {
    const auto at = static_cast<uint32_t>(i);
    const float s = floats ? q->scale()->Get(at) : half_to_float(q->scale_half()->Get(at));
    if (!(s > 0) || !std::isfinite(s)) {
      malformed(what + " has quantization scale " + std::to_string(s) + " at " + std::to_string(i) +
                "; scales must be finite and positive");
    }
    out.scales.push_back(s);
  }
  if (q->zero_point() != nullptr && q->zero_point()->size() != 0) {
    if (q->zero_point()->size() != scales) {
      malformed(what + " has " + std::to_string(q->zero_point()->size()) + " zero points for " +
                std::to_string(scales) + " scales");
    }
    // The verifier guarantees 4-byte alignment of a vector, not 8: read each int64 bytewise.
    const uint8_t* raw = q->zero_point()->Data();
    for (std::size_t i = 0; i < scales; ++i) {
      int64_t z;
      std::memcpy(&z, raw + i * sizeof z, sizeof z);
      z = flatbuffers::EndianScalar(z);
      if (z < -128 || z > 127) malformed(what + " has zero point " + std::to_string(z) + " outside int8");
      out.zero_points.push_back(z);
    }
  } else {
    out.zero_points.assign(scales, 0);
  }
  return out;
}

// float32 values of a float16, int8 or int32 constant.
std::vector<float> widen(const Tensor& t) {
  const int64_t n = t.elements();
  std::vector<float> values(static_cast<std::size_t>(n));
  if (t.dtype == DType::float16) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t half;
      std::memcpy(&half, static_cast<const uint8_t*>(t.data) + 2 * i, 2);
      values[i] = half_to_float(half);
    }
    return values;
  }
  // int8: the channel of element i along `axis` is (i / inner) % size.
  const Quantization& q = t.quantization;
  int64_t inner = 1, size = 1;
  if (q.axis >= 0) {
    size = t.shape[q.axis];
    for (std::size_t d = q.axis + 1; d < t.shape.size(); ++d) inner *= t.shape[d];
  }
  for (int64_t i = 0; i < n; ++i) {
    const std::size_t c = static_cast<std::size_t>(q.axis >= 0 ? (i / inner) % size : 0);
    int64_t v;
    if (t.dtype == DType::int8) {
      v = static_cast<const int8_t*>(t.data)[i];
    } else {
      int32_t wide;
      std::memcpy(&wide, static_cast<const uint8_t*>(t.data) + 4 * i, 4);
      v = wide;
    }
    values[i] = q.scales[c] * static_cast<float>(v - q.zero_points[c]);
  }
  return values;
}

}  // namespace

void read_tensors(Context& c, const TensorList* tensors, const std::string& where, std::vector<Tensor>& out) {
  if (tensors == nullptr || tensors->size() == 0) malformed(where + " has no tensors");
  if (tensors->size() > static_cast<uint32_t>(c.limits.max_tensors)) {
    beyond_limit(where + " has " + std::to_string(tensors->size()) + " tensors (limit " +
                     std::to_string(c.limits.max_tensors) + ")", "max_tensors");
  }
  const auto* buffers = c.model.buffers();
  for (uint32_t i = 0; i < tensors->size(); ++i) {
    const fb::Tensor& t = *tensors->Get(i);
    Tensor tensor;
    tensor.name = c.text(t.name(), "the name of tensor " + std::to_string(i));
    const std::string what = "tensor " + std::to_string(i) + " '" + tensor.name + "'";
    if (t.shape() == nullptr || t.shape()->size() == 0 || t.shape()->size() > 4) {
      malformed(what + " has rank " + std::to_string(t.shape() ? t.shape()->size() : 0) +
                " (allowed 1..4)");
    }
    int64_t elements = 1;
    for (int32_t d : *t.shape()) {
      elements = detail::saturating_product({elements, checked_dim(c, d, what)});
      if (elements > c.limits.max_tensor_elements) {
        beyond_limit(what + " has more than " + std::to_string(c.limits.max_tensor_elements) + " elements",
                     "max_tensor_elements");
      }
      tensor.shape.push_back(d);
    }
    tensor.dtype = dtype_of(t.dtype(), what);
    // An int32 bias's scales are implied by its op (the weighted ops' rule, ops/weighted.cpp, fills them in, and compares
    // any the file states with them).
    if (tensor.dtype == DType::int8 || (tensor.dtype == DType::int32 && t.quantization() != nullptr)) {
      tensor.quantization = read_quantization(t, tensor, what);
    } else if (tensor.dtype != DType::int32 && t.quantization() != nullptr) {
      malformed(what + " is " + to_string(tensor.dtype) + " but has quantization parameters");
    }
    if (t.buffer() == 0 && tensor.dtype != DType::float32) {
      // int32 activations are max_pool2d's indices (ops/max_pool2d.cpp): plain integers.
      if (tensor.dtype == DType::int32) {
        if (t.quantization() != nullptr) malformed(what + " is an int32 activation (indices) with quantization parameters");
      } else if (tensor.dtype != DType::int8) {
        fail(ErrorCode::unsupported_model,
             what + " is a " + to_string(tensor.dtype) + " activation; activations are float32, int8 or int32 (indices)");
      } else if (tensor.quantization.axis != -1) {
        malformed(what + " is an int8 activation quantised per channel; activations are quantised per tensor");
      }
    }
    if (tensor.dtype == DType::int32) {
      for (int64_t z : tensor.quantization.zero_points) {
        if (z != 0) malformed(what + " is int32 with zero point " + std::to_string(z) + "; int32 biases are symmetric");
      }
    }
    if (t.buffer() != 0) {
      if (buffers == nullptr || t.buffer() >= buffers->size()) {
        malformed(what + " refers to buffer " + std::to_string(t.buffer()) + " but the file has " +
                  std::to_string(buffers ? buffers->size() : 0) + " buffers");
      }
      const auto* data = buffers->Get(t.buffer())->data();
      const uint64_t expected = static_cast<uint64_t>(elements) * size_of(tensor.dtype);
      const uint64_t found = data ? data->size() : 0;
      if (found != expected) {
        malformed(what + " of shape " + shape_string(tensor.shape) + " needs " +
                  std::to_string(expected) + " bytes but its buffer has " + std::to_string(found));
      }
      if (reinterpret_cast<uintptr_t>(data->data()) % size_of(tensor.dtype) != 0) {
        malformed(what + ": its buffer is not aligned for " + to_string(tensor.dtype));
      }
      tensor.data = data->data();
      tensor.bytes = data->size();
      // Other dtypes are widened once the ops' checks have given int32 biases their scales.
      if (tensor.dtype == DType::float32) tensor.values = static_cast<const float*>(tensor.data);
    }
    out.push_back(std::move(tensor));
  }
  if (buffers != nullptr && buffers->size() > 0 && buffers->Get(0)->data() != nullptr &&
      buffers->Get(0)->data()->size() != 0) {
    malformed("buffer 0 must be empty (it stands for 'no data')");
  }
}

uint64_t widened_bytes(const std::vector<Tensor>& tensors) {
  int64_t bytes = 0;
  for (const Tensor& t : tensors) {
    if (t.is_constant() && t.dtype != DType::float32) {
      bytes = detail::saturating_add(bytes, detail::saturating_product({t.elements(), 4}));
    }
  }
  return static_cast<uint64_t>(bytes);
}

// The float32 copy of every float16, int8 and int32 constant; after the ops' checks, which give
// each int32 bias its implied scales.
void widen_constants(std::vector<Tensor>& tensors, std::vector<std::vector<float>>& widened) {
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    Tensor& t = tensors[i];
    if (!t.is_constant() || t.dtype == DType::float32) continue;
    if (t.quantization.scales.empty() && t.dtype != DType::float16) {
      malformed("tensor " + std::to_string(i) + " '" + t.name +
                "' is int32 but no op with int8 input and output uses it as its bias");
    }
    widened.push_back(widen(t));
    t.values = widened.back().data();
  }
}

const Tensor& tensor_at(const std::vector<Tensor>& tensors, int index, const std::string& what) {
  if (index < 0 || static_cast<std::size_t>(index) >= tensors.size()) {
    malformed(what + " refers to tensor " + std::to_string(index) + " but the file has " +
              std::to_string(tensors.size()));
  }
  return tensors[static_cast<std::size_t>(index)];
}

}  // namespace latentkit::loader
