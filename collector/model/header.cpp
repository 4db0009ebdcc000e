#include "model/header.h"

#include <cstring>

#include <fmt/format.h>

namespace kscope {

Result<ks_event_header> read_header(std::span<const std::byte> record) {
  ks_event_header h;
  if (record.size() < sizeof(h))
    return fail(fmt::format("record of {} bytes is shorter than its {}-byte header", record.size(),
                            sizeof(h)));
  std::memcpy(&h, record.data(), sizeof(h));
  if (h.size != record.size())
    return fail(fmt::format("record header says {} bytes, record has {}", h.size, record.size()));
  return h;
}

}  // namespace kscope
