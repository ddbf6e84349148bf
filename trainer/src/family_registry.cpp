#include "latentkit/trainer/family_registry.h"

#include <algorithm>
#include <stdexcept>

#include "latentkit/trainer/families/autoencoder_family.h"
#include "latentkit/trainer/families/cvae_family.h"
#include "latentkit/trainer/families/dcgan_family.h"
#include "latentkit/trainer/families/mlp_vae_family.h"

namespace latentkit::trainer {

const std::vector<const FamilyDescription*>& families() {
  // One line per family. The first is what `latentkit train` trains when given no family.
  static const std::vector<const FamilyDescription*> all = {
      &cvae_family(),
      &pca_family(),
      &ae_family(),
      &dae_family(),
      &sae_family(),
      &conv_ae_family(),
      &mlp_vae_family(),
      &discrete_vae_family(),
      &joint_vae_family(),
      &dcgan_family(),
  };
  return all;
}

std::string known_families() {
  std::string names;
  for (const FamilyDescription* family : families()) names += (names.empty() ? "" : ", ") + std::string(family->name);
  return names;
}

const FamilyDescription* find_family(const std::string& name) {
  for (const FamilyDescription* family : families()) {
    if (name == family->name) return family;
  }
  return nullptr;
}

std::unique_ptr<Family> make_family(const std::string& name, const FamilySettings& settings) {
  const FamilyDescription* family = find_family(name);
  if (family == nullptr) {
    throw std::invalid_argument("unknown model family '" + name + "' (known: " + known_families() + ")");
  }
  return family->create(settings);
}

void refuse_other_options(const FamilySettings& settings, const char* family, const std::vector<std::string>& accepted) {
  for (const auto& [flag, value] : settings.options) {
    if (std::find(accepted.begin(), accepted.end(), flag) != accepted.end()) continue;
    std::string takes;
    for (const std::string& a : accepted) takes += (takes.empty() ? "" : ", ") + ("--" + a);
    throw std::invalid_argument(std::string("the ") + family + " family takes no --" + flag + " (given '" + value +
                                "'); " + (takes.empty() ? std::string("it has no options of its own") : "it takes " + takes));
  }
}

}  // namespace latentkit::trainer
