#include "sources/open_event.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "pipeline/header.h"
#include "render/header_fields.h"

namespace kscope {

Result<OpenEvent> decode_open(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  constexpr size_t fixed = offsetof(ks_open_event, path);
  if (h->type != KS_EVENT_OPEN || record.size() < fixed)
    return fail(fmt::format("not an open record (type {}, {} bytes)", h->type, record.size()));
  ks_open_event raw;
  std::memcpy(&raw, record.data(), fixed);
  if (raw.path_size != record.size() - fixed)
    return fail(fmt::format("open record says {} path bytes, carries {}", raw.path_size,
                            record.size() - fixed));
  OpenEvent e;
  e.hdr = *h;
  e.flags = raw.flags;
  e.ret = raw.ret;
  e.dfd = raw.dfd;
  e.mode = raw.mode;
  e.syscall = raw.syscall;
  e.path = c_string(reinterpret_cast<const char*>(record.data()) + fixed, raw.path_size);
  return e;
}

// The kernel's O_LARGEFILE; 64-bit C libraries define the user-space macro as 0.
constexpr uint64_t kLargeFile = 00100000;

std::string open_flags_string(uint64_t flags) {
  static constexpr struct {
    uint64_t bit;
    const char* name;
  } kFlags[] = {
      // Multi-bit flags first: O_SYNC includes O_DSYNC, O_TMPFILE includes O_DIRECTORY.
      {O_SYNC, "O_SYNC"},         {O_TMPFILE, "O_TMPFILE"},   {O_CREAT, "O_CREAT"},
      {O_EXCL, "O_EXCL"},         {O_NOCTTY, "O_NOCTTY"},     {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"}, {O_DSYNC, "O_DSYNC"},
      {O_ASYNC, "O_ASYNC"},       {O_DIRECT, "O_DIRECT"},     {kLargeFile, "O_LARGEFILE"},
      {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"},
      {O_CLOEXEC, "O_CLOEXEC"},   {O_PATH, "O_PATH"},
  };
  std::string s;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: s = "O_RDONLY"; break;
    case O_WRONLY: s = "O_WRONLY"; break;
    case O_RDWR: s = "O_RDWR"; break;
    default: s = "O_ACCMODE"; break;
  }
  uint64_t rest = flags & ~uint64_t{O_ACCMODE};
  for (const auto& f : kFlags) {
    if ((rest & f.bit) == f.bit) {
      s += '|';
      s += f.name;
      rest &= ~f.bit;
    }
  }
  if (rest) s += fmt::format("|{:#x}", rest);
  return s;
}

std::string errno_name(int err) {
  if (const char* name = strerrorname_np(err)) return name;
  return std::to_string(err);
}

namespace {

using F = Field<OpenEvent>;
const F kFields[] = {
    {"TIME", "", 8, [](const OpenEvent& e, FieldWriter& w) { write_time_of_day(e.hdr.ts_ns, w); }},
    {"", "time", 0, [](const OpenEvent& e, FieldWriter& w) { write_rfc3339(e.hdr.ts_ns, w); }},
    {"PID", "pid", 7, [](const OpenEvent& e, FieldWriter& w) { w.integer(e.hdr.tgid); }},
    {"", "tid", 0, [](const OpenEvent& e, FieldWriter& w) { w.integer(e.hdr.pid); }},
    {"COMM", "comm", 16, [](const OpenEvent& e, FieldWriter& w) { w.text(comm_of(e.hdr)); }},
    {"UID", "uid", 6, [](const OpenEvent& e, FieldWriter& w) { w.integer(e.hdr.uid); }},
    {"", "cgroup_id", 0, [](const OpenEvent& e, FieldWriter& w) { w.uinteger(e.hdr.cgroup_id); }},
    {"FD", "fd", 4,
     [](const OpenEvent& e, FieldWriter& w) { w.integer(e.ret >= 0 ? e.ret : -1); }},
    {"ERR", "errno", 7,
     [](const OpenEvent& e, FieldWriter& w) {
       if (w.is_json()) w.integer(e.ret < 0 ? -e.ret : 0);
       else w.text(e.ret < 0 ? errno_name(-e.ret) : "0");
     }},
    {"FLAGS", "flags", 24,
     [](const OpenEvent& e, FieldWriter& w) {
       // A storm repeats the same flags: format each distinct value once.
       static thread_local std::optional<uint64_t> last;
       static thread_local std::string text;
       if (e.flags != last) text = open_flags_string(*(last = e.flags));
       w.text(text);
     }},
    {"MODE", "mode", 5,
     [](const OpenEvent& e, FieldWriter& w) {
       if (w.is_json()) w.integer(e.mode);
       else w.text(fmt::format("{:04o}", e.mode));
     }},
    {"", "syscall", 0,
     [](const OpenEvent& e, FieldWriter& w) {
       w.text(e.syscall == KS_OPEN_OPENAT2 ? "openat2" : "openat");
     }},
    {"", "dfd", 0, [](const OpenEvent& e, FieldWriter& w) { w.integer(e.dfd); }},
    {"PATH", "path", 0, [](const OpenEvent& e, FieldWriter& w) { w.text(e.path); }},
};

}  // namespace

std::span<const Field<OpenEvent>> open_fields() { return kFields; }

}  // namespace kscope
