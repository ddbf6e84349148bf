#include "latentkit/trainer/distributed/gradient_buckets.h"

#include <stdexcept>
#include <string>

namespace latentkit::trainer {

namespace {

// Consecutive tensors grouped until a group would exceed `bucket_bytes`.
std::vector<std::vector<torch::Tensor>> group_into_buckets(const std::vector<torch::Tensor>& tensors,
                                                           int64_t bucket_bytes) {
  std::vector<std::vector<torch::Tensor>> buckets;
  int64_t bytes = 0;
  for (const torch::Tensor& t : tensors) {
    if (t.scalar_type() != torch::kFloat32) {
      throw std::logic_error("data-parallel training handles float32 parameters only, got " +
                             std::string(c10::toString(t.scalar_type())));
    }
    const int64_t size = t.numel() * static_cast<int64_t>(sizeof(float));
    if (buckets.empty() || (bytes + size > bucket_bytes && !buckets.back().empty())) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(t);
    bytes += size;
  }
  return buckets;
}

int64_t total_elements(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const torch::Tensor& t : tensors) n += t.numel();
  return n;
}

}  // namespace

GradientBuckets::GradientBuckets(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes) {
  std::vector<torch::Tensor> trained;
  for (const torch::Tensor& p : parameters) {
    if (p.requires_grad()) trained.push_back(p);
  }
  buckets_ = group_into_buckets(trained, bucket_bytes);
  for (const auto& bucket : buckets_) flat_.push_back(torch::empty({total_elements(bucket)}, torch::kFloat32));
}

int64_t GradientBuckets::bytes() const {
  int64_t n = 0;
  for (const torch::Tensor& flat : flat_) n += flat.numel() * static_cast<int64_t>(sizeof(float));
  return n;
}

void GradientBuckets::all_reduce(ProcessGroup& group, double weight) {
  torch::NoGradGuard no_grad;
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    torch::Tensor& flat = flat_[b];
    int64_t offset = 0;
    for (const torch::Tensor& p : buckets_[b]) {
      torch::Tensor slot = flat.slice(0, offset, offset + p.numel());
      if (p.grad().defined()) {
        slot.copy_(p.grad().reshape({-1}));
      } else {
        slot.zero_();
      }
      offset += p.numel();
    }
    flat.mul_(weight);
    group.all_reduce_sum(flat, "all-reduce of the gradients");
    offset = 0;
    for (const torch::Tensor& p : buckets_[b]) {
      const torch::Tensor summed = flat.slice(0, offset, offset + p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(summed);
      } else {
        p.mutable_grad() = summed.clone();
      }
      offset += p.numel();
    }
  }
}

void broadcast_from_rank0(ProcessGroup& group, const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  // Float32 tensors in buckets; anything else (no model here has such a buffer) one by one.
  std::vector<torch::Tensor> floats;
  for (const torch::Tensor& t : tensors) {
    if (t.scalar_type() == torch::kFloat32) {
      floats.push_back(t);
    } else {
      torch::Tensor copy = t.detach().contiguous().clone();
      group.broadcast(copy, 0, "broadcast of rank 0's weights");
      t.copy_(copy);
    }
  }
  for (const auto& bucket : group_into_buckets(floats, bucket_bytes)) {
    std::vector<torch::Tensor> flattened;
    for (const torch::Tensor& t : bucket) flattened.push_back(t.detach().reshape({-1}));
    torch::Tensor flat = torch::cat(flattened);
    group.broadcast(flat, 0, "broadcast of rank 0's weights");
    int64_t offset = 0;
    for (const torch::Tensor& t : bucket) {
      t.copy_(flat.slice(0, offset, offset + t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

}  // namespace latentkit::trainer
