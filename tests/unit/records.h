// Ring buffer records built byte for byte, as the probes lay them out (probes/*.h): what the
// decode, filter and replay tests feed the tools, and what the fuzz seeds start from.
#pragma once

#include <fcntl.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_header.h"
#include "exec.h"
#include "open.h"

namespace kscope::test {

// The ABI the records below are built against: a change here is a change in the probes.
static_assert(sizeof(ks_event_header) == 56);
static_assert(offsetof(ks_exec_event, args) == 80);
static_assert(offsetof(ks_open_event, path) == 88);

using Bytes = std::vector<std::byte>;

// Little-endian appends, so each record is built field by field at its ABI offset.
struct RecordBuilder {
  Bytes b;
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void chars(std::string_view s, size_t n) {  // a fixed char[n], NUL padded
    for (size_t i = 0; i < n; ++i) b.push_back(std::byte(i < s.size() ? s[i] : 0));
  }
  void raw(std::string_view s) {
    for (char c : s) b.push_back(std::byte(c));
  }
  void put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(std::byte(v >> (8 * i)));
  }
  // Writes the header's size field (offset 20) once the record is complete.
  void set_size(uint32_t size) {
    for (int i = 0; i < 4; ++i) b[20 + i] = std::byte(size >> (8 * i));
  }
};

struct Header {
  uint64_t ts_ns = 123'456'789'012;
  uint64_t cgroup_id = 0x1122334455667788;
  uint32_t type = KS_EVENT_EXEC;
  uint32_t pid = 4243;
  uint32_t tgid = 4242;
  uint32_t uid = 1000;
  std::string_view comm = "exec_target";
};

inline void put_header(RecordBuilder& r, const Header& h) {
  r.u64(h.ts_ns);
  r.u64(h.cgroup_id);
  r.u32(h.type);
  r.u32(0);  // size, set by set_size()
  r.u32(h.pid);
  r.u32(h.tgid);
  r.u32(h.uid);
  r.u32(0);  // pad
  r.chars(h.comm, KS_COMM_LEN);
}

struct ExecBody {
  uint32_t ppid = 4000;
  uint32_t ns_tgid = 7;
  int32_t ret = 0;
  uint32_t flags = 0;
  std::string_view args;  // the NUL-separated argv bytes as the probe copied them
  std::optional<uint32_t> args_size;  // default: args.size()
};

inline Bytes exec_record(const Header& h, const ExecBody& e, std::optional<uint32_t> size = {}) {
  RecordBuilder r;
  put_header(r, h);
  r.u32(e.ppid);
  r.u32(e.ns_tgid);
  r.u32(static_cast<uint32_t>(e.ret));
  r.u32(e.flags);
  r.u32(e.args_size.value_or(static_cast<uint32_t>(e.args.size())));
  r.u32(0);  // pad
  r.raw(e.args);
  r.set_size(size.value_or(static_cast<uint32_t>(r.b.size())));
  return r.b;
}

struct OpenBody {
  uint64_t flags = O_WRONLY | O_CREAT | O_TRUNC;
  int32_t ret = 3;
  int32_t dfd = -100;
  uint32_t mode = 0644;
  uint16_t syscall = KS_OPEN_OPENAT;
  std::string_view path;
  std::optional<uint16_t> path_size;  // default: path.size()
  uint32_t partial = 0;               // KS_OPEN_*_UNREADABLE
};

inline Bytes open_record(const Header& h, const OpenBody& o) {
  RecordBuilder r;
  put_header(r, h);
  r.u64(o.flags);
  r.u32(static_cast<uint32_t>(o.ret));
  r.u32(static_cast<uint32_t>(o.dfd));
  r.u32(o.mode);
  r.u16(o.syscall);
  r.u16(o.path_size.value_or(static_cast<uint16_t>(o.path.size())));
  r.u32(o.partial);
  r.u32(0);  // pad
  r.raw(o.path);
  r.set_size(static_cast<uint32_t>(r.b.size()));
  return r.b;
}

inline Header open_header() {
  Header h;
  h.type = KS_EVENT_OPEN;
  h.comm = "open_known";
  return h;
}

}  // namespace kscope::test
