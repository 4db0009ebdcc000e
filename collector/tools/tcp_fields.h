// What the TCP tools' files share (tcplife, tcpstates, tcpreset, tcpretrans): state names,
// the endpoint fields of probes/common/tcp.h (for any event with a member `ends`), and the
// decoder of a fixed-size record.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

#include "common/tcp.h"
#include "model/field.h"
#include "model/header.h"

namespace kscope::tools::tcp {

// The kernel's TCP states (include/net/tcp_states.h) without the TCP_ prefix, as tcpstates
// prints them; "" for 0 (a reset sent without a socket has no state).
inline std::string_view state_name(uint8_t state) {
  static constexpr std::string_view kNames[] = {
      "",          "ESTABLISHED", "SYN_SENT", "SYN_RECV",  "FIN_WAIT1",    "FIN_WAIT2",
      "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",      "CLOSING",
      "NEW_SYN_RECV", "BOUND_INACTIVE",
  };
  return state < std::size(kNames) ? kNames[state] : "UNKNOWN";
}

inline IpAddr ip_of(const uint8_t* bytes, uint8_t family) {
  IpAddr a;
  a.family = family;
  std::copy_n(bytes, family == 6 ? 16 : family == 4 ? 4 : 0, a.bytes.begin());
  return a;
}

template <class Event>
constexpr Field<Event> laddr() {
  return {{"laddr", "LADDR", 15, FieldType::ip},
          [](const Event& e) { return Value(ip_of(e.ends.laddr, e.ends.family)); }};
}
template <class Event>
constexpr Field<Event> lport() {
  return {{"lport", "LPORT", 5, FieldType::integer},
          [](const Event& e) { return int_value(e.ends.lport); }};
}
template <class Event>
constexpr Field<Event> raddr() {
  return {{"raddr", "RADDR", 15, FieldType::ip},
          [](const Event& e) { return Value(ip_of(e.ends.raddr, e.ends.family)); }};
}
template <class Event>
constexpr Field<Event> rport() {
  return {{"rport", "RPORT", 5, FieldType::integer},
          [](const Event& e) { return int_value(e.ends.rport); }};
}

// The socket's TCP state as the record's `state` holds it.
template <class Event>
constexpr Field<Event> state() {
  return {{"state", "STATE", 11, FieldType::text},
          [](const Event& e) { return Value(state_name(e.state)); }};
}

// The socket's kernel address, which ties one socket's events together.
template <class Event>
constexpr Field<Event> skaddr() {
  return {{"skaddr", "", 0, FieldType::uinteger}, [](const Event& e) { return uint_value(e.skaddr); }};
}

// Whether the event ran in the process it names, holding the socket: flag kInTask of the
// record's flags.
template <class Event, auto kInTask>
constexpr Field<Event> in_process() {
  return {{"in_process", "", 0, FieldType::boolean},
          [](const Event& e) { return Value((e.flags & kInTask) != 0); }};
}

// A record that is one plain struct, header first, of record type `type`.
template <class Record>
Result<Record> decode_fixed(std::span<const std::byte> record, uint32_t type, std::string_view tool) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != type || record.size() != sizeof(Record))
    return fail(fmt::format("not a {} record (type {}, {} bytes)", tool, h->type, record.size()));
  Record r;
  std::memcpy(&r, record.data(), sizeof(r));
  return r;
}

}  // namespace kscope::tools::tcp
