// The dcgan family's test figures, as its files (dcgan_family.cpp, dcgan_pictures.cpp,
// export_dcgan.cpp) read them.
#pragma once

#include <cstddef>
#include <vector>

#include "latentkit/trainer/family_description.h"

namespace latentkit::trainer::dcgan_columns {

// Indices into a run's test figures: the order of columns().
enum Column : std::size_t { kGeneratorLoss, kDiscriminatorLoss, kRealScore, kFakeScore, kFrechet, kCount };

// The two players' losses (nats per image), the mean D(x) of the test images and D(G(z)) of as
// many samples, and the Fréchet distance in the judge's feature space (NaN without --judge).
inline std::vector<MetricColumn> columns() {
  return {{"test_generator_loss", 4}, {"test_discriminator_loss", 4}, {"test_d_real", 4}, {"test_d_fake", 4},
          {"test_frechet", 3}};
}

}  // namespace latentkit::trainer::dcgan_columns
