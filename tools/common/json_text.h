// JSON text for the tools' --json outputs (the bench's, latentkit-judge's): their objects are a few
// fields written in order, so a string quoter is all they need of JSON.
#pragma once

#include <string>

namespace latentkit::cli {

// `text` as a JSON string literal: quotes, backslashes and control characters escaped.
std::string json_string(const std::string& text);

}  // namespace latentkit::cli
