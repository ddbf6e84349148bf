#include "latentkit/trainer/thread_config.h"

#include <dlfcn.h>
#include <thread>

#include <torch/torch.h>

namespace latentkit::trainer {

namespace {

// OpenBLAS is reached through Debian's libblas.so.3 alternative, so it may not be OpenBLAS at
// all (the reference BLAS has no threads): look the setter up rather than link against it.
bool set_blas_threads(int threads) {
  using Setter = void (*)(int);
  auto setter = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (setter == nullptr) return false;
  setter(threads);
  return true;
}

}  // namespace

std::string apply_thread_config(const ThreadConfig& config) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int intra = config.intra_op > 0 ? config.intra_op : cores;
  torch::set_num_threads(intra);
  const bool blas = set_blas_threads(config.blas);
  return "threads: " + std::to_string(intra) + " libtorch intra-op, " +
         (blas ? std::to_string(config.blas) + " OpenBLAS" : std::string("BLAS is not OpenBLAS (slow)")) +
         " (" + std::to_string(cores) + " cores)";
}

}  // namespace latentkit::trainer
