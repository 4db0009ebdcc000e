// JSON string escaping. Kernel strings are arbitrary bytes: invalid UTF-8 becomes U+FFFD so
// every line stays valid JSON.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace kscope {

void append_json_string(fmt::memory_buffer& out, std::string_view s);

}  // namespace kscope
