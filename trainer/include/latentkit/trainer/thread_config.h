// How many threads the trainer's two thread pools get.
//
// libtorch parallelises its own loops with OpenMP (intra-op threads) and calls OpenBLAS for the
// matrix products inside convolutions, and OpenBLAS has a pool of its own. Both pools busy-wait
// for work; on a 2-core machine two spinning pools stall each other for whole scheduler ticks,
// so the trainer sets both explicitly instead of accepting the libraries' defaults.
#pragma once

#include <string>

namespace latentkit::trainer {

// The defaults are what measured fastest for the seed-000 CVAE on an idle machine (docs/training.md,
// Speed): 2 intra-op threads 2601 images/s, 1 thread 1614. On a busy machine the OpenMP threads
// wait on each other and 1 thread is faster (--threads 1).
struct ThreadConfig {
  int intra_op = 0;  // libtorch/OpenMP threads; 0 = one per core
  int blas = 1;      // OpenBLAS threads
};

// Applies the configuration; returns a one-line description of what is in force.
std::string apply_thread_config(const ThreadConfig& config);

}  // namespace latentkit::trainer
