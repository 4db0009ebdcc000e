// Writers for the common header's fields, shared by every tool's field list.
#pragma once

#include <cstdint>

#include "pipeline/header.h"
#include "render/fields.h"

namespace kscope {

// Event timestamps are CLOCK_BOOTTIME; this is the wall-clock time they correspond to.
int64_t boot_to_wall_ns(uint64_t boot_ns);

void write_time_of_day(uint64_t boot_ns, FieldWriter& w);  // HH:MM:SS, local time
void write_rfc3339(uint64_t boot_ns, FieldWriter& w);      // 2026-11-25T02:08:22.123456789Z

}  // namespace kscope
