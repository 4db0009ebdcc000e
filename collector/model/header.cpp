#include "model/header.h"

#include <time.h>

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

ks_event_header snapshot_header(uint32_t type, uint32_t size) {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  ks_event_header h{};
  h.ts_ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  h.type = type;
  h.size = size;
  return h;
}

}  // namespace kscope
