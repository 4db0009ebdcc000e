// trace listen: every listen() of an IPv4 or IPv6 socket, with the address and port it listens
// on, the backlog passed and the one in force, and the result (solisten). The whole user side
// of the tool; the kernel side is probes/listen.bpf.c and probes/listen.h.
#include <linux/bpf.h>

#include "listen.h"
#include "listen.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "socket_call.h"
#include "tcp_fields.h"

KSCOPE_SKELETON(listen_bpf);

namespace kscope::tools {
namespace {

using Event = ks_listen_event;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-x,--failed", "Only failed listens (EADDRINUSE, EOPNOTSUPP...)"},
    {"-P,--port", "Only listens on this port (0: any)", FlagKind::number, 0, 65535, 0},
};

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_LISTEN, "listen");
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
    {{"errno", "ERR", 12, FieldType::errno_code},
     [](const Event& e) { return int_value(-int64_t{e.ret}); }},
    {{"protocol", "PROTO", 5, FieldType::flags, socket_call::protocol_name},
     [](const Event& e) { return uint_value(e.protocol); }},
    {{"backlog", "BACKLOG", 7, FieldType::integer},
     [](const Event& e) { return int_value(e.backlog); }},
    {{"max_backlog", "", 0, FieldType::integer},
     [](const Event& e) { return int_value(e.max_backlog); }},
    socket_call::family<Event>(),
    tcp::lport<Event>(),
    tcp::laddr<Event>(),
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return socket_call::open_probe<listen_bpf>(setup, hooks, "lport",
                                             /*only_kprobe_keeps_calls=*/true);
}

}  // namespace

const Tool& listen_tool() {
  static const ToolDef<Event> tool({
      .info = {"listen",
               "every listen() of an IPv4/IPv6 socket: process, address, port, backlog, result",
               {"kscope trace listen", "kscope trace listen --failed -o json"}},
      .flags = kFlags,
      // One hook at each call's exit. The syscalls tracepoints never fire for 32-bit tasks;
      // the raw sys_exit sees their own listen syscall, fexit and kprobe on __sys_listen()
      // socketcall's too.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_exit_listen"}, "syscalls:sys_exit_listen",
                 socket_call::kSavedRegsHelpers},
                {"tp_btf", Hook::tp_btf, {"btf_sys_exit"}, "tp_btf sys_exit", {}},
                {"fentry", Hook::fentry, {"fexit_sys_listen"}, "fexit __sys_listen", {}},
                {"kprobe", Hook::kprobe, {"kprobe_sys_listen", "kretprobe_sys_listen"},
                 "kprobe/kretprobe __sys_listen", {}}},
      .fields = kFields,
      .add_clauses = socket_call::failed_and_local_port,  // compiled into the probe
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
