// The common record header as user space reads it.
#pragma once

#include <linux/types.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "base/record_sink.h"
#include "base/result.h"
#include "common/event_header.h"
#include "common/histogram.h"
#include "model/field.h"

namespace kscope {

// Checks that the record holds its header and that the header's size is the record's size.
Result<ks_event_header> read_header(std::span<const std::byte> record);

// A kernel char array up to its first NUL.
inline std::string_view c_string(const char* chars, size_t n) {
  size_t len = 0;
  while (len < n && chars[len]) ++len;
  return {chars, len};
}

// The header of a record an aggregating tool's snapshot makes in user space: its type and
// size, and the time of the snapshot (CLOCK_BOOTTIME, as the kernel stamps records). The
// task fields stay 0 unless the tool's key names a task.
ks_event_header snapshot_header(uint32_t type, uint32_t size);

// Hands a fixed-size record (a plain struct, header first) to the sink.
template <class Record>
void emit_record(RecordSink& sink, const Record& r) {
  sink.on_record(std::as_bytes(std::span<const Record, 1>(&r, 1)));
}

inline Log2Hist hist_of(const ks_log2_hist& h, std::string_view unit) { return Log2Hist{h.slots, unit}; }

inline std::string_view comm_of(const ks_event_header& h) { return c_string(h.comm, sizeof(h.comm)); }

}  // namespace kscope
