// The sharded sampler of data-parallel training. Every rank draws the same permutation of the
// training set each epoch (same seed everywhere); step s takes the whole run's batch
// order[s*B, (s+1)*B) as a single process would, and rank r takes its contiguous part of it. The
// parts are disjoint, cover the batch, and differ in size by at most one image; so W ranks
// together see each epoch exactly the images, in the same batches, that one process sees with
// the same --batch, and the gradient weighted by each part's share is the batch's gradient.
#pragma once

#include <cstdint>

namespace latentkit::trainer {

struct BatchShard {
  int64_t begin = 0;  // indices into the step's range [begin, end) of the permutation
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

// Rank `rank`'s part of [begin, end) among `world_size` ranks (rank order, the first ranks take
// the remainder).
BatchShard shard_of(int64_t begin, int64_t end, int rank, int world_size);

}  // namespace latentkit::trainer
