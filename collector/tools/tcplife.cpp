// trace tcplife: one line per TCP connection when it closes: the process that opened it, its
// addresses, the payload bytes each way and how long it lived (tcplife from bcc). The whole
// user side of the tool; the kernel side is probes/tcplife.bpf.c and probes/tcplife.h.
#include "model/header_fields.h"
#include "registry/tool.h"
#include "tcp_fields.h"
#include "tcplife.h"
#include "tcplife.skel.h"

KSCOPE_SKELETON(tcplife_bpf);

namespace kscope::tools {
namespace {

using Event = ks_tcplife_event;  // fixed-size: the record is the event

constexpr uint8_t kSynSent = 2, kSynRecv = 3;  // TCP_SYN_SENT, TCP_SYN_RECV

const FlagSpec kFlags[] = {
    {"-x,--failed", "Only connections that never got established (refused, timed out, reset "
                    "during the handshake)"},
};

Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (a.flag("--failed")) f.add({"established", Op::eq, int64_t{0}, "--failed"});
  return {};
}

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_TCPLIFE, "tcplife");
}

bool start_unknown(const Event& e) { return e.flags & KS_TCPLIFE_START_UNKNOWN; }

std::string_view start_mark(const Event& e) {
  return start_unknown(e) ? "<began before the trace>" : "";
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
    tcp::skaddr<Event>(),
    tcp::laddr<Event>(),
    tcp::lport<Event>(),
    tcp::raddr<Event>(),
    tcp::rport<Event>(),
    {{"tx_bytes", "TX_BYTES", 10, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.tx_bytes); }},
    {{"rx_bytes", "RX_BYTES", 10, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.rx_bytes); }},
    {{"direction", "DIR", 3, FieldType::text},
     [](const Event& e) {
       if (start_unknown(e)) return Value(std::string_view("?"));
       return Value(std::string_view(e.flags & KS_TCPLIFE_ACTIVE ? "out" : "in"));
     }},
    {{"last_state", "", 0, FieldType::text},
     [](const Event& e) { return Value(tcp::state_name(e.last_state)); }},
    {{"established", "", 0, FieldType::boolean},
     [](const Event& e) { return Value(e.last_state != kSynSent && e.last_state != kSynRecv); }},
    // Connections between nearby hosts often last under a millisecond: the table counts
    // microseconds (tcplife shows milliseconds with two decimals).
    {{"duration_us", "DUR(us)", 0, FieldType::uinteger},
     [](const Event& e) { return uint_value(e.duration_ns / 1000); }, start_mark},
    {{"duration_ns", "", 0, FieldType::duration},
     [](const Event& e) { return uint_value(e.duration_ns); }},
    {{"start_unknown", "", 0, FieldType::boolean},
     [](const Event& e) { return Value(start_unknown(e)); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<tcplife_bpf>(
      setup, hooks, [&](Skeleton<tcplife_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->failed_only = setup.filter->claim("established", Op::eq) != nullptr;
        return {};
      });
}

}  // namespace

const Tool& tcplife_tool() {
  static const ToolDef<Event> tool({
      .info = {"tcplife",
               "every TCP connection as it closes: process, addresses, bytes each way, duration",
               {"kscope trace tcplife", "kscope trace tcplife --failed -o json"}},
      .flags = kFlags,
      // One tracepoint for birth and end; accept()'s exit names a passive socket's process.
      .hooks = {{"tracepoint", Hook::tracepoint,
                 {"tp_inet_sock_set_state", "tp_sys_exit_accept4", "tp_sys_exit_accept"},
                 "sock:inet_sock_set_state, syscalls:sys_exit_{accept4,accept}",
                 {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
      .partial = start_unknown,
  });
  return tool;
}

}  // namespace kscope::tools
