// Where one process stands in a data-parallel run (process_group.h): its rank, how many ranks
// there are, where they meet, and how long a rank waits for the others before it gives up.
#pragma once

#include <string>

namespace latentkit::trainer {

struct DistributedSettings {
  int rank = 0;
  int world_size = 1;  // 1: not distributed, no process group at all
  std::string master = "127.0.0.1:29500";  // ADDR:PORT of the rendezvous store (TCPStore)
  bool host_store = true;  // rank 0 hosts the store, unless a launcher (--nproc) already does
  // How long a rank waits for the others (joining, and in every collective) before it stops with
  // an error naming the problem. Long enough for rank 0's checkpoint and report between steps.
  double timeout_seconds = 120;

  bool distributed() const { return world_size > 1; }
};

}  // namespace latentkit::trainer
