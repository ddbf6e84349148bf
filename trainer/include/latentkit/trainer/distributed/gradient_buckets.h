// Averaging gradients between ranks the way PyTorch's DistributedDataParallel does, in buckets:
// the parameters' gradients are copied into a few flat buffers of about `bucket_bytes` each, and
// each buffer is all-reduced once, instead of one all-reduce per tensor (a model of 10 small
// tensors would pay 10 round trips per step). The reduction runs after backward, between
// Family::compute_gradients and Family::apply_gradients; it does not overlap backward (that
// would need autograd hooks, and these models' backward passes are a few milliseconds).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/distributed/process_group.h"

namespace latentkit::trainer {

// 1 MiB: the CVAE's gradients (0.28 MB of float32) and conv-ae's (0.21 MB) are one bucket, the
// MLP autoencoders' (4.27 MB) five (the run prints it), so Gloo's per-call overhead is paid a
// handful of times per step at most, and a bucket is still small enough to stream through its
// ring.
constexpr int64_t kGradientBucketBytes = int64_t{1} << 20;

class GradientBuckets {
 public:
  // The parameters that take gradients (requires_grad), in order; a tensor larger than
  // `bucket_bytes` gets a bucket of its own. All float32 (the trainer's models are).
  explicit GradientBuckets(const std::vector<torch::Tensor>& parameters, int64_t bucket_bytes = kGradientBucketBytes);

  // Replaces every gradient g_r (this rank's) by sum over ranks of weight_r * g_r, identical on
  // every rank. With weight_r = (this rank's images) / (images of the step on all ranks), a loss
  // that is a mean over the batch gets exactly the gradient of the whole step's batch. A
  // parameter without a gradient (a rank that had no image this step) counts as zeros.
  void all_reduce(ProcessGroup& group, double weight);

  std::size_t bucket_count() const { return buckets_.size(); }
  int64_t bytes() const;  // of all the gradients

 private:
  std::vector<std::vector<torch::Tensor>> buckets_;  // parameters
  std::vector<torch::Tensor> flat_;                  // one buffer per bucket, reused every step
};

// Every parameter and buffer of `modules` set to rank 0's (bucketed like the gradients): after
// it all ranks start from bit-identical weights whatever their own initialisation drew.
void broadcast_from_rank0(ProcessGroup& group, const std::vector<torch::Tensor>& tensors,
                          int64_t bucket_bytes = kGradientBucketBytes);

}  // namespace latentkit::trainer
