#include "latentkit/model_writer.h"

#include <cstring>

#include "latentkit/error.h"
#include "latentkit_generated.h"
#include "ops/op_table.h"

namespace latentkit {

int ModelDescription::add_activation(std::string name, std::vector<int64_t> shape) {
  tensors.push_back({std::move(name), std::move(shape), DType::float32, {}, {}});
  return static_cast<int>(tensors.size()) - 1;
}

int ModelDescription::add_constant(std::string name, std::vector<int64_t> shape,
                                   const std::vector<float>& values) {
  TensorDescription t{std::move(name), std::move(shape), DType::float32, {}, {}};
  t.data.resize(values.size() * sizeof(float));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  tensors.push_back(std::move(t));
  return static_cast<int>(tensors.size()) - 1;
}

std::vector<MethodDescription> ModelDescription::all_methods() const {
  if (!methods.empty()) return methods;
  return {MethodDescription{methods::decode, ops, inputs, outputs, {Role::latent}, {Role::image}}};
}

namespace {

fb::Role to_fb(Role role) {
  switch (role) {
    case Role::latent: return fb::Role::LATENT;
    case Role::image: return fb::Role::IMAGE;
    case Role::latent_mean: return fb::Role::LATENT_MEAN;
    case Role::latent_log_variance: return fb::Role::LATENT_LOG_VARIANCE;
  }
  return static_cast<fb::Role>(static_cast<int>(role));  // a value outside the enum, written on purpose
}

fb::DType to_fb(DType dtype) {
  switch (dtype) {
    case DType::float32: return fb::DType::FLOAT32;
    case DType::float16: return fb::DType::FLOAT16;
    case DType::int8: return fb::DType::INT8;
    case DType::int32: return fb::DType::INT32;
  }
  return fb::DType::FLOAT32;
}

// The scales as IEEE halves when every one of them is exactly a half; else empty.
std::vector<uint16_t> exact_halves(const std::vector<float>& scales) {
  std::vector<uint16_t> halves;
  for (float s : scales) {
    const uint16_t half = float_to_half(s);
    if (!(half_to_float(half) == s)) return {};
    halves.push_back(half);
  }
  return halves;
}

// The op's options table is its op file's to write (ops/<op>.cpp).
flatbuffers::Offset<fb::Operator> write_op(flatbuffers::FlatBufferBuilder& b, const Op& op) {
  const ops::OpDef& def = ops::op_def(op.kind);
  const flatbuffers::Offset<void> options = def.write_options(b, op);
  return fb::CreateOperator(b, def.options_type, options, b.CreateVector(op.inputs), b.CreateVector(op.outputs));
}

}  // namespace

std::vector<uint8_t> serialize_model(const ModelDescription& d) {
  flatbuffers::FlatBufferBuilder b(1 << 16);

  // Buffer 0 is the empty "no data" buffer; every constant tensor gets its own, 16-byte aligned.
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers{fb::CreateBuffer(b)};
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (const TensorDescription& t : d.tensors) {
    uint32_t buffer = 0;
    if (!t.data.empty()) {
      b.ForceVectorAlignment(t.data.size(), 1, 16);
      auto data = b.CreateVector(t.data);
      buffer = static_cast<uint32_t>(buffers.size());
      buffers.push_back(fb::CreateBuffer(b, data));
    }
    flatbuffers::Offset<fb::Quantization> quantization;
    if (!t.quantization.scales.empty()) {
      const Quantization& q = t.quantization;
      const std::vector<uint16_t> halves = exact_halves(q.scales);
      quantization = fb::CreateQuantization(b, halves.empty() ? b.CreateVector(q.scales) : 0,
                                            q.zero_points.empty() ? 0 : b.CreateVector(q.zero_points), q.axis,
                                            halves.empty() ? 0 : b.CreateVector(halves));
    }
    std::vector<int32_t> shape(t.shape.begin(), t.shape.end());
    tensors.push_back(fb::CreateTensor(b, b.CreateString(t.name), b.CreateVector(shape),
                                       to_fb(t.dtype), buffer, quantization));
  }
  auto write_ops = [&](const std::vector<Op>& list) {
    std::vector<flatbuffers::Offset<fb::Operator>> ops;
    for (const Op& op : list) ops.push_back(write_op(b, op));
    return b.CreateVector(ops);
  };
  flatbuffers::Offset<fb::Graph> graph;  // version 1
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Tensor>>> shared_tensors;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::Method>>> methods;
  const std::vector<MethodDescription> all = d.all_methods();
  if (d.format_version == 1) {
    if (all.size() != 1) {
      throw Error(ErrorCode::invalid_argument, "a version 1 file holds one method (decode), not " + std::to_string(all.size()));
    }
    graph = fb::CreateGraph(b, b.CreateVector(tensors), write_ops(all[0].ops), b.CreateVector(all[0].inputs),
                            b.CreateVector(all[0].outputs));
  } else {
    shared_tensors = b.CreateVector(tensors);
    std::vector<flatbuffers::Offset<fb::Method>> list;
    for (const MethodDescription& m : all) {
      auto values = [&](const std::vector<int>& indices, const std::vector<Role>& roles) {
        std::vector<flatbuffers::Offset<fb::MethodValue>> out;
        for (std::size_t i = 0; i < indices.size(); ++i) {
          // A role missing on purpose (tests) is written as the first one.
          out.push_back(fb::CreateMethodValue(b, indices[i], i < roles.size() ? to_fb(roles[i]) : fb::Role::LATENT));
        }
        return b.CreateVector(out);
      };
      auto name = b.CreateString(m.name);
      auto ops = write_ops(m.ops);
      auto inputs = values(m.inputs, m.input_roles);
      auto outputs = values(m.outputs, m.output_roles);
      list.push_back(fb::CreateMethod(b, name, ops, inputs, outputs));
    }
    methods = b.CreateVector(list);
  }

  std::vector<flatbuffers::Offset<fb::LatentGroup>> groups;
  for (const LatentGroup& g : d.latent.groups) {
    const bool mixture = g.kind == LatentKind::gaussian && g.mixture.components() > 0;
    const fb::LatentKind kind = g.kind == LatentKind::categorical ? fb::LatentKind::CATEGORICAL
                                : mixture                         ? fb::LatentKind::GAUSSIAN_MIXTURE
                                                                  : fb::LatentKind::GAUSSIAN;
    flatbuffers::Offset<fb::GaussianMixture> prior = 0;
    if (mixture) {
      prior = fb::CreateGaussianMixture(b, b.CreateVector(g.mixture.weights), b.CreateVector(g.mixture.means),
                                        b.CreateVector(g.mixture.variances));
    }
    flatbuffers::Offset<flatbuffers::Vector<float>> weights = 0;
    if (!g.category_weights.empty()) weights = b.CreateVector(g.category_weights);
    groups.push_back(fb::CreateLatentGroup(b, kind, b.CreateString(g.name), g.size, g.count,
                                           b.CreateVectorOfStrings(g.labels), prior, weights));
  }
  auto latent = fb::CreateLatentSpec(b, b.CreateVector(groups));
  auto image = fb::CreateImageSpec(
      b, d.image.height, d.image.width, d.image.channels,
      d.image.range == ValueRange::unit ? fb::ValueRange::UNIT : fb::ValueRange::SYMMETRIC);

  const Provenance& p = d.provenance;
  std::vector<flatbuffers::Offset<fb::Metric>> metrics;
  for (const Metric& m : p.metrics) metrics.push_back(fb::CreateMetric(b, b.CreateString(m.name), m.value));
  auto provenance = fb::CreateProvenance(
      b, b.CreateString(p.model_family), b.CreateString(p.dataset), p.epochs,
      b.CreateString(p.trainer_version), b.CreateString(p.created_utc), b.CreateVector(metrics),
      b.CreateVectorOfStrings(p.labels), b.CreateString(p.quantization));

  auto model = fb::CreateModel(b, d.format_version, graph, latent, image, provenance,
                               b.CreateVector(buffers), shared_tensors, methods);
  fb::FinishModelBuffer(b, model);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

}  // namespace latentkit
