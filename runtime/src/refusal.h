// How the loader and the ops' rules refuse a file: an Error whose message names the field and
// the value. Shared by loader/ and ops/, which together decide whether a file is valid.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "latentkit/error.h"

namespace latentkit::detail {

[[noreturn]] inline void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }
[[noreturn]] inline void malformed(const std::string& message) { fail(ErrorCode::malformed_model, message); }
// A file that may be valid but asks for more than the runtime's configured limits allow: the
// caller can raise the limit (ModelLimits) rather than distrust the file.
[[noreturn]] inline void beyond_limit(const std::string& message, const char* limit) {
  fail(ErrorCode::unsupported_model, message + " (ModelLimits::" + limit + ")");
}

// "[2,3,4]", as refusals print shapes.
inline std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? "," : "") << shape[i];
  out << ']';
  return out.str();
}

}  // namespace latentkit::detail
