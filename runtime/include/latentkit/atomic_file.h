// Writing output files so that nothing is ever half-written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace latentkit {

// Writes to `path`.tmp, flushes it to disk, then renames it over `path`: a reader never sees
// half a file, and a failed write leaves any previous file in place. Raises Error(io).
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes);
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace latentkit
