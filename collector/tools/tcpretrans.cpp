// trace tcpretrans: every retransmitted TCP segment with addresses, ports and the socket's
// state (tcpretrans from bcc), and SYN-ACKs a listener sends again. The whole user side of
// the tool; the kernel side is probes/tcpretrans.bpf.c, probes/common/tcp_retransmit.bpf.h
// and probes/tcpretrans.h.
#include "model/header_fields.h"
#include "registry/tool.h"
#include "tcp_fields.h"
#include "tcp_retransmits.h"
#include "tcpretrans.h"
#include "tcpretrans.skel.h"

KSCOPE_SKELETON(tcpretrans_bpf);

namespace kscope::tools {
namespace {

using Event = ks_tcpretrans_event;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {tcp_retransmits::kFailedFlag};

Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (a.flag("--failed")) f.add({"err", Op::ne, int64_t{0}, "--failed"});
  else f.add({"err", Op::eq, int64_t{0}, "without --failed"});
  return {};
}

Result<Event> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Event>(record, KS_EVENT_TCPRETRANS, "tcpretrans");
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
    tcp::in_process<Event, KS_TCPRETRANS_IN_TASK>(),
    tcp::skaddr<Event>(),
    tcp::laddr<Event>(),
    tcp::lport<Event>(),
    tcp::raddr<Event>(),
    tcp::rport<Event>(),
    {{"kind", "KIND", 7, FieldType::text},
     [](const Event& e) {
       return Value(std::string_view(e.flags & KS_TCPRETRANS_SYNACK ? "synack" : "segment"));
     }},
    tcp::state<Event>(),
    {{"err", "ERR", 0, FieldType::errno_code},
     [](const Event& e) { return int_value(e.err < 0 ? -int64_t{e.err} : e.err); }},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<tcpretrans_bpf>(
      setup, hooks, [&](Skeleton<tcpretrans_bpf>& skel, const HookAlternative&) -> Result<void> {
        skel->rodata->failed_only = setup.filter->claim("err", Op::ne) != nullptr;
        setup.filter->claim("err", Op::eq);
        return {};
      });
}

}  // namespace

const Tool& tcpretrans_tool() {
  static const ToolDef<Event> tool({
      .info = {"tcpretrans",
               "every retransmitted TCP segment and SYN-ACK: addresses, ports, socket state",
               {"kscope trace tcpretrans", "kscope trace tcpretrans -o json"}},
      .flags = kFlags,
      .hooks = tcp_retransmits::hooks(),
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Event>::Decode { return decode; },
      .open = open,
  });
  return tool;
}

}  // namespace kscope::tools
