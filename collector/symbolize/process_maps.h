// A process's memory mappings as /proc/PID/maps lists them, and whether a pid still names
// the process a sample was taken from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace kscope {

struct Mapping {
  uint64_t start = 0, end = 0;  // [start, end)
  uint64_t offset = 0;          // of the file, at start
  uint64_t dev = 0;             // makedev(major, minor) of the file's filesystem
  uint64_t inode = 0;           // 0: anonymous
  std::string path;             // "" when anonymous; "[vdso]", "[heap]" for the kernel's
};

// The lines of a maps file, in its (address) order; malformed lines are skipped.
std::vector<Mapping> parse_maps(std::string_view text);
Result<std::vector<Mapping>> read_maps(const std::string& proc_dir);  // "/proc/1234"
// The mapping holding `addr`, of maps sorted by address.
const Mapping* mapping_at(const std::vector<Mapping>& maps, uint64_t addr);

// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or
// nothing when it is gone.
std::optional<uint64_t> start_ticks(const std::string& proc_dir);
// A CLOCK_BOOTTIME start in ns as /proc/PID/stat shows it, in clock ticks.
uint64_t ticks_of_ns(uint64_t ns);

}  // namespace kscope
