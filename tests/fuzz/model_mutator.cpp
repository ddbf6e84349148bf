// The structure-aware mutator of fuzz_model (LLVMFuzzerCustomMutator, LLVMFuzzerCustomCrossOver).
//
// Byte-level mutation of a FlatBuffer mostly breaks the verifier's offsets, so a byte mutator
// spends its time in the first few checks of the loader. This one parses the input with the
// FlatBuffers object API (a copy of the schema code generated with --gen-object-api, in
// namespace latentkit::fuzzfb), changes ONE thing a hostile writer could put in a valid
// FlatBuffer (a dimension, an index, a scale, a stride, a latent group, a byte of a weight, ...)
// to a boundary value, and serialises the result again with the file identifier. A version-2
// file's mutations go to its shared tensors and to one of its methods (ops, inputs and outputs,
// roles, name), chosen per mutation; a version-1 file's to its decoder graph. About one
// mutation in ten is libFuzzer's own byte mutation, on top or instead, so that both levels are
// covered; an input that does not parse as a model gets byte mutations only.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "latentkit_object_api.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

namespace fb = latentkit::fuzzfb;

class Random {
 public:
  explicit Random(unsigned int seed) : engine_(seed) {}
  uint64_t next() { return engine_(); }
  // Uniform in [0, n), n >= 1.
  size_t below(size_t n) { return n <= 1 ? 0 : static_cast<size_t>(next() % n); }
  bool percent(int p) { return static_cast<int>(below(100)) < p; }
  template <typename T>
  T pick(std::initializer_list<T> values) {
    return *(values.begin() + below(values.size()));
  }

 private:
  std::mt19937_64 engine_;
};

// Integers at the edges of what the loader checks: dimensions, strides, paddings, indices.
int32_t boundary_int(Random& r) {
  switch (r.below(4)) {
    case 0:
      return r.pick<int32_t>({0, 1, -1, 2, 3, 4, 7, 8, 16, 28, 255, 256, 4095, 4096, 4097});
    case 1:
      return r.pick<int32_t>({1 << 15, (1 << 15) + 1, 65535, 1 << 16, (1 << 16) + 1, 1 << 24,
                              1 << 30, INT_MAX, INT_MAX - 1, INT_MIN, INT_MIN + 1, -2, -65536,
                              46341 /* ceil sqrt 2^31 */, 1625 /* ~cbrt 2^32 */});
    case 2:
      return static_cast<int32_t>(r.below(64)) - 8;
    default:
      return static_cast<int32_t>(static_cast<uint32_t>(r.next()));
  }
}

float boundary_float(Random& r) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  return r.pick<float>({0.0f, -0.0f, -1.0f, 1.0f, std::numeric_limits<float>::quiet_NaN(),
                        -std::numeric_limits<float>::quiet_NaN(), inf, -inf, 3.0e38f, -3.0e38f,
                        1.0e-45f, 1.0e-38f, std::numeric_limits<float>::min(), 1.0e-30f,
                        65504.0f, 65520.0f, 1.0f / 255, 1.0e10f, 1.0e-10f, 0.5f});
}

uint16_t boundary_half(Random& r) {
  // 0, -0, 1, inf, -inf, NaN, smallest subnormal, largest finite, smallest normal, -1, 2^-24
  return r.pick<uint16_t>({0x0000, 0x8000, 0x3c00, 0x7c00, 0xfc00, 0x7e00, 0x0001, 0x7bff,
                           0x0400, 0xbc00, 0x8001, 0x03ff, 0xfe00});
}

int64_t boundary_zero_point(Random& r) {
  return r.pick<int64_t>({0, -128, 127, -129, 128, 255, -256, INT32_MAX, INT32_MIN,
                          std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                          static_cast<int64_t>(r.next())});
}

std::string boundary_string(Random& r) {
  switch (r.below(5)) {
    case 0: return "";
    case 1: return std::string(1, '\0');
    case 2: return std::string(r.below(300), 'x');
    case 3: return "\xff\xfe%s%n\n";
    default: return "test_elbo_nats";
  }
}

template <typename T>
void swap_two(Random& r, std::vector<T>& v) {
  if (v.size() < 2) return;
  const size_t a = r.below(v.size()), b = r.below(v.size());
  std::swap(v[a], v[b]);
}

// ---- the mutations ---------------------------------------------------------------------------

struct Mutator {
  Random& r;
  fb::ModelT& m;
  size_t method_index = 0;  // the version-2 method this mutation works on

