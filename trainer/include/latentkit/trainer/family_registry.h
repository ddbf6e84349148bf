// Every model family latentkit knows, in one table (family_registry.cpp): a new family is its own
// file (or folder) plus one line there. `latentkit train`'s help and errors, checkpoints and the
// tests take the list from here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "latentkit/trainer/family_description.h"

namespace latentkit::trainer {

const std::vector<const FamilyDescription*>& families();

// "cvae" or "cvae, pca", for messages and help.
std::string known_families();

// The family called `name`, or nullptr.
const FamilyDescription* find_family(const std::string& name);

// A new model of the family `name` (include family.h to use it). Throws std::invalid_argument
// naming `name` and the known families when there is no such family.
std::unique_ptr<Family> make_family(const std::string& name, const FamilySettings& settings);

// For a family's create(): throws std::invalid_argument unless every option in `settings` is one of
// `accepted`, naming the family, the flag and what it takes.
void refuse_other_options(const FamilySettings& settings, const char* family, const std::vector<std::string>& accepted);

}  // namespace latentkit::trainer
