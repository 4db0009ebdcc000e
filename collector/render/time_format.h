// Event timestamps are CLOCK_BOOTTIME nanoseconds; people and programs want wall-clock time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kscope {

// CLOCK_REALTIME minus CLOCK_BOOTTIME on this boot, measured once.
int64_t this_boot_wall_offset_ns();
// A replay shows the wall time of the boot it was recorded on, not of this one.
void use_boot_wall_offset(int64_t offset_ns);
int64_t boot_to_wall_ns(uint64_t boot_ns);

std::string_view time_of_day(uint64_t boot_ns);  // HH:MM:SS, local time; valid until the next call
std::string rfc3339(uint64_t boot_ns);           // 2026-11-25T02:08:22.123456789Z

}  // namespace kscope
