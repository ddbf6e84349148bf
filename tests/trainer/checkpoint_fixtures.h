// Checkpoints the trainer does not write, built by hand for the tests that read or refuse them.
// Torch-free, so that the command-line tests can make them too.
#pragma once

#include <string>

namespace latentkit::test_fixtures {

// A valid CVAE checkpoint (fresh weights, latent 2, no resume state) except that its family entry
// names `family`.
void write_cvae_checkpoint_naming(const std::string& path, const std::string& family);

// The checkpoint at `from` (with its resume state) as latentkit 0.2.0 wrote it: every entry but
// the family's, which checkpoints did not record then.
void write_unnamed_copy(const std::string& from, const std::string& to);

}  // namespace latentkit::test_fixtures