  // Version 2 when the file has methods or no decoder graph (what latentkit writes today).
  bool version_2() const { return !m.decoder; }
  fb::GraphT& graph() {
    if (!m.decoder) m.decoder = std::make_unique<fb::GraphT>();
    return *m.decoder;
  }
  fb::MethodT& method() {
    if (m.methods.empty()) m.methods.push_back(std::make_unique<fb::MethodT>());
    auto& p = m.methods[std::min(method_index, m.methods.size() - 1)];
    if (!p) p = std::make_unique<fb::MethodT>();
    return *p;
  }
  std::vector<std::unique_ptr<fb::TensorT>>& tensors() { return version_2() ? m.tensors : graph().tensors; }
  std::vector<std::unique_ptr<fb::OperatorT>>& ops() { return version_2() ? method().operators : graph().operators; }
  // The tensor indices of the graph's or the method's inputs (or outputs).
  std::vector<int32_t> io(bool inputs) {
    if (!version_2()) return inputs ? graph().inputs : graph().outputs;
    std::vector<int32_t> out;
    for (const auto& v : inputs ? method().inputs : method().outputs) out.push_back(v ? v->tensor : 0);
    return out;
  }
  void set_io(bool inputs, const std::vector<int32_t>& indices) {
    if (!version_2()) {
      (inputs ? graph().inputs : graph().outputs) = indices;
      return;
    }
    auto& values = inputs ? method().inputs : method().outputs;
    values.resize(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) {
      if (!values[i]) {
        values[i] = std::make_unique<fb::MethodValueT>();
        values[i]->role = inputs ? fb::Role::LATENT : fb::Role::IMAGE;
      }
      values[i]->tensor = indices[i];
    }
  }

  fb::TensorT* some_tensor() {
    auto& t = tensors();
    if (t.empty()) return nullptr;
    auto& p = t[r.below(t.size())];
    if (!p) p = std::make_unique<fb::TensorT>();
    return p.get();
  }
  // A constant tensor when there is one (their quantization and dtype matter most).
  fb::TensorT* some_constant() {
    std::vector<fb::TensorT*> constants;
    for (auto& t : tensors()) {
      if (t && t->buffer != 0) constants.push_back(t.get());
    }
    if (constants.empty() || r.percent(20)) return some_tensor();
    return constants[r.below(constants.size())];
  }
  fb::OperatorT* some_op() {
    auto& o = ops();
    if (o.empty()) return nullptr;
    auto& p = o[r.below(o.size())];
    if (!p) p = std::make_unique<fb::OperatorT>();
    return p.get();
  }
  int32_t some_index(size_t count) {
    switch (r.below(6)) {
      case 0: return -1;
      case 1: return static_cast<int32_t>(count);
      case 2: return static_cast<int32_t>(count) + 1000;
      case 3: return r.pick<int32_t>({INT_MAX, INT_MIN, -2});
      default: return static_cast<int32_t>(r.below(count == 0 ? 1 : count));
    }
  }

  void shape() {
    fb::TensorT* t = some_tensor();
    if (t == nullptr) return add_tensor();
    auto& s = t->shape;
    switch (r.below(8)) {
      case 0: s.push_back(boundary_int(r)); break;
      case 1: if (!s.empty()) s.pop_back(); break;
      case 2: s.clear(); break;
      case 3: s.insert(s.begin(), r.pick<int32_t>({1, 2, 0, -1})); break;
      case 4: swap_two(r, s); break;
      default:
        if (s.empty()) s.push_back(1);
        s[r.below(s.size())] = boundary_int(r);
    }
  }

  void dtype() {
    fb::TensorT* t = r.percent(70) ? some_constant() : some_tensor();
    if (t == nullptr) return;
    t->dtype = static_cast<fb::DType>(
        r.pick<int8_t>({0, 1, 2, 3, 4, -1, 127, -128, static_cast<int8_t>(r.next())}));
  }

  void buffer_index() {
    fb::TensorT* t = some_tensor();
    if (t == nullptr) return;
    const size_t n = m.buffers.size();
    t->buffer = r.pick<uint32_t>({0, 1, static_cast<uint32_t>(n), static_cast<uint32_t>(n - 1),
                                  static_cast<uint32_t>(n + 1), UINT32_MAX, 0x80000000u,
                                  static_cast<uint32_t>(r.below(n + 1))});
  }

  void quantization() {
    fb::TensorT* t = some_constant();
    if (t == nullptr) return;
    if (!t->quantization || r.percent(10)) {
      if (t->quantization && r.percent(50)) {
        t->quantization.reset();
        return;
      }
      t->quantization = std::make_unique<fb::QuantizationT>();
      t->quantization->scale = {1.0f / 64};
    }
    fb::QuantizationT& q = *t->quantization;
    const int32_t channels = t->shape.empty() ? 1 : t->shape[0];
    switch (r.below(10)) {
      case 0:
        if (q.scale.empty()) q.scale.push_back(1.0f);
        q.scale[r.below(q.scale.size())] = boundary_float(r);
        break;
      case 1:
        if (q.scale_half.empty()) q.scale_half.push_back(0x3c00);
        q.scale_half[r.below(q.scale_half.size())] = boundary_half(r);
        break;
      case 2: {  // per-channel scales of a chosen length (near the channel count)
        const int64_t n = std::clamp<int64_t>(int64_t{channels} + r.pick<int>({0, 0, -1, 1}), 0, 4096);
        q.scale.assign(static_cast<size_t>(n), r.percent(50) ? 0.01f : boundary_float(r));
        q.axis = r.percent(70) ? 0 : boundary_int(r);
        break;
      }
      case 3: {  // the same in halves, or in both fields at once
        const int64_t n = std::clamp<int64_t>(int64_t{channels} + r.pick<int>({0, 0, -1, 1}), 0, 4096);
        q.scale_half.assign(static_cast<size_t>(n), r.percent(50) ? 0x2000 : boundary_half(r));
        if (r.percent(60)) q.scale.clear();
        break;
      }
      case 4:
        if (q.zero_point.empty() || r.percent(30)) q.zero_point.push_back(0);
        q.zero_point[r.below(q.zero_point.size())] = boundary_zero_point(r);
        break;
      case 5: q.axis = r.pick<int32_t>({-2, -1, 0, 1, 2, 3, 4, INT_MAX, INT_MIN}); break;
      case 6: q.scale.clear(); break;
      case 7: q.scale_half.clear(); q.scale.clear(); break;
      case 8: q.zero_point.resize(r.below(4) + q.scale.size()); break;
      default: q.scale.push_back(boundary_float(r));
    }
  }

