// trace tcpstates: every state change of every TCP socket, with the time spent in the state
// it leaves (tcpstates from bcc). The whole user side of the tool; the kernel side is
// probes/tcpstates.bpf.c and probes/tcpstates.h.
#include "model/header_fields.h"
#include "registry/tool.h"
#include "tcp_fields.h"
#include "tcpstates.h"
#include "tcpstates.skel.h"

KSCOPE_SKELETON(tcpstates_bpf);

namespace kscope::tools {
namespace {

using Event = ks_tcpstates_event;  // fixed-size: the record is the event

Result<void> add_clauses(const ToolArgs&, Filter&) { return {}; }

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_TCPSTATES, "tcpstates");
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
    tcp::in_process<Event, KS_TCPSTATES_IN_TASK>(),
    tcp::skaddr<Event>(),
    tcp::laddr<Event>(),
    tcp::lport<Event>(),
    tcp::raddr<Event>(),
    tcp::rport<Event>(),
    {{"oldstate", "OLDSTATE", 11, FieldType::text},
     [](const Event& e) { return Value(tcp::state_name(e.oldstate)); }},
    {{"newstate", "NEWSTATE", 11, FieldType::text},
     [](const Event& e) { return Value(tcp::state_name(e.newstate)); }},
    // States often last microseconds: the table counts them, as tcpstates' MS column does
    // in milliseconds with three decimals.
    {{"old_state_us", "OLD(us)", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.old_state_ns / 1000); }},
    {{"old_state_ns", "", 0, FieldType::duration},
     [](const Event& e) { return uint_value(e.old_state_ns); }},
    {{"time_unknown", "", 0, FieldType::boolean},
     [](const Event& e) { return Value((e.flags & KS_TCPSTATES_TIME_UNKNOWN) != 0); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<tcpstates_bpf>(
      setup, hooks, [](Skeleton<tcpstates_bpf>&, const HookAlternative&) -> Result<void> {
        return {};
      });
}

}  // namespace

const Tool& tcpstates_tool() {
  static const ToolDef<Event> tool({
      .info = {"tcpstates",
               "every TCP state change: addresses, ports, old and new state, time in the old one",
               {"kscope trace tcpstates", "kscope trace tcpstates --pid 1234 -o json"}},
      .flags = {},
      // One tracepoint per change; accept()'s exit names the process of a passive socket.
      .hooks = {{"tracepoint", Hook::tracepoint,
                 {"tp_inet_sock_set_state", "tp_sys_exit_accept4", "tp_sys_exit_accept"},
                 "sock:inet_sock_set_state, syscalls:sys_exit_{accept4,accept}",
                 {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
