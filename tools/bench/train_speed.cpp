// latentkit-train-bench: training speed of latentkit's step against a plain libtorch loop of the
// same model, side by side in one process.
//
//   latentkit-train-bench [--data data/mnist] [--batch 128] [--steps 150] [--rounds 3]
//
// (a) "plain": the seed-000 CVAE written the obvious way (modules, Adam, index_select of a
//     pre-binarised batch), at each thread configuration (libtorch intra-op 1/2 x OpenBLAS 1/2);
// (b) "latentkit": the CVAE family's training step (compute_gradients, then apply_gradients), at
//     the same four configurations, each measured right after the plain loop's run at that
//     configuration. Its decoder computes the transposed convolutions through oneDNN convolutions
//     and a batched GEMM (transposed_conv.h).
// Measurements are interleaved over rounds (the machine is shared) and reported as medians of
// images/s; each measurement runs `steps` steps after 3 warm-up steps, or stops after
// --max-seconds. Then a breakdown of where one step's time goes.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/evaluation.h"
#include "latentkit/trainer/families/cvae_family.h"
#include "latentkit/trainer/mnist.h"
#include "latentkit/trainer/thread_config.h"
#include "latentkit/trainer/transposed_conv.h"

namespace tr = latentkit::trainer;
namespace nn = torch::nn;

namespace {

// The reference: the same architecture, written as a libtorch user would, no tricks.
struct PlainCvaeImpl : nn::Module {
  nn::Conv2d c1{nullptr}, c2{nullptr};
  nn::Linear enc{nullptr}, dec{nullptr};
  nn::ConvTranspose2d t1{nullptr}, t2{nullptr}, t3{nullptr};
  int64_t latent;
  explicit PlainCvaeImpl(int64_t latent_dims) : latent(latent_dims) {
    c1 = register_module("c1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).stride(2)));
    c2 = register_module("c2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).stride(2)));
    enc = register_module("enc", nn::Linear(64 * 6 * 6, 2 * latent));
    dec = register_module("dec", nn::Linear(latent, 7 * 7 * 32));
    t1 = register_module("t1", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, 64, 3).stride(2).padding(1).output_padding(1)));
    t2 = register_module("t2", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 32, 3).stride(2).padding(1).output_padding(1)));
    t3 = register_module("t3", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, 1, 3).stride(1).padding(1)));
  }
  torch::Tensor loss(const torch::Tensor& x) {
    auto h = torch::relu(c2(torch::relu(c1(x))));
    auto stats = enc(h.flatten(1)).chunk(2, 1);
    auto mean = stats[0], logvar = stats[1];
    auto z = mean + torch::exp(0.5 * logvar) * torch::randn_like(mean);
    auto d = torch::relu(dec(z)).view({-1, 32, 7, 7});
    auto logits = t3(torch::relu(t2(torch::relu(t1(d)))));
    auto rec = torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::Sum) / x.size(0);
    auto kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum() / x.size(0);
    return rec + kl;
  }
};
TORCH_MODULE(PlainCvae);

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

struct Data {
  torch::Tensor images;  // binarised [N, 1, 28, 28]
  torch::Tensor order;
  int64_t batch;
  int64_t cursor = 0;
  torch::Tensor next() {
    const int64_t n = images.size(0);
    if (cursor + batch > n) cursor = 0;
    auto x = images.index_select(0, order.slice(0, cursor, cursor + batch));
    cursor += batch;
    return x;
  }
};

