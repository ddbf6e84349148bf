// PNG output for the command-line programs.
#pragma once

#include <string>

#include "latentkit/image_grid.h"

namespace latentkit::cli {

// Encodes with stb_image_write and writes atomically (see latentkit/atomic_file.h).
void write_png(const std::string& path, const Picture& picture);

}  // namespace latentkit::cli