  void indices(std::vector<int32_t>& v, size_t tensor_count, int32_t self) {
    switch (r.below(8)) {
      case 0: v.push_back(some_index(tensor_count)); break;
      case 1: if (!v.empty()) v.pop_back(); break;
      case 2: v.clear(); break;
      case 3: swap_two(r, v); break;
      case 4:
        if (!v.empty()) v[r.below(v.size())] = self;
        break;
      default:
        if (v.empty()) v.push_back(0);
        v[r.below(v.size())] = some_index(tensor_count);
    }
  }

  void op_indices() {
    fb::OperatorT* op = some_op();
    if (op == nullptr) return add_op();
    const size_t n = tensors().size();
    if (r.percent(50)) {
      // "self": the op's own output as an input (a cycle), or vice versa.
      indices(op->inputs, n, op->outputs.empty() ? 0 : op->outputs[0]);
    } else {
      indices(op->outputs, n, op->inputs.empty() ? 0 : op->inputs[0]);
    }
  }

  void op_order() {
    auto& o = ops();
    if (o.size() < 2) return;
    if (r.percent(70)) {
      swap_two(r, o);
    } else {  // move one op to the end (or the front)
      const size_t i = r.below(o.size());
      auto op = std::move(o[i]);
      o.erase(o.begin() + static_cast<std::ptrdiff_t>(i));
      if (r.percent(50)) {
        o.push_back(std::move(op));
      } else {
        o.insert(o.begin(), std::move(op));
      }
    }
  }

  void op_options() {
    fb::OperatorT* op = some_op();
    if (op == nullptr) return;
    fb::OpOptionsUnion& u = op->options;
    if (auto* c = u.AsConv2D(); c != nullptr && r.percent(85)) {
      int32_t* fields[] = {&c->stride_h, &c->stride_w, &c->dilation_h, &c->dilation_w,
                           &c->pad_top, &c->pad_left, &c->pad_bottom, &c->pad_right};
      *fields[r.below(8)] = boundary_int(r);
      return;
    }
    if (auto* c = u.AsTransposeConv2D(); c != nullptr && r.percent(85)) {
      int32_t* fields[] = {&c->stride_h, &c->stride_w, &c->pad_top, &c->pad_left,
                           &c->pad_bottom, &c->pad_right, &c->adjustment_h, &c->adjustment_w};
      *fields[r.below(8)] = boundary_int(r);
      return;
    }
    if (auto* p = u.AsMaxPool2D(); p != nullptr && r.percent(85)) {
      int32_t* fields[] = {&p->kernel_h, &p->kernel_w, &p->stride_h, &p->stride_w,
                           &p->pad_top,  &p->pad_left, &p->pad_bottom, &p->pad_right};
      *fields[r.below(8)] = boundary_int(r);
      return;
    }
    if (auto* p = u.AsMaxUnpool2D(); p != nullptr && r.percent(85)) {
      *(r.percent(50) ? &p->height : &p->width) = boundary_int(r);
      return;
    }
    if (auto* p = u.AsUpsampleNearest2D(); p != nullptr && r.percent(85)) {
      *(r.percent(50) ? &p->scale_h : &p->scale_w) = boundary_int(r);
      return;
    }
    // Another op kind (default options), no options, or a kind outside the enum.
    switch (r.below(15)) {
      case 0: u.Set(fb::FullyConnectedT()); break;
      case 1: u.Set(fb::ReshapeT()); break;
      case 2: u.Set(fb::Conv2DT()); break;
      case 3: u.Set(fb::TransposeConv2DT()); break;
      case 4: u.Set(fb::ReluT()); break;
      case 5: u.Set(fb::SigmoidT()); break;
      case 6: u.Set(fb::TanhT()); break;
      case 7: u.Set(fb::QuantizeT()); break;
      case 8: u.Set(fb::DequantizeT()); break;
      case 9: u.Set(fb::MaxPool2DT()); break;
      case 10: u.Set(fb::MaxUnpool2DT()); break;
      case 11: u.Set(fb::UpsampleNearest2DT()); break;
      case 12: u.Reset(); break;
      default:
        u.Reset();
        u.type = static_cast<fb::OpOptions>(r.pick<uint8_t>({13, 14, 127, 128, 255}));
    }
  }

  void graph_io() {
    const size_t n = tensors().size();
    std::vector<int32_t> inputs = io(true), outputs = io(false);
    if (r.percent(50)) {
      indices(inputs, n, outputs.empty() ? 0 : outputs[0]);
      set_io(true, inputs);
    } else {
      indices(outputs, n, inputs.empty() ? 0 : inputs[0]);
      set_io(false, outputs);
    }
  }

