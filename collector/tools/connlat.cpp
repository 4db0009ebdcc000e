// trace connlat: the latency of each active TCP open, from the SYN to the SYN-ACK that
// establishes it, with the process that connected (tcpconnlat). The whole user side of the
// tool; the kernel side is probes/connlat.bpf.c and probes/connlat.h.
#include <linux/bpf.h>

#include "connlat.h"
#include "connlat.skel.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "socket_call.h"
#include "tcp_fields.h"

KSCOPE_SKELETON(connlat_bpf);

namespace kscope::tools {
namespace {

using Event = ks_connlat_event;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-P,--port", "Only connections to this remote port (0: any)", FlagKind::number, 0, 65535, 0},
};

// Compiled into the probe: port_filter.
Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  socket_call::add_port_clause(a, f, "rport");
  return {};
}

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_CONNLAT, "connlat");
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
    // A handshake takes microseconds to milliseconds: the table counts microseconds, where
    // a duration column's milliseconds would mostly show 0.000.
    {{"latency_us", "LAT(us)", 0, FieldType::integer},
     [](const Event& e) { return int_value(e.latency_ns / 1000); }},
    {{"latency_ns", "", 0, FieldType::duration},
     [](const Event& e) { return uint_value(e.latency_ns); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return socket_call::open_probe<connlat_bpf>(setup, hooks, "rport",
                                              /*only_kprobe_keeps_calls=*/false);
}

}  // namespace

const Tool& connlat_tool() {
  static const ToolDef<Event> tool({
      .info = {"connlat",
               "the SYN to SYN-ACK latency of each TCP connect, with the connecting process",
               {"kscope trace connlat", "kscope trace connlat --port 443 -o json"}},
      .flags = kFlags,
      // The TCP state changes only: CLOSE->SYN_SENT in the connecting task, SYN_SENT->
      // ESTABLISHED wherever the SYN-ACK is processed. fentry and kprobe on tcp_set_state(),
      // where the tracepoint fires.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_inet_sock_set_state"},
                 "sock:inet_sock_set_state", {}},
                {"tp_btf", Hook::tp_btf, {"btf_inet_sock_set_state"},
                 "tp_btf inet_sock_set_state", {}},
                {"raw_tp", Hook::raw_tp, {"raw_inet_sock_set_state"},
                 "raw_tp inet_sock_set_state", {}},
                {"fentry", Hook::fentry, {"fentry_tcp_set_state"}, "fentry tcp_set_state", {}},
                {"kprobe", Hook::kprobe, {"kprobe_tcp_set_state"}, "kprobe tcp_set_state", {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
