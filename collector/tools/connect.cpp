// trace connect: every connect() on a TCP socket, with both ends and the result, and the later
// failure of a handshake connect() returned before (tcpconnect, with failures). The whole
// user side of the tool; the kernel side is probes/connect.bpf.c and probes/connect.h.
#include <linux/bpf.h>

#include <cerrno>

#include "connect.h"
#include "connect.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "socket_call.h"
#include "tcp_fields.h"

KSCOPE_SKELETON(connect_bpf);

namespace kscope::tools {
namespace {

using Event = ks_connect_event;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-x,--failed",
     "Only failed connects: an error from connect(), or a handshake that failed after a "
     "non-blocking connect() returned EINPROGRESS"},
    {"-P,--port", "Only connects to this remote port (0: any)", FlagKind::number, 0, 65535, 0},
};

// Both compiled into the probe: failed_only and port_filter.
Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  socket_call::add_failed_clause(a, f);
  if (a.flag("--failed")) f.add({"errno", Op::ne, int64_t{EINPROGRESS}, "--failed"});
  socket_call::add_port_clause(a, f, "rport");
  return {};
}

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_CONNECT, "connect");
}

bool addr_unreadable(const Event& e) { return e.flags & KS_CONNECT_ADDR_UNREADABLE; }
std::string_view addr_mark(const Event& e) {
  return addr_unreadable(e) ? "<address unreadable>" : "";
}

namespace hf = header_fields;
using F = Field<Event>;
const F kFields[] = {
    hf::time<Event>(),
    hf::pid<Event>(),
    hf::tid<Event>(),
    hf::comm<Event>(),
    hf::uid<Event>(),
    hf::cgroup_id<Event>(),
    socket_call::family<Event>(),
    tcp::laddr<Event>(),
    tcp::lport<Event>(),
    tcp::raddr<Event>(),
    tcp::rport<Event>(),
    {{"errno", "ERR", 12, FieldType::errno_code},
     [](const Event& e) { return int_value(-int64_t{e.ret}); }},
    // connect: what connect() returned; handshake: how a handshake that connect() returned
    // before (EINPROGRESS) failed later.
    {{"stage", "STAGE", 0, FieldType::text},
     [](const Event& e) {
       return Value(std::string_view(e.flags & KS_CONNECT_HANDSHAKE ? "handshake" : "connect"));
     },
     addr_mark},
    {{"addr_unreadable", "", 0, FieldType::boolean},
     [](const Event& e) { return Value(addr_unreadable(e)); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return socket_call::open_probe<connect_bpf>(setup, hooks, "rport",
                                              /*only_kprobe_keeps_calls=*/false);
}

}  // namespace

const Tool& connect_tool() {
  static const ToolDef<Event> tool({
      .info = {"connect",
               "every TCP connect(): process, both ends, result, failed non-blocking handshakes",
               {"kscope trace connect --failed", "kscope trace connect --port 443 -o json"}},
      .flags = kFlags,
      // connect()'s entry and exit and the SYN_SENT state change between them. The syscalls
      // tracepoints never fire for 32-bit tasks; the raw sys_enter/sys_exit see their own
      // connect syscall, fentry and kprobe on __sys_connect() socketcall's too.
      .hooks = {{"tracepoint", Hook::tracepoint,
                 {"tp_enter_connect", "tp_exit_connect", "tp_inet_sock_set_state"},
                 "syscalls:sys_{enter,exit}_connect, sock:inet_sock_set_state", {}},
                {"tp_btf", Hook::tp_btf,
                 {"btf_sys_enter", "btf_sys_exit", "btf_inet_sock_set_state"},
                 "tp_btf sys_enter, sys_exit, inet_sock_set_state", {}},
                {"fentry", Hook::fentry,
                 {"fentry_sys_connect", "fexit_sys_connect", "fentry_tcp_set_state"},
                 "fentry/fexit __sys_connect, fentry tcp_set_state", {}},
                {"kprobe", Hook::kprobe,
                 {"kprobe_sys_connect", "kretprobe_sys_connect", "kprobe_tcp_set_state"},
                 "kprobe/kretprobe __sys_connect, kprobe tcp_set_state", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
      .partial = addr_unreadable,
  });
  return tool;
}

}  // namespace kscope::tools
