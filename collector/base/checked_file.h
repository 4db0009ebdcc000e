// Reading a small file the collector is configured with (a bearer token, a TLS certificate or
// key): a regular file, symbolic links followed, read whole up to a bound. A secret's file is
// refused when group or others may access it, as ssh refuses a private key others can read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace kscope {

struct FileRules {
  size_t max_bytes = 0;  // read at most this many; a longer file is cut there
  bool secret = false;   // refused when its mode has any group or other bit
  std::string missing_hint;     // the hint when there is no such file
  std::string unreadable_hint;  // ... when it cannot be opened for another reason
  std::string directory_hint;   // ... when it is a directory
};

// The file's bytes. Every error starts "WHAT PATH: " ("token file /etc/kscope/token: ...").
Result<std::string> read_checked_file(const std::string& path, std::string_view what,
                                      const FileRules& rules);

}  // namespace kscope
