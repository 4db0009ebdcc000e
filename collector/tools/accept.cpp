// trace accept: every accept()/accept4() on a TCP socket, with the accepting process, both ends
// of the new connection and the result (bcc's tcpaccept, with failures). The whole user side
// of the tool; the kernel side is probes/accept.bpf.c and probes/accept.h.
#include <linux/bpf.h>

#include "accept.h"
#include "accept.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "socket_call.h"
#include "tcp_fields.h"

KSCOPE_SKELETON(accept_bpf);

namespace kscope::tools {
namespace {

using Event = ks_accept_event;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-x,--failed", "Only failed accepts (EAGAIN on an empty non-blocking queue included)"},
    {"-P,--port", "Only accepts on this local port (0: any)", FlagKind::number, 0, 65535, 0},
};

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_ACCEPT, "accept");
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
    {{"fd", "FD", 4, FieldType::integer},
     [](const Event& e) { return int_value(e.ret >= 0 ? e.ret : -1); }},
    {{"errno", "ERR", 0, FieldType::errno_code},
     [](const Event& e) { return int_value(e.ret < 0 ? -int64_t{e.ret} : 0); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return socket_call::open_probe<accept_bpf>(setup, hooks, "lport",
                                             /*only_kprobe_keeps_calls=*/true);
}

}  // namespace

const Tool& accept_tool() {
  static const ToolDef<Event> tool({
      .info = {"accept",
               "every TCP accept()/accept4(): the accepting process, both ends, the fd or errno",
               {"kscope trace accept --port 80", "kscope trace accept --failed -o json"}},
      .flags = kFlags,
      // One hook at each call's exit. The syscalls tracepoints never fire for 32-bit tasks;
      // the raw sys_exit sees their own accept4 syscall, fexit and kprobe on __sys_accept4()
      // socketcall's too.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_exit_accept", "tp_exit_accept4"},
                 "syscalls:sys_exit_{accept,accept4}", socket_call::kSavedRegsHelpers},
                {"tp_btf", Hook::tp_btf, {"btf_sys_exit"}, "tp_btf sys_exit", {}},
                {"fentry", Hook::fentry, {"fexit_sys_accept4"}, "fexit __sys_accept4", {}},
                {"kprobe", Hook::kprobe, {"kprobe_sys_accept4", "kretprobe_sys_accept4"},
                 "kprobe/kretprobe __sys_accept4", {}}},
      .fields = kFields,
      .add_clauses = socket_call::failed_and_local_port,  // compiled into the probe
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
