// Typed fields: a tool declares each field of its event once — key, column, type, getter —
// and every encoding derives from the type: the table, NDJSON, the filters, and next the
// Prometheus labels and IPFIX elements. No encoder knows a tool; no tool knows an encoding.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace kscope {

enum class FieldType : uint8_t {
  integer,     // int64
  uinteger,    // uint64: ids that may use all 64 bits (cgroup ids)
  boolean,     // bool
  text,        // string_view: kernel strings, arbitrary bytes
  boot_time,   // uint64 CLOCK_BOOTTIME ns: table HH:MM:SS (local), JSON RFC 3339 (UTC)
  duration,    // uint64 ns: table seconds ("1.250"), JSON integer ns
  errno_code,  // int64 errno or 0: table "ENOENT", JSON integer
  signal,      // int64 signal number or 0: table "SIGKILL", JSON integer
  flags,       // uint64 bit set: table and JSON the names FieldInfo::symbols gives
  octal,       // uint64: table "0644", JSON integer
  pid,         // PidInNs: table "host" or "host/inner", JSON the host pid
  argv,        // ArgvView: table shell words ("..." when cut), JSON array of strings
};

std::string_view field_type_name(FieldType t);

// A process id as the host sees it and as its own pid namespace does.
struct PidInNs {
  uint32_t host = 0;
  uint32_t inner = 0;
};

struct ArgvView {
  std::span<const std::string> args;
  bool truncated = false;  // shown as a trailing "..." in the table
};

using Value = std::variant<int64_t, uint64_t, bool, std::string_view, PidInNs, ArgvView>;

// Explicit constructors: __u64 is unsigned long long and uint64_t unsigned long, so a bare
// kernel integer would not pick a variant member on its own.
inline Value int_value(int64_t v) { return Value(std::in_place_type<int64_t>, v); }
inline Value uint_value(uint64_t v) { return Value(std::in_place_type<uint64_t>, v); }

struct FieldInfo {
  std::string_view key;     // NDJSON key and filter name
  std::string_view column;  // table header; empty: not shown in the table
  int width = 0;            // table column width; the last column is not padded
  FieldType type = FieldType::integer;
  std::string (*symbols)(uint64_t) = nullptr;  // FieldType::flags: the names of the bits
};

template <class Event>
struct Field {
  FieldInfo info;
  Value (*get)(const Event&);
  // What the table appends to the cell when the probe could read the value only in part
  // ("<unreadable>"), else "". NDJSON has a boolean field of its own for the same fact.
  std::string_view (*mark)(const Event&) = nullptr;
};

}  // namespace kscope
