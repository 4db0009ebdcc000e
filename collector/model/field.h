// Typed fields: a tool declares each field of its event once — key, column, type, getter —
// and every encoding derives from the type: the table, NDJSON, the filters, and next the
// Prometheus labels and IPFIX elements. No encoder knows a tool; no tool knows an encoding.
#pragma once

#include <array>
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
  ip,          // IpAddr: table and JSON "10.0.0.1", "fe80::1" ("" when there is none)
  log2_hist,   // Log2Hist: table a block of bars after the row, JSON [{"low","high","count"}]
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

// An IPv4 or IPv6 address as the kernel keeps it: network byte order, IPv4 in bytes[0..3].
struct IpAddr {
  uint8_t family = 0;  // 4 or 6; 0: no address (an unconnected socket)
  std::array<uint8_t, 16> bytes{};
  bool operator==(const IpAddr&) const = default;
};

// "10.0.0.1", "fe80::1" (IPv4-mapped IPv6 as "::ffff:10.0.0.1"), "" for family 0.
std::string ip_text(const IpAddr& a);
// The address `text` spells, or family 0 when it is not an address.
IpAddr parse_ip(std::string_view text);

// A log2 histogram as libbpf-tools' tools keep it: slots[0] counts values 0 and 1, slots[i]
// (i >= 1) values in [2^i, 2^(i+1)).
struct Log2Hist {
  std::span<const unsigned long long> slots;  // as the kernel's __u64
  std::string_view unit;  // "usecs": the table's heading (else the field's column)
};

using Value =
    std::variant<int64_t, uint64_t, bool, std::string_view, PidInNs, ArgvView, IpAddr, Log2Hist>;

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
