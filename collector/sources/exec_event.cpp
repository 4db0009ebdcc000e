#include "sources/exec_event.h"

#include <cstring>

#include <fmt/format.h>

#include "pipeline/header.h"
#include "render/header_fields.h"

namespace kscope {

Result<void> validate(const ArgLimits& limits) {
  if (limits.max_args < 1 || limits.max_args > KS_EXEC_MAX_ARGS)
    return fail(fmt::format("--max-args {} is outside 1..{}", limits.max_args, KS_EXEC_MAX_ARGS),
                fmt::format("use a value from 1 to {} (default 128)", KS_EXEC_MAX_ARGS));
  if (limits.max_arg_len < 1 || limits.max_arg_len > KS_EXEC_MAX_ARG_LEN)
    return fail(fmt::format("--max-arg-len {} is outside 1..{}", limits.max_arg_len,
                            KS_EXEC_MAX_ARG_LEN),
                fmt::format("use a value from 1 to {} bytes (default 1024)", KS_EXEC_MAX_ARG_LEN));
  return {};
}

Result<ExecEvent> decode_exec(std::span<const std::byte> record, const ArgLimits& limits) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  constexpr size_t fixed = offsetof(ks_exec_event, args);
  if (h->type != KS_EVENT_EXEC || record.size() < fixed)
    return fail(fmt::format("not an exec record (type {}, {} bytes)", h->type, record.size()));
  ks_exec_event raw;
  std::memcpy(&raw, record.data(), fixed);
  if (raw.args_size != record.size() - fixed)
    return fail(fmt::format("exec record says {} argv bytes, carries {}", raw.args_size,
                            record.size() - fixed));

  ExecEvent e;
  e.hdr = *h;
  e.ppid = raw.ppid;
  e.ns_pid = raw.ns_tgid;
  e.ret = raw.ret;
  e.args_truncated = raw.flags & (KS_EXEC_MORE_ARGS | KS_EXEC_ARGS_CUT);

  const char* p = reinterpret_cast<const char*>(record.data()) + fixed;
  const char* end = p + raw.args_size;
  while (p < end) {
    const char* nul = static_cast<const char*>(std::memchr(p, '\0', end - p));
    size_t len = (nul ? nul : end) - p;
    if (e.args.size() == limits.max_args) {
      e.args_truncated = true;
      break;
    }
    if (len > limits.max_arg_len) {
      len = limits.max_arg_len;
      e.args_truncated = true;
    }
    e.args.emplace_back(p, len);
    if (!nul) break;  // the probe's buffer cut this argument (ARGS_CUT is set)
    p = nul + 1;
  }
  return e;
}

namespace {

using F = Field<ExecEvent>;
const F kFields[] = {
    {"TIME", "", 8, [](const ExecEvent& e, FieldWriter& w) { write_time_of_day(e.hdr.ts_ns, w); }},
    {"", "time", 0, [](const ExecEvent& e, FieldWriter& w) { write_rfc3339(e.hdr.ts_ns, w); }},
    {"PCOMM", "comm", 16, [](const ExecEvent& e, FieldWriter& w) { w.text(comm_of(e.hdr)); }},
    // The table shows "host/inner" when the process lives in another pid namespace.
    {"PID", "pid", 7,
     [](const ExecEvent& e, FieldWriter& w) {
       if (w.is_json() || e.ns_pid == e.hdr.tgid) w.integer(e.hdr.tgid);
       else w.text(fmt::format("{}/{}", e.hdr.tgid, e.ns_pid));
     }},
    {"", "ns_pid", 0, [](const ExecEvent& e, FieldWriter& w) { w.integer(e.ns_pid); }},
    {"PPID", "ppid", 7, [](const ExecEvent& e, FieldWriter& w) { w.integer(e.ppid); }},
    {"UID", "uid", 6, [](const ExecEvent& e, FieldWriter& w) { w.integer(e.hdr.uid); }},
    {"", "cgroup_id", 0, [](const ExecEvent& e, FieldWriter& w) { w.uinteger(e.hdr.cgroup_id); }},
    {"RET", "ret", 4, [](const ExecEvent& e, FieldWriter& w) { w.integer(e.ret); }},
    {"ARGS", "args", 0,
     [](const ExecEvent& e, FieldWriter& w) { w.text_list(e.args, e.args_truncated); }},
    {"", "args_truncated", 0,
     [](const ExecEvent& e, FieldWriter& w) { w.boolean(e.args_truncated); }},
};

}  // namespace

std::span<const Field<ExecEvent>> exec_fields() { return kFields; }

}  // namespace kscope
