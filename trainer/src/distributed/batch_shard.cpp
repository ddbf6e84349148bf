#include "latentkit/trainer/distributed/batch_shard.h"

#include <algorithm>

namespace latentkit::trainer {

BatchShard shard_of(int64_t begin, int64_t end, int rank, int world_size) {
  const int64_t n = end - begin, base = n / world_size, extra = n % world_size;
  BatchShard shard;
  shard.begin = begin + rank * base + std::min<int64_t>(rank, extra);
  shard.end = shard.begin + base + (rank < extra ? 1 : 0);
  return shard;
}

}  // namespace latentkit::trainer
