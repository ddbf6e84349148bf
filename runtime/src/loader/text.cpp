// Strings from the file.
#include "loader/loader.h"
#include "refusal.h"

namespace latentkit::loader {

using detail::beyond_limit;
using detail::fail;
using detail::malformed;
using detail::shape_string;

// A string from the file, which every message and the tools print: it must be valid UTF-8
// without control characters (a file could otherwise move the cursor or rewrite a terminal's
// title through an error message), and of reasonable length. The refusal itself names the byte
// position and value, never the bytes.
std::string checked_text(const flatbuffers::String* s, const std::string& what) {
  if (s == nullptr) return {};
  if (s->size() > kMaxStringBytes) {
    malformed(what + " is " + std::to_string(s->size()) + " bytes long (limit " +
              std::to_string(kMaxStringBytes) + ")");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(s->data());
  const std::size_t n = s->size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = bytes[i];
    if (c < 0x20 || c == 0x7f) {
      malformed(what + " has control character " + std::to_string(c) + " at byte " + std::to_string(i));
    }
    // UTF-8: the lead byte says how many continuation bytes (10xxxxxx) follow; overlong forms,
    // surrogates and code points past U+10FFFF are refused, as are C1 controls (U+0080..U+009F).
    std::size_t extra = 0;
    uint32_t code = c;
    if (c >= 0xc2 && c <= 0xdf) { extra = 1; code = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { extra = 2; code = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { extra = 3; code = c & 0x07; }
    else if (c >= 0x80) malformed(what + " is not UTF-8 (byte " + std::to_string(c) + " at " + std::to_string(i) + ")");
    for (std::size_t k = 1; k <= extra; ++k) {
      if (i + k >= n || (bytes[i + k] & 0xc0) != 0x80) {
        malformed(what + " is not UTF-8 (sequence at byte " + std::to_string(i) + ")");
      }
      code = (code << 6) | (bytes[i + k] & 0x3f);
    }
    const uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (code < smallest[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ||
        (code >= 0x80 && code <= 0x9f)) {
      malformed(what + " has an invalid or control code point at byte " + std::to_string(i));
    }
    i += extra + 1;
  }
  return s->str();
}

std::string Context::text(const flatbuffers::String* s, const std::string& what) {
  std::string value = checked_text(s, what);
  text_bytes += value.size();
  if (text_bytes > kMaxTotalStringBytes) {
    malformed("the file's strings add up to more than " + std::to_string(kMaxTotalStringBytes) + " bytes (at " + what + ")");
  }
  return value;
}

}  // namespace latentkit::loader
