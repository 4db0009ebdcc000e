// The common record header as user space reads it.
#pragma once

#include <linux/types.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "common/event_header.h"

namespace kscope {

// Checks that the record holds its header and that the header's size is the record's size.
Result<ks_event_header> read_header(std::span<const std::byte> record);

// A kernel char array up to its first NUL.
inline std::string_view c_string(const char* chars, size_t n) {
  size_t len = 0;
  while (len < n && chars[len]) ++len;
  return {chars, len};
}

inline std::string_view comm_of(const ks_event_header& h) { return c_string(h.comm, sizeof(h.comm)); }

}  // namespace kscope