  // Version 2: a method's name, a role, or the list of methods.
  void methods() {
    if (!version_2()) return graph_io();
    fb::MethodT& chosen = method();
    switch (r.below(7)) {
      case 0:
        chosen.name = r.pick<const char*>({"decode", "encode", "reconstruct", "", "Decode", "a-b", "translate"});
        break;
      case 1:
        chosen.name = boundary_string(r);
        break;
      case 2: case 3: {
        auto& values = r.percent(50) ? chosen.inputs : chosen.outputs;
        if (values.empty()) break;
        auto& v = values[r.below(values.size())];
        if (!v) v = std::make_unique<fb::MethodValueT>();
        v->role = static_cast<fb::Role>(r.pick<int8_t>({0, 1, 2, 3, 4, 127, -1}));
        break;
      }
      case 4:
        if (m.methods.size() < 70) m.methods.push_back(std::make_unique<fb::MethodT>(chosen));
        break;
      case 5:
        m.methods.erase(m.methods.begin() + static_cast<std::ptrdiff_t>(std::min(method_index, m.methods.size() - 1)));
        break;
      default:
        swap_two(r, m.methods);
    }
  }

  // The per-example element count of a tensor, if it has a sane shape.
  int64_t elements_of(int32_t index) {
    if (index < 0 || static_cast<size_t>(index) >= tensors().size() || !tensors()[index]) return -1;
    int64_t n = 1;
    for (int32_t d : tensors()[index]->shape) {
      if (d <= 0 || d > (1 << 20)) return -1;
      n *= d;
      if (n > (1 << 24)) return -1;
    }
    return n;
  }

