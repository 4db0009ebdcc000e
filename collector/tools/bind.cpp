// trace bind: every bind() of an IPv4 or IPv6 socket, with the address and port it got (or
// asked for, when it failed), the protocol, the binding options and the result (bindsnoop).
// The whole user side of the tool; the kernel side is probes/bind.bpf.c and probes/bind.h.
#include <linux/bpf.h>

#include <string>

#include "bind.h"
#include "bind.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "socket_call.h"
#include "tcp_fields.h"

KSCOPE_SKELETON(bind_bpf);

namespace kscope::tools {
namespace {

using Event = ks_bind_event;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-x,--failed", "Only failed binds (EADDRINUSE, EACCES...)"},
    {"-P,--port", "Only binds to this port (0: any)", FlagKind::number, 0, 65535, 0},
};

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_BIND, "bind");
}

// The socket options' names, as the setsockopt() that sets each spells it.
std::string bind_opts(uint64_t opts) {
  static constexpr struct {
    uint64_t bit;
    const char* name;
  } kNames[] = {
      {KS_BIND_REUSEADDR, "SO_REUSEADDR"},   {KS_BIND_REUSEPORT, "SO_REUSEPORT"},
      {KS_BIND_FREEBIND, "IP_FREEBIND"},     {KS_BIND_TRANSPARENT, "IP_TRANSPARENT"},
      {KS_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT"}, {KS_BIND_V6ONLY, "IPV6_V6ONLY"},
  };
  std::string s;
  for (const auto& n : kNames) {
    if (!(opts & n.bit)) continue;
    if (!s.empty()) s += '|';
    s += n.name;
  }
  return s;
}

bool addr_unreadable(const Event& e) { return e.flags & KS_BIND_ADDR_UNREADABLE; }
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
    {{"errno", "ERR", 12, FieldType::errno_code},
     [](const Event& e) { return int_value(-int64_t{e.ret}); }},
    {{"protocol", "PROTO", 5, FieldType::flags, socket_call::protocol_name},
     [](const Event& e) { return uint_value(e.protocol); }},
    socket_call::family<Event>(),
    {{"bound_dev_if", "IF", 3, FieldType::integer},
     [](const Event& e) { return int_value(e.bound_dev_if); }},
    tcp::lport<Event>(),
    {{"opts", "OPTS", 28, FieldType::flags, bind_opts},
     [](const Event& e) { return uint_value(e.opts); }},
    {{"laddr", "LADDR", 0, FieldType::ip},
     [](const Event& e) { return Value(tcp::ip_of(e.ends.laddr, e.ends.family)); },
     addr_mark},
    {{"addr_unreadable", "", 0, FieldType::boolean},
     [](const Event& e) { return Value(addr_unreadable(e)); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return socket_call::open_probe<bind_bpf>(setup, hooks, "lport",
                                           /*only_kprobe_keeps_calls=*/true);
}

}  // namespace

const Tool& bind_tool() {
  static const ToolDef<Event> tool({
      .info = {"bind",
               "every bind() of an IPv4/IPv6 socket: process, protocol, address, port, options, "
               "result",
               {"kscope trace bind --failed", "kscope trace bind --port 53 -o json"}},
      .flags = kFlags,
      // One hook at each call's exit. The syscalls tracepoints never fire for 32-bit tasks;
      // the raw sys_exit sees their own bind syscall, fexit and kprobe on __sys_bind()
      // socketcall's too.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_exit_bind"}, "syscalls:sys_exit_bind",
                 socket_call::kSavedRegsHelpers},
                {"tp_btf", Hook::tp_btf, {"btf_sys_exit"}, "tp_btf sys_exit", {}},
                {"fentry", Hook::fentry, {"fexit_sys_bind"}, "fexit __sys_bind", {}},
                {"kprobe", Hook::kprobe, {"kprobe_sys_bind", "kretprobe_sys_bind"},
                 "kprobe/kretprobe __sys_bind", {}}},
      .fields = kFields,
      .add_clauses = socket_call::failed_and_local_port,  // compiled into the probe
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
      .partial = addr_unreadable,
  });
  return tool;
}

}  // namespace kscope::tools
