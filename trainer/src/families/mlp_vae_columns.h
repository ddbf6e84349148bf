// The MLP VAE families' test figures, as their files (mlp_vae_family.cpp, mlp_vae_pictures.cpp)
// read them.
#pragma once

#include <cstddef>
#include <vector>

#include "latentkit/trainer/family_description.h"

namespace latentkit::trainer::mlp_vae_columns {

// Indices into a run's test figures: the order of columns().
enum Column : std::size_t { kLoss, kReconstruction, kKlContinuous, kKlDiscrete, kCount };

// Negative ELBO and its terms, nats per image; a term the family lacks is 0.
inline std::vector<MetricColumn> columns() {
  return {{"test_loss", 4}, {"test_reconstruction", 4}, {"test_kl_continuous", 4}, {"test_kl_discrete", 4}};
}

}  // namespace latentkit::trainer::mlp_vae_columns
