// The ranks of a data-parallel run and the collectives between them: libtorch's c10d
// ProcessGroupGloo (CPU all-reduce over TCP, what PyTorch's own distributed CPU training uses)
// over a TCPStore rendezvous. No protocol of ours: every byte between ranks goes through c10d.
//
// Rendezvous: one TCPStore server at ADDR:PORT (rank 0 hosts it, or the `--nproc` launcher does
// for its children); every rank connects to it, publishes its Gloo address and reads the others'.
// Every call below is collective: each rank makes the same calls in the same order.
//
// Failure: a rank that dies closes its sockets, and the others' next collective fails at once; a
// rank that hangs or never joins makes the others' wait run into `timeout_seconds`. Either way
// the call throws std::runtime_error naming this rank, the collective and the timeout, so a run
// ends with a message and a non-zero exit instead of hanging.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "latentkit/trainer/distributed/distributed_settings.h"

namespace latentkit::trainer {

// "ADDR:PORT" split; throws std::invalid_argument naming --master when it is not of that form.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
HostPort parse_master(const std::string& text);

class ProcessGroup {
 public:
  // Joins the job: connects to (or hosts) the store and builds the Gloo group. Throws
  // std::runtime_error naming the address and the timeout when the others do not all join.
  static std::unique_ptr<ProcessGroup> join(const DistributedSettings& settings);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // In place, on contiguous CPU tensors. `what` names the collective in an error message.
  void all_reduce_sum(torch::Tensor& tensor, const char* what);
  void all_reduce_max(torch::Tensor& tensor, const char* what);
  void broadcast(torch::Tensor& tensor, int root, const char* what);
  // Every rank's `tensor` (same shape everywhere), stacked in rank order: [world_size, ...].
  torch::Tensor all_gather(const torch::Tensor& tensor, const char* what);

 private:
  struct Impl;
  ProcessGroup(std::unique_ptr<Impl> impl, int rank, int world_size);
  std::unique_ptr<Impl> impl_;
  int rank_;
  int world_size_;
};

// What `latentkit train --nproc N` hosts for its N children: a TCPStore server on 127.0.0.1 at a
// port the system chooses (so that tests and concurrent jobs never collide), alive as long as
// the object.
class StoreServer {
 public:
  explicit StoreServer(double timeout_seconds);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latentkit::trainer
