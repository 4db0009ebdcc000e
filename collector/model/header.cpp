#include "model/header.h"

#include <cstring>

#include <fmt/format.h>

#include "base/boot_clock.h"

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

ks_event_header snapshot_header(uint32_t type, uint32_t size) {
  ks_event_header h{};
  h.ts_ns = boot_now_ns();
  h.type = type;
  h.size = size;
  return h;
}

}  // namespace kscope
