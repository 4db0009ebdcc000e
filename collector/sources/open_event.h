// trace open in user space: the decoded event and its fields. The path is a view into the
// record, valid while the record is being handled: storms cannot afford a copy per event.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bpf/result.h"
#include "open.h"
#include "render/fields.h"

namespace kscope {

struct OpenEvent {
  ks_event_header hdr;
  uint64_t flags = 0;
  int32_t ret = 0;  // fd, or -errno
  int32_t dfd = 0;
  uint32_t mode = 0;
  uint16_t syscall = KS_OPEN_OPENAT;
  std::string_view path;
};

Result<OpenEvent> decode_open(std::span<const std::byte> record);

// "O_RDONLY|O_CLOEXEC": the access mode first, then each known flag, then any unknown bits.
std::string open_flags_string(uint64_t flags);
// "ENOENT" for 2; the number as text when unknown.
std::string errno_name(int err);

// The probe's own filters, for a replay (which bypasses the probe): --failed (failed opens
// only) and --path PREFIX.
inline bool open_wanted(const OpenEvent& e, bool failed, std::string_view prefix) {
  return (!failed || e.ret < 0) && e.path.starts_with(prefix);
}

std::span<const Field<OpenEvent>> open_fields();

}  // namespace kscope
