// Writing output files so that nothing is ever half-written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace latentkit {

// Writes to `path`.tmp, flushes it to disk, then renames it over `path`: a reader never sees
// half a file, and a failed write leaves any previous file in place and no `.tmp` behind.
// A `path` that exists and is not a regular file (/dev/stdout, a pipe, /dev/full) is written in
// place instead. Raises Error(io) naming the path and the problem (a missing folder, a folder
// given as the file, a full disk, ...).
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes);
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace latentkit
