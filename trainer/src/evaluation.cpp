#include "latentkit/trainer/evaluation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace latentkit::trainer {

namespace {

// Restores train mode on scope exit.
struct EvalMode {
  explicit EvalMode(Cvae& m) : model(m), was_training(m->is_training()) { model->eval(); }
  ~EvalMode() { model->train(was_training); }
  Cvae& model;
  bool was_training;
};

}  // namespace

ElboSums elbo_sums(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t begin, int64_t end,
                   int64_t batch_size) {
  torch::NoGradGuard no_grad;
  EvalMode mode(model);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  ElboSums sums;
  const int64_t n = images.size(0);
  end = std::min(end, n);
  for (int64_t start = 0; start < end; start += batch_size) {
    const int64_t stop = std::min(n, start + batch_size);
    if (stop <= begin) {
      // Before the part: only this batch's draws (what reparameterize() would take).
      (void)at::randn({stop - start, model->latent_dims()}, generator, images.options());
      continue;
    }
    auto x = images.slice(0, start, stop);
    auto q = model->encode(x);
    auto terms = vae_terms(model->decode_logits(reparameterize(q, generator)), x, q);
    const int64_t from = std::max(begin, start) - start, to = std::min(end, stop) - start;
    sums.reconstruction += terms.reconstruction.slice(0, from, to).sum().item<double>();
    sums.kl += terms.kl.slice(0, from, to).sum().item<double>();
    sums.images += to - from;
  }
  return sums;
}

EvalResult evaluate(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t batch_size) {
  const ElboSums sums = elbo_sums(model, images, seed, 0, images.size(0), batch_size);
  const double n = static_cast<double>(images.size(0));
  EvalResult result;
  result.reconstruction = sums.reconstruction / n;
  result.kl = sums.kl / n;
  result.elbo = -(result.reconstruction + result.kl);
  return result;
}

double posterior_mean_reconstruction_mse(Cvae& model, const torch::Tensor& images, int64_t batch_size) {
  return posterior_mean_squared_error_sum(model, images, batch_size) / static_cast<double>(images.numel());
}

double posterior_mean_squared_error_sum(Cvae& model, const torch::Tensor& images, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  EvalMode mode(model);
  double squared = 0;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    auto x = images.slice(0, start, std::min(n, start + batch_size));
    auto reconstruction = torch::sigmoid(model->decode_logits(model->encode(x).mean));
    squared += (reconstruction - x).pow(2).sum().item<double>();
  }
  return squared;
}

torch::Tensor iwae_per_image(Cvae& model, const torch::Tensor& images, int64_t k, uint64_t seed,
                             int64_t max_decodes) {
  return iwae_per_image(model, images, k, seed, 0, images.size(0), max_decodes);
}

torch::Tensor iwae_per_image(Cvae& model, const torch::Tensor& images, int64_t k, uint64_t seed, int64_t begin,
                             int64_t end, int64_t max_decodes) {
  if (k < 1) throw std::invalid_argument("IWAE needs k >= 1 samples per image, got " + std::to_string(k));
  if (max_decodes < 1) throw std::invalid_argument("max_decodes must be positive");
  torch::NoGradGuard no_grad;
  EvalMode mode(model);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double log_2pi = std::log(2 * M_PI);
  const int64_t n = images.size(0);
  // Images per pass and samples per decoder call, so that samples x images <= max_decodes.
  const int64_t images_per_pass = std::max<int64_t>(1, std::min(n, max_decodes / std::min(k, max_decodes)));
  const int64_t samples_per_call = std::max<int64_t>(1, std::min(k, max_decodes / images_per_pass));
  end = std::min(end, n);
  begin = std::min(begin, end);
  auto result = torch::empty({end - begin}, torch::kFloat64);
  for (int64_t start = 0; start < end; start += images_per_pass) {
    auto x = images.slice(0, start, std::min(n, start + images_per_pass));
    const int64_t b = x.size(0);
    if (start + b <= begin) {
      // Before the part: only this pass's draws, in the same calls.
      for (int64_t s = 0; s < k; s += samples_per_call) {
        (void)at::randn({std::min(samples_per_call, k - s), b, model->latent_dims()}, generator, images.options());
      }
      continue;
    }
    auto q = model->encode(x);
    auto std_dev = torch::exp(0.5 * q.logvar);
    auto log_w = torch::empty({k, b}, torch::kFloat64);
    for (int64_t s = 0; s < k; s += samples_per_call) {
      const int64_t c = std::min(samples_per_call, k - s);
      auto eps = at::randn({c, b, q.mean.size(1)}, generator, q.mean.options());
      auto z = q.mean.unsqueeze(0) + std_dev.unsqueeze(0) * eps;  // [c, b, latent]
      auto logits = model->decode_logits(z.reshape({c * b, -1}));
      auto targets = x.unsqueeze(0).expand({c, b, x.size(1), x.size(2), x.size(3)}).reshape(logits.sizes());
      auto log_px_z = -torch::binary_cross_entropy_with_logits(logits, targets, {}, {}, at::Reduction::None)
                           .flatten(1)
                           .sum(1)
                           .view({c, b});
      auto log_pz = -0.5 * (z.pow(2) + log_2pi).sum(-1);
      auto log_qz = -0.5 * (eps.pow(2) + log_2pi + q.logvar.unsqueeze(0)).sum(-1);
      log_w.slice(0, s, s + c).copy_((log_px_z + log_pz - log_qz).to(torch::kFloat64));
    }
    const int64_t from = std::max(begin, start), to = std::min(end, start + b);
    result.slice(0, from - begin, to - begin)
        .copy_((torch::logsumexp(log_w, 0) - std::log(static_cast<double>(k))).slice(0, from - start, to - start));
  }
  return result;
}

EvalResult evaluate_with_iwae(Cvae& model, const torch::Tensor& images, uint64_t seed, int64_t k,
                              int64_t iwae_images) {
  EvalResult result = evaluate(model, images, seed);
  if (k > 0) {
    const int64_t n = iwae_images > 0 ? std::min(iwae_images, images.size(0)) : images.size(0);
    result.iwae = iwae_per_image(model, images.slice(0, 0, n), k, seed).mean().item<double>();
    result.iwae_k = k;
    result.iwae_images = n;
  }
  return result;
}

}  // namespace latentkit::trainer
