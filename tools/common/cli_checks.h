// Checks both command-line programs make on what the user typed, before any work is done, so
// that a bad path or size is refused with a message naming it instead of after a long decode or
// export (or, for a folder given as a model file, with a confusing one).
#pragma once

#include <cstdint>
#include <string>

namespace latentkit::cli {

// Raises Error(io) if `path` is a folder: the loader would read it as a file of absurd size.
// A missing file is left to the loader, whose message says so.
void check_input_file(const std::string& path, const std::string& what);

// Raises Error(io) if a file cannot possibly be written at `path`: an empty name, a folder, a
// folder that does not exist or is a file. (Permissions and free space are only known when
// writing, which is atomic and leaves nothing behind when it fails.)
void check_output_file(const std::string& path, const std::string& what);

// "4096", "64K", "512M", "2G" (K = 1024 bytes; case-insensitive) -> bytes. Raises
// Error(invalid_argument) for anything else, for 0, and for sizes above 2^63.
uint64_t parse_byte_size(const std::string& text, const std::string& what);

}  // namespace latentkit::cli