  void latent_groups() {
    if (!m.latent) m.latent = std::make_unique<fb::LatentSpecT>();
    auto& groups = m.latent->groups;
    const int what = static_cast<int>(r.below(14));
    if (what == 0) {  // repair: groups that sum to the input's size, Gaussian and categorical
      const std::vector<int32_t> inputs = io(true);
      const int64_t dims = inputs.empty() ? -1 : elements_of(inputs[0]);
      if (dims <= 0) return;
      groups.clear();
      int64_t left = dims;
      while (left > 0) {
        auto g = std::make_unique<fb::LatentGroupT>();
        if (left >= 2 && r.percent(40)) {
          g->kind = fb::LatentKind::CATEGORICAL;
          g->size = static_cast<int32_t>(std::min<int64_t>(left, 2 + static_cast<int64_t>(r.below(10))));
          const int64_t fits = left / g->size;
          g->count = static_cast<int32_t>(1 + r.below(static_cast<size_t>(fits)));
          if (r.percent(50)) {
            for (int i = 0; i < g->size; ++i) g->labels.push_back(std::to_string(i));
          }
        } else {
          g->kind = fb::LatentKind::GAUSSIAN;
          g->size = static_cast<int32_t>(r.percent(50) ? left : 1 + r.below(static_cast<size_t>(left)));
        }
        g->name = "g" + std::to_string(groups.size());
        left -= int64_t{g->size} * g->count;
        groups.push_back(std::move(g));
      }
      return;
    }
    if (what == 1) {
      m.latent.reset();
      return;
    }
    if (groups.empty() || what == 2) {
      auto g = std::make_unique<fb::LatentGroupT>();
      g->size = boundary_int(r);
      groups.insert(groups.begin() + static_cast<std::ptrdiff_t>(r.below(groups.size() + 1)),
                    std::move(g));
      return;
    }
    auto& slot = groups[r.below(groups.size())];
    if (!slot) slot = std::make_unique<fb::LatentGroupT>();
    fb::LatentGroupT& g = *slot;
    switch (what) {
      case 3:
        g.kind = static_cast<fb::LatentKind>(r.pick<int8_t>({0, 1, 2, -1, 127}));
        break;
      case 4: case 5: g.size = boundary_int(r); break;
      case 6: case 7: g.count = boundary_int(r); break;
      case 8: {  // labels: as many as the categories, one off, none
        const int64_t n = std::clamp<int64_t>(int64_t{g.size} + r.pick<int>({0, -1, 1}), 0, 1024);
        g.labels.assign(static_cast<size_t>(r.percent(80) ? n : 0), "label");
        break;
      }
      case 9: g.name = boundary_string(r); break;
      case 10:
        groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(r.below(groups.size())));
        break;
      case 11: mixture(g); break;
      case 12: category_weights(g); break;
      default: swap_two(r, groups);
    }
  }

  // A Gaussian mixture prior: a valid one for the group's size, or one value or size wrong.
  void mixture(fb::LatentGroupT& g) {
    if (!g.mixture || r.percent(20)) {
      const int k = 1 + static_cast<int>(r.below(3));
      const size_t values = static_cast<size_t>(std::clamp<int64_t>(int64_t{k} * g.size, 0, 1 << 16));
      g.kind = fb::LatentKind::GAUSSIAN_MIXTURE;
      g.mixture = std::make_unique<fb::GaussianMixtureT>();
      g.mixture->weights.assign(static_cast<size_t>(k), 1.0f / static_cast<float>(k));
      g.mixture->means.assign(values, 0.5f);
      g.mixture->variances.assign(values, 2.0f);
      return;
    }
    fb::GaussianMixtureT& m = *g.mixture;
    const size_t which = r.below(3);
    std::vector<float>& v = which == 0 ? m.weights : which == 1 ? m.means : m.variances;
    switch (r.below(4)) {
      case 0:
        if (!v.empty()) v[r.below(v.size())] = boundary_float(r);
        break;
      case 1: v.push_back(boundary_float(r)); break;
      case 2:
        if (!v.empty()) v.pop_back();
        break;
      default: v.clear();
    }
  }

  // A category prior: valid shares for the group's variables (one category may get all), or one
  // value or the size wrong.
  void category_weights(fb::LatentGroupT& g) {
    std::vector<float>& w = g.category_weights;
    if (w.empty() || r.percent(20)) {
      const size_t size = static_cast<size_t>(std::clamp<int64_t>(g.size, 0, 1 << 12));
      const size_t values = static_cast<size_t>(std::clamp<int64_t>(int64_t{g.count} * g.size, 0, 1 << 16));
      w.assign(values, size > 0 ? 1.0f / static_cast<float>(size) : 0.0f);
      if (r.percent(30) && size > 0) {
        for (size_t i = 0; i < values; ++i) w[i] = i % size == 0 ? 1.0f : 0.0f;
      }
      return;
    }
    switch (r.below(4)) {
      case 0: w[r.below(w.size())] = boundary_float(r); break;
      case 1: w.push_back(boundary_float(r)); break;
      case 2: w.pop_back(); break;
      default: w.clear();
    }
  }

  void image_spec() {
    const int what = static_cast<int>(r.below(8));
    if (what == 0) {
      m.image.reset();
      return;
    }
    if (!m.image) m.image = std::make_unique<fb::ImageSpecT>();
    fb::ImageSpecT& im = *m.image;
    switch (what) {
      case 1: {  // repair: the output tensor's shape
        const std::vector<int32_t> out = io(false);
        if (out.empty() || out[0] < 0 || static_cast<size_t>(out[0]) >= tensors().size() ||
            !tensors()[out[0]]) {
          return;
        }
        const auto& s = tensors()[out[0]]->shape;
        if (s.size() != 3) return;
        im.height = s[0];
        im.width = s[1];
        im.channels = s[2];
        break;
      }
      case 2: im.height = boundary_int(r); break;
      case 3: im.width = boundary_int(r); break;
      case 4: im.channels = boundary_int(r); break;
      case 5: std::swap(im.height, im.width); break;
      default:
        im.range = static_cast<fb::ValueRange>(r.pick<int8_t>({0, 1, 2, -1, 127}));
    }
  }

  void format_version() {
    m.format_version = r.pick<uint32_t>({0, 1, 2, 3, UINT32_MAX, 0x80000000u,
                                         static_cast<uint32_t>(r.next())});
  }

  void buffer_contents() {
    std::vector<fb::BufferT*> nonempty;
    for (auto& b : m.buffers) {
      if (b && !b->data.empty()) nonempty.push_back(b.get());
    }
    if (nonempty.empty()) return;
    std::vector<uint8_t>& d = nonempty[r.below(nonempty.size())]->data;
    const size_t words = d.size() / 4;
    switch (r.below(10)) {
      case 0: d[r.below(d.size())] ^= static_cast<uint8_t>(1u << r.below(8)); break;
      case 1: d[r.below(d.size())] = r.pick<uint8_t>({0x00, 0xff, 0x7f, 0x80, 0x81}); break;
      case 2: case 3: {  // a float32 weight
        if (words == 0) break;
        const float f = boundary_float(r);
        std::memcpy(&d[4 * r.below(words)], &f, 4);
        break;
      }
      case 4: {  // an int32 bias
        if (words == 0) break;
        const int32_t v = r.pick<int32_t>({INT32_MIN, INT32_MAX, INT32_MIN + 1, -1, 1 << 30});
        std::memcpy(&d[4 * r.below(words)], &v, 4);
        break;
      }
      case 5: {  // a half
        if (d.size() < 2) break;
        const uint16_t h = boundary_half(r);
        std::memcpy(&d[2 * r.below(d.size() / 2)], &h, 2);
        break;
      }
      case 6: {  // every float32 at once (NaN / inf weights through a whole layer)
        const float f = boundary_float(r);
        for (size_t i = 0; i < words; ++i) std::memcpy(&d[4 * i], &f, 4);
        break;
      }
      case 7: d.resize(r.below(d.size())); break;           // truncated
      case 8: d.resize(d.size() + 1 + r.below(8), 0); break;  // too long
      default: d.resize(d.size() - d.size() % 4 + 4 * r.pick<size_t>({0, 1}), 0);
    }
  }

  void buffers_list() {
    auto& b = m.buffers;
    switch (r.below(4)) {
      case 0:  // buffer 0 is supposed to be empty
        if (!b.empty()) {
          if (!b[0]) b[0] = std::make_unique<fb::BufferT>();
          b[0]->data.assign(4 * (1 + r.below(4)), 0);
        }
        break;
      case 1:
        if (!b.empty()) b.erase(b.begin() + static_cast<std::ptrdiff_t>(r.below(b.size())));
        break;
      case 2:
        if (!b.empty() && b.size() < 4096) b.push_back(std::make_unique<fb::BufferT>(*b[r.below(b.size())]));
        break;
      default: swap_two(r, b);
    }
  }

  void add_tensor() {
    auto& t = tensors();
    if (t.size() >= 1024) return;
    std::unique_ptr<fb::TensorT> fresh;
    const fb::TensorT* source = t.empty() ? nullptr : t[r.below(t.size())].get();
    if (source != nullptr && r.percent(60)) {
      fresh = std::make_unique<fb::TensorT>(*source);
    } else {
      fresh = std::make_unique<fb::TensorT>();
      fresh->name = "fuzz";
      const size_t rank = r.below(5);
      for (size_t i = 0; i < rank; ++i) fresh->shape.push_back(r.percent(80) ? 1 + static_cast<int32_t>(r.below(8)) : boundary_int(r));
    }
    t.push_back(std::move(fresh));
    // Often make some op write (or read) it, or the graph output it.
    const int32_t index = static_cast<int32_t>(t.size() - 1);
    if (fb::OperatorT* op = some_op(); op != nullptr && r.percent(60)) {
      auto& v = r.percent(50) ? op->outputs : op->inputs;
      if (v.empty()) v.push_back(index); else v[r.below(v.size())] = index;
    } else if (r.percent(50)) {
      set_io(false, {index});
    }
  }

  void remove_tensor() {
    auto& t = tensors();
    if (t.empty()) return;
    // Later indices now point one tensor early (or past the end): what a careless writer does.
    t.erase(t.begin() + static_cast<std::ptrdiff_t>(r.below(t.size())));
  }

  void add_op() {
    auto& o = ops();
    if (o.size() >= 1024) return;
    std::unique_ptr<fb::OperatorT> op;
    if (!o.empty() && r.percent(60)) {
      auto& src = o[r.below(o.size())];
      op = src ? std::make_unique<fb::OperatorT>(*src) : std::make_unique<fb::OperatorT>();
    } else {
      op = std::make_unique<fb::OperatorT>();
      switch (r.below(4)) {
        case 0: op->options.Set(fb::ReluT()); break;
        case 1: op->options.Set(fb::SigmoidT()); break;
        case 2: op->options.Set(fb::ReshapeT()); break;
        default: op->options.Set(fb::TanhT());
      }
      const size_t n = tensors().size();
      op->inputs = {static_cast<int32_t>(r.below(n == 0 ? 1 : n))};
      op->outputs = {static_cast<int32_t>(r.below(n == 0 ? 1 : n))};
    }
    o.insert(o.begin() + static_cast<std::ptrdiff_t>(r.below(o.size() + 1)), std::move(op));
  }

  void remove_op() {
    auto& o = ops();
    if (o.empty()) return;
    o.erase(o.begin() + static_cast<std::ptrdiff_t>(r.below(o.size())));
  }

  void provenance() {
    if (!m.provenance || r.percent(10)) {
      m.provenance = r.percent(50) ? std::make_unique<fb::ProvenanceT>() : nullptr;
      return;
    }
    fb::ProvenanceT& p = *m.provenance;
    switch (r.below(6)) {
      case 0: p.epochs = boundary_int(r); break;
      case 1: {
        auto metric = std::make_unique<fb::MetricT>();
        metric->name = boundary_string(r);
        metric->value = r.pick<double>({std::nan(""), HUGE_VAL, -HUGE_VAL, -159.5, 0.0, 1e308});
        p.metrics.push_back(std::move(metric));
        break;
      }
      case 2: p.metrics.clear(); break;
      case 3: p.labels.assign(r.below(40), boundary_string(r)); break;
      case 4: p.model_family = boundary_string(r); break;
      default: p.quantization = r.pick<const char*>({"fp32", "fp16", "int8", "int8-weights", "?"});
    }
  }

  // Makes the shapes consistent again after a mutation: every op's output shape recomputed
  // from its input and weights (the formulas of schema/latentkit.fbs), reshapes fixed to keep
  // the element count, the latent and image specs fitted to the graph's ends. A window mutated
  // to a boundary value then reaches the backends instead of stopping at the loader's shape
  // check. Best effort: whatever cannot be repaired stays as it is.
  std::vector<int32_t>* shape_of(int32_t index) {
    auto& t = tensors();
    if (index < 0 || static_cast<size_t>(index) >= t.size() || !t[index]) return nullptr;
    return &t[index]->shape;
  }
  static int64_t product(const std::vector<int32_t>& s) {
    int64_t n = 1;
    for (int32_t d : s) {
      if (d <= 0 || n > (int64_t{1} << 40) / d) return -1;
      n *= d;
    }
    return n;
  }
  void repair() {
    for (auto& op : ops()) {
      // One output; max_pool2d's indices (a second) get the shape of its values.
      if (!op || op->inputs.empty() || op->outputs.empty() ||
          op->outputs.size() > (op->options.AsMaxPool2D() != nullptr ? 2u : 1u)) {
        continue;
      }
      const std::vector<int32_t>* in = shape_of(op->inputs[0]);
      std::vector<int32_t>* out = shape_of(op->outputs[0]);
      if (in == nullptr || out == nullptr || in == out) continue;
      const std::vector<int32_t>* w = op->inputs.size() > 1 ? shape_of(op->inputs[1]) : nullptr;
      const fb::OpOptions kind = op->options.type;
      auto clamp32 = [](int64_t v) {
        return static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX));
      };
      if (kind == fb::OpOptions::FullyConnected) {
        if (w != nullptr && w->size() == 2) *out = {(*w)[0]};
      } else if (kind == fb::OpOptions::Conv2D || kind == fb::OpOptions::TransposeConv2D) {
        if (w == nullptr || w->size() != 4 || in->size() != 3) continue;
        // In 64 bits: the operands are int32 boundary values.
        const int64_t ih = (*in)[0], iw = (*in)[1], kh = (*w)[1], kw = (*w)[2];
        int64_t oh = 0, ow = 0;
        if (const auto* c = op->options.AsConv2D()) {
          if (c->stride_h == 0 || c->stride_w == 0) continue;
          oh = (ih + c->pad_top + c->pad_bottom - int64_t{c->dilation_h} * (kh - 1) - 1) / c->stride_h + 1;
          ow = (iw + c->pad_left + c->pad_right - int64_t{c->dilation_w} * (kw - 1) - 1) / c->stride_w + 1;
        } else if (const auto* t = op->options.AsTransposeConv2D()) {
          oh = int64_t{t->stride_h} * (ih - 1) + kh - t->pad_top - t->pad_bottom + t->adjustment_h;
          ow = int64_t{t->stride_w} * (iw - 1) + kw - t->pad_left - t->pad_right + t->adjustment_w;
        }
        *out = {clamp32(oh), clamp32(ow), (*w)[0]};
      } else if (const auto* p = op->options.AsMaxPool2D()) {
        if (in->size() != 3 || p->stride_h <= 0 || p->stride_w <= 0) continue;
        const int64_t oh = ((*in)[0] + int64_t{p->pad_top} + p->pad_bottom - p->kernel_h) / p->stride_h + 1;
        const int64_t ow = ((*in)[1] + int64_t{p->pad_left} + p->pad_right - p->kernel_w) / p->stride_w + 1;
        *out = {clamp32(oh), clamp32(ow), (*in)[2]};
        if (op->outputs.size() == 2) {
          if (std::vector<int32_t>* indices = shape_of(op->outputs[1]); indices != nullptr && indices != in) *indices = *out;
        }
      } else if (const auto* u = op->options.AsMaxUnpool2D()) {
        if (in->size() == 3) *out = {u->height, u->width, (*in)[2]};
      } else if (const auto* u = op->options.AsUpsampleNearest2D()) {
        if (in->size() == 3) *out = {clamp32(int64_t{(*in)[0]} * u->scale_h), clamp32(int64_t{(*in)[1]} * u->scale_w), (*in)[2]};
      } else if (kind == fb::OpOptions::Reshape) {
        const int64_t n = product(*in);
        if (n <= 0 || n > INT32_MAX || product(*out) == n) continue;
        if (out->size() == 3 && (*out)[0] > 0 && (*out)[1] > 0 && n % (int64_t{(*out)[0]} * (*out)[1]) == 0) {
          (*out)[2] = static_cast<int32_t>(n / (int64_t{(*out)[0]} * (*out)[1]));
        } else if (out->size() == 3) {
          *out = {1, 1, static_cast<int32_t>(n)};
        } else {
          *out = {static_cast<int32_t>(n)};
        }
      } else if (kind != fb::OpOptions::NONE) {
        *out = *in;  // element-wise, quantize, dequantize
      }
    }
    // The image spec from the output; the latent spec from the input (one Gaussian group when
    // it no longer adds up).
    const std::vector<int32_t> outputs = io(false);
    if (const std::vector<int32_t>* o = outputs.empty() ? nullptr : shape_of(outputs[0]);
        o != nullptr && o->size() == 3) {
      if (!m.image) m.image = std::make_unique<fb::ImageSpecT>();
      m.image->height = (*o)[0];
      m.image->width = (*o)[1];
      m.image->channels = (*o)[2];
    }
    const std::vector<int32_t> inputs = io(true);
    if (const std::vector<int32_t>* i = inputs.empty() ? nullptr : shape_of(inputs[0]); i != nullptr) {
      const int64_t dims = product(*i);
      int64_t sum = 0;
      if (m.latent) {
        for (const auto& g : m.latent->groups) sum += g ? int64_t{g->size} * g->count : 0;
      }
      if (dims > 0 && dims <= INT32_MAX && sum != dims) {
        if (!m.latent) m.latent = std::make_unique<fb::LatentSpecT>();
        m.latent->groups.clear();
        auto g = std::make_unique<fb::LatentGroupT>();
        g->name = "z";
        g->size = static_cast<int32_t>(dims);
        m.latent->groups.push_back(std::move(g));
      }
    }
  }

  void one() {
    if (version_2() && !m.methods.empty()) method_index = r.below(m.methods.size());
    switch (r.below(20)) {
      case 0: case 1: case 2: return shape();
      case 3: return dtype();
      case 4: return buffer_index();
      case 5: case 6: return quantization();
      case 7: case 8: return op_indices();
      case 9: return op_order();
      case 10: case 11: return op_options();
      case 12: return graph_io();
      case 13: return latent_groups();
      case 14: return image_spec();
      case 15: return r.percent(30) ? format_version() : provenance();
      case 16: return r.percent(75) ? buffer_contents() : buffers_list();
      case 17: return r.percent(50) ? add_tensor() : remove_tensor();
      case 18: return methods();
      default: return r.percent(50) ? add_op() : remove_op();
    }
  }
};

