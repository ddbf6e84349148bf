#include "latentkit/error.h"

namespace latentkit {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid argument";
    case ErrorCode::io: return "i/o error";
    case ErrorCode::malformed_model: return "malformed model file";
    case ErrorCode::unsupported_model: return "unsupported model file";
    case ErrorCode::backend: return "backend error";
    case ErrorCode::out_of_memory: return "out of memory";
  }
  return "unknown error";
}

}  // namespace latentkit