// Runs `step` after a warm-up; returns images per second.
template <typename Step>
double measure(Step&& step, Data& data, int steps, double max_seconds) {
  for (int i = 0; i < 3; ++i) step(data.next());
  const auto start = Clock::now();
  int done = 0;
  while (done < steps && (done < 5 || seconds_since(start) < max_seconds)) {
    step(data.next());
    ++done;
  }
  return done * data.batch / seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"latentkit-train-bench: latentkit's training step against a plain libtorch loop"};
  std::string data_dir = "mnist";
  int64_t batch = 128, limit = 12800;
  int steps = 150, rounds = 3;
  double max_seconds = 12;
  bool breakdown = true;
  app.add_option("--data", data_dir, "dataset (name or folder); random images when absent")->capture_default_str();
  app.add_option("--batch", batch, "batch size")->capture_default_str();
  app.add_option("--images", limit, "training images used")->capture_default_str();
  app.add_option("--steps", steps, "steps per measurement")->capture_default_str();
  app.add_option("--rounds", rounds, "interleaved rounds (medians over them)")->capture_default_str();
  app.add_option("--max-seconds", max_seconds, "cap on one measurement")->capture_default_str();
  app.add_flag("!--no-breakdown", breakdown, "skip the per-phase breakdown");
  CLI11_PARSE(app, argc, argv);

  torch::manual_seed(1);
  Data data;
  data.batch = batch;
  try {
    const tr::ImageDataset set = tr::load_mnist_dir(tr::resolve_dataset(data_dir), tr::Split::train, limit);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
    data.images = tr::binarize(tr::to_tensor(set), tr::Binarization::dynamic, generator);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "no dataset (%s): random images\n", e.what());
    data.images = torch::bernoulli(torch::full({limit, 1, 28, 28}, 0.15f));
  }
  data.order = torch::randperm(data.images.size(0), torch::kLong);

  PlainCvae plain(2);
  torch::optim::Adam plain_opt(plain->parameters(), torch::optim::AdamOptions(1e-4));
  auto plain_step = [&](const torch::Tensor& x) {
    auto loss = plain->loss(x);
    plain_opt.zero_grad();
    loss.backward();
    plain_opt.step();
  };
  tr::FamilySettings settings;
  settings.latent_dims = 2;
  settings.learning_rate = 1e-4;
  tr::CvaeFamily family(settings);
  tr::Cvae& model = family.model();
  torch::optim::Adam& opt = family.optimizer();
  auto latentkit_step = [&](const torch::Tensor& x) {
    family.compute_gradients(x);
    family.apply_gradients();
  };

  const std::vector<tr::ThreadConfig> configs = {{1, 1}, {1, 2}, {2, 1}, {2, 2}};
  const tr::ThreadConfig trainer_default;
  auto name = [](const tr::ThreadConfig& c) {
    return "intra " + std::to_string(c.intra_op) + ", blas " + std::to_string(c.blas);
  };
  std::map<std::string, std::vector<double>> plain_runs, latentkit_runs;
  for (int round = 0; round < rounds; ++round) {
    for (const auto& c : configs) {
      tr::apply_thread_config(c);
      const double p = measure(plain_step, data, steps, max_seconds);
      const double l = measure(latentkit_step, data, steps, max_seconds);
      plain_runs[name(c)].push_back(p);
      latentkit_runs[name(c)].push_back(l);
      std::fprintf(stderr, "round %d  %-16s plain %7.0f img/s   latentkit %7.0f img/s\n", round + 1, name(c).c_str(), p, l);
    }
  }
  std::printf("batch %lld, %d steps x %d rounds, medians (images/s):\n", static_cast<long long>(batch), steps, rounds);
  std::printf("  %-16s %10s %10s\n", "threads", "plain", "latentkit");
  double best_plain = 0, best_latentkit = 0;
  std::string best_plain_name, best_latentkit_name;
  tr::ThreadConfig best_latentkit_config = trainer_default;
  for (const auto& c : configs) {
    const double p = median(plain_runs[name(c)]), l = median(latentkit_runs[name(c)]);
    std::printf("  %-16s %10.0f %10.0f\n", name(c).c_str(), p, l);
    if (p > best_plain) best_plain = p, best_plain_name = name(c);
    if (l > best_latentkit) best_latentkit = l, best_latentkit_name = name(c), best_latentkit_config = c;
  }
  std::printf("best plain: %.0f (%s); best latentkit: %.0f (%s); ratio %.2fx (target 1.2x)\n", best_plain,
              best_plain_name.c_str(), best_latentkit, best_latentkit_name.c_str(), best_latentkit / best_plain);
  std::printf("trainer default (%s)\n", tr::apply_thread_config(trainer_default).c_str());

  if (breakdown) {
    // Where one latentkit step's time goes, at latentkit's best threads of this run (on a busy
    // machine two intra-op threads can stall each other, which would hide the breakdown).
    std::printf("breakdown at %s\n", tr::apply_thread_config(best_latentkit_config).c_str());
    std::map<std::string, std::vector<double>> phase;
    for (int i = 0; i < 40; ++i) {
      auto x = data.next();
      auto t = Clock::now();
      auto q = model->encode(x);
      phase["encoder forward"].push_back(seconds_since(t));
      t = Clock::now();
      auto z = tr::reparameterize(q);
      auto logits = model->decode_logits(z);
      phase["decoder forward"].push_back(seconds_since(t));
      t = Clock::now();
      auto terms = tr::vae_terms(logits, x, q);
      auto loss = (terms.reconstruction + terms.kl).mean();
      phase["loss"].push_back(seconds_since(t));
      t = Clock::now();
      opt.zero_grad();
      loss.backward();
      phase["backward (all)"].push_back(seconds_since(t));
      t = Clock::now();
      opt.step();
      phase["adam step"].push_back(seconds_since(t));
      t = Clock::now();
      (void)data.next();
      phase["batch (index_select)"].push_back(seconds_since(t));
    }
    // Each decoder layer alone, forward + backward on its input shape.
    auto layer = [&](const char* label, auto& module, torch::Tensor input, auto&& forward) {
      input.requires_grad_(true);
      for (int i = 0; i < 40; ++i) {
        auto t = Clock::now();
        auto y = forward(input, module);
        phase[std::string(label) + " forward"].push_back(seconds_since(t));
        t = Clock::now();
        y.sum().backward();
        phase[std::string(label) + " backward"].push_back(seconds_since(t));
      }
    };
    // The modules' own forward (slow_conv_transpose2d) against what the decoder uses.
    auto module_forward = [](const torch::Tensor& x, nn::ConvTranspose2d& m) { return m->forward(x); };
    layer("  tconv1 module", model->dec_tconv1, torch::randn({batch, 32, 7, 7}), module_forward);
    layer("  tconv1 adjoint (used)", model->dec_tconv1, torch::randn({batch, 32, 7, 7}), tr::conv_transpose2d_via_adjoint);
    layer("  tconv2 module", model->dec_tconv2, torch::randn({batch, 64, 14, 14}), module_forward);
    layer("  tconv2 adjoint (used)", model->dec_tconv2, torch::randn({batch, 64, 14, 14}), tr::conv_transpose2d_via_adjoint);
    layer("  tconv3 module", model->dec_tconv3, torch::randn({batch, 32, 28, 28}), module_forward);
    layer("  tconv3 gemm (used)", model->dec_tconv3, torch::randn({batch, 32, 28, 28}), tr::conv_transpose2d_via_gemm);
    std::printf("one step at batch %lld, median ms over 40:\n", static_cast<long long>(batch));
    for (const auto& [label, times] : phase) std::printf("  %-28s %8.2f\n", label.c_str(), 1000 * median(times));
  }
  return 0;
}
