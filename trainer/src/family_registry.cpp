#include "latentkit/trainer/family_registry.h"

#include <stdexcept>

#include "latentkit/trainer/families/cvae_family.h"

namespace latentkit::trainer {

const std::vector<const FamilyDescription*>& families() {
  // One line per family. The first is what `latentkit train` trains when given no family.
  static const std::vector<const FamilyDescription*> all = {
      &cvae_family(),
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

}  // namespace latentkit::trainer
