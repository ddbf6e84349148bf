// How many threads the trainer's two thread pools get.
//
// libtorch parallelises its own loops with OpenMP (intra-op threads) and calls OpenBLAS for the
// matrix products inside convolutions, and OpenBLAS has a pool of its own. Both pools busy-wait
// for work; on a 2-core machine two spinning pools stall each other for whole scheduler ticks,
// so the trainer sets both explicitly instead of accepting the libraries' defaults.
#pragma once

#include <string>

namespace latentkit::trainer {

// The defaults are what measured fastest for the seed-000 CVAE (docs/training.md, Speed): a second
// intra-op thread gained 2% on an idle 2-core machine and lost 2-5x whenever another process
// was busy, since the OpenMP threads wait on each other.
struct ThreadConfig {
  int intra_op = 1;  // libtorch/OpenMP threads; 0 = one per core
  int blas = 1;      // OpenBLAS threads
};

// Applies the configuration; returns a one-line description of what is in force.
std::string apply_thread_config(const ThreadConfig& config);

}  // namespace latentkit::trainer
