// Errors raised by the latentkit runtime.
//
// Everything that can fail does so while a model is loaded or a backend is built; decoding a
// batch into a backend that was built successfully cannot fail. Every message names the field
// or value that is wrong, so that a user can act on it without a debugger.
#pragma once

#include <stdexcept>
#include <string>

namespace latentkit {

enum class ErrorCode {
  invalid_argument,   // a caller passed something out of range (batch size, grid shape, ...)
  io,                 // a file could not be opened, read or written
  malformed_model,    // the bytes are not a valid latentkit model file
  unsupported_model,  // a valid file this runtime cannot run (newer version, unknown op)
  backend,            // the backend library refused (e.g. XNNPACK on an unsupported CPU)
  out_of_memory,      // the model or batch needs more than ModelLimits allows, or allocating failed
};

const char* to_string(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace latentkit
