// The shared secret that guards the collector's metrics endpoint and its live stream: one
// bearer token, read from a file only its owner can read (as ssh refuses a private key others
// can read), compared in constant time.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace kscope {

// The token in `path`: its first line, surrounding whitespace removed. The error names the
// file and says what is wrong: missing, readable or writable by others, empty, too long, or
// holding bytes an HTTP header cannot carry.
Result<std::string> read_token_file(const std::string& path);

// Whether `given` is `expected`, in time that depends on their lengths only.
bool token_matches(std::string_view given, std::string_view expected);

// Whether an Authorization header value carries `expected` as a bearer token (RFC 6750 §2.1:
// the scheme is case-insensitive).
bool bearer_matches(std::string_view authorization, std::string_view expected);

}  // namespace kscope
