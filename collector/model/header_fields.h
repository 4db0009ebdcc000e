// The fields every event has because every record starts with the common header. Each tool
// lists the ones it shows, so that --pid, --uid, --comm and --cgroup filter every tool alike.
#pragma once

#include "model/field.h"
#include "model/header.h"

namespace kscope::header_fields {

template <class Event>
constexpr Field<Event> time() {
  return {{"time", "TIME", 8, FieldType::boot_time},
          [](const Event& e) { return uint_value(e.hdr.ts_ns); }};
}
template <class Event>
constexpr Field<Event> comm(std::string_view column = "COMM") {
  return {{"comm", column, 16, FieldType::text},
          [](const Event& e) { return Value(comm_of(e.hdr)); }};
}
// The process id as the host sees it.
template <class Event>
constexpr Field<Event> pid() {
  return {{"pid", "PID", 7, FieldType::integer},
          [](const Event& e) { return int_value(e.hdr.tgid); }};
}
template <class Event>
constexpr Field<Event> tid(std::string_view column = "") {
  return {{"tid", column, 7, FieldType::integer},
          [](const Event& e) { return int_value(e.hdr.pid); }};
}
template <class Event>
constexpr Field<Event> uid() {
  return {{"uid", "UID", 6, FieldType::integer},
          [](const Event& e) { return int_value(e.hdr.uid); }};
}
template <class Event>
constexpr Field<Event> cgroup_id() {
  return {{"cgroup_id", "", 0, FieldType::uinteger},
          [](const Event& e) { return uint_value(e.hdr.cgroup_id); }};
}

}  // namespace kscope::header_fields