bool parse(const uint8_t* data, size_t size, fb::ModelT& out) {
  if (size < 8 || size > (size_t{1} << 30)) return false;
  // A copy: the verifier wants the buffer aligned as the writer aligned it.
  std::vector<uint8_t> copy(data, data + size);
  flatbuffers::Verifier verifier(copy.data(), copy.size(), 64, 1000000);
  if (!fb::VerifyModelBuffer(verifier)) return false;
  fb::GetModel(copy.data())->UnPackTo(&out);
  // The verifier accepts a union whose type is set but whose table is absent (the loader refuses
  // it); the object API cannot write that back (Pack dereferences the table), so such an op loses
  // its type here. Byte-level mutations still make that form.
  auto untype_empty = [](std::vector<std::unique_ptr<fb::OperatorT>>& ops) {
    for (auto& op : ops) {
      if (op && op->options.type != fb::OpOptions::NONE && op->options.value == nullptr) op->options.type = fb::OpOptions::NONE;
    }
  };
  if (out.decoder) untype_empty(out.decoder->operators);
  for (auto& method : out.methods) {
    if (method) untype_empty(method->operators);
  }
  return true;
}

// Serialises `m` into data[0, max_size); 0 when it does not fit.
size_t serialize(Random& r, const fb::ModelT& m, uint8_t* data, size_t max_size) {
  flatbuffers::FlatBufferBuilder builder(1024);
  builder.ForceDefaults(r.percent(10));
  const auto root = fb::Model::Pack(builder, &m);
  if (r.percent(2)) {
    builder.Finish(root);  // no file identifier
  } else {
    fb::FinishModelBuffer(builder, root);
  }
  if (builder.GetSize() > max_size) return 0;
  std::memcpy(data, builder.GetBufferPointer(), builder.GetSize());
  return builder.GetSize();
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  Random r(seed);
  fb::ModelT model;
  if (r.percent(10) || !parse(data, size, model)) return LLVMFuzzerMutate(data, size, max_size);
  Mutator mutator{r, model};
  const int count = r.percent(80) ? 1 : 2 + static_cast<int>(r.below(3));
  for (int i = 0; i < count; ++i) mutator.one();
  if (r.percent(30)) mutator.repair();
  const size_t out = serialize(r, model, data, max_size);
  if (out == 0) return LLVMFuzzerMutate(data, size, max_size);
  // Now and then a byte mutation of the re-serialised model as well: the two levels combined.
  if (r.percent(5)) return LLVMFuzzerMutate(data, out, max_size);
  return out;
}

// A copy of one element of `from` (a vector of object-API tables) into `to`: appended, or in
// place of a random element.
template <typename Table>
void cross_one(Random& r, const std::vector<std::unique_ptr<Table>>& from, std::vector<std::unique_ptr<Table>>& to) {
  if (from.empty()) return;
  const auto& src = from[r.below(from.size())];
  if (!src) return;
  auto copy = std::make_unique<Table>(*src);
  if (to.empty() || r.percent(30)) to.push_back(std::move(copy));
  else to[r.below(to.size())] = std::move(copy);
}

// Crossover: a piece of model 2 (a tensor, an op, a buffer, a method, the latent or image spec,
// the provenance, the whole graph) put into model 1; a splice of the bytes if either does not
// parse.
extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1,
                                            const uint8_t* data2, size_t size2, uint8_t* out,
                                            size_t max_out_size, unsigned int seed) {
  Random r(seed);
  fb::ModelT a, b;
  if (!parse(data1, size1, a) || !parse(data2, size2, b)) {
    const size_t head = std::min(r.below(size1 + 1), max_out_size);
    const size_t tail = std::min(size2 - std::min(size2, r.below(size2 + 1)), max_out_size - head);
    std::memcpy(out, data1, head);
    std::memcpy(out + head, data2 + (size2 - tail), tail);
    return head + tail;
  }
  // The tensors and one list of ops of each, whichever version it is.
  auto tensors_of = [](fb::ModelT& m) -> std::vector<std::unique_ptr<fb::TensorT>>& {
    return m.decoder ? m.decoder->tensors : m.tensors;
  };
  auto ops_of = [&r](fb::ModelT& m) -> std::vector<std::unique_ptr<fb::OperatorT>>* {
    if (m.decoder) return &m.decoder->operators;
    if (m.methods.empty()) return nullptr;
    auto& method = m.methods[r.below(m.methods.size())];
    return method ? &method->operators : nullptr;
  };
  switch (r.below(8)) {
    case 0:
      cross_one(r, tensors_of(b), tensors_of(a));
      break;
    case 1: {
      auto* from = ops_of(b);
      auto* to = ops_of(a);
      if (from && to) cross_one(r, *from, *to);
      break;
    }
    case 6:
      cross_one(r, b.methods, a.methods);
      break;
    case 2:
      cross_one(r, b.buffers, a.buffers);
      break;
    case 3: a.latent = std::move(b.latent); break;
    case 4: a.image = std::move(b.image); break;
    case 5: a.provenance = std::move(b.provenance); break;
    default:
      a.decoder = std::move(b.decoder);
      a.tensors = std::move(b.tensors);
      a.methods = std::move(b.methods);
  }
  return serialize(r, a, out, max_out_size);
}
