// trace tcptop: the bytes each process sent and received on each TCP connection in the
// interval, the busiest first (tcptop of libbpf-tools), counted in the kernel. The kernel
// side is probes/tcptop.bpf.c and probes/tcptop.h.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "bpf/map_read.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "tcp_fields.h"
#include "tcptop.h"
#include "tcptop.skel.h"

KSCOPE_SKELETON(tcptop_bpf);

namespace kscope::tools {
namespace {

using TcptopRecord = ks_tcptop_record;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-T,--top", "Show this many connections each interval, the most bytes first", FlagKind::number,
     1, 1000000, 20},
};

// --top is no filter: each snapshot keeps the busiest rows.
Result<void> add_clauses(const ToolArgs&, Filter&) { return {}; }

Result<TcptopRecord> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<TcptopRecord>(record, KS_EVENT_TCPTOP, "tcptop");
}

namespace hf = header_fields;
using F = Field<TcptopRecord>;
const F kFields[] = {
    hf::time<TcptopRecord>(),
    hf::pid<TcptopRecord>(),
    hf::comm<TcptopRecord>(),
    tcp::laddr<TcptopRecord>(),
    tcp::lport<TcptopRecord>(),
    tcp::raddr<TcptopRecord>(),
    tcp::rport<TcptopRecord>(),
    {{"sent", "SENT", 10, FieldType::uinteger},
     [](const TcptopRecord& r) { return uint_value(r.sent); }},
    {{"received", "RECEIVED", 10, FieldType::uinteger},
     [](const TcptopRecord& r) { return uint_value(r.received); }},
};

const ProbeCounter kCounters[] = {
    {"tcptop_bytes_full", "connections_full",
     "calls not counted: the map of connections was full (10240 per interval)"},
};

// The sock_{send,recv}_length tracepoints came in Linux 6.3. Where they are missing, their
// hooks fall through with that reason rather than with the verifier's words about a record
// CO-RE could not relocate.
Result<void> require_sock_tracepoints(Features& features, const HookAlternative& alt) {
  if (alt.hook == Hook::fentry || alt.hook == Hook::kprobe) return {};
  for (auto event : {"sock/sock_send_length", "sock/sock_recv_length"})
    if (auto& f = features.tracepoint_field(event, "ret",
                                            "the sock:sock_{send,recv}_length "
                                            "tracepoints (Linux 6.3+)");
        !f.works)
      return fail(f.reason);
  return {};
}

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<tcptop_bpf>(
      setup, hooks, [&](Skeleton<tcptop_bpf>&, const HookAlternative& alt) -> Result<void> {
        return require_sock_tracepoints(*setup.features, alt);
      });
}

// The --top connections of the interval, the most bytes (sent and received) first.
Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) {
  auto conns = take_map<ks_tcptop_key, ks_tcptop_bytes>(probe.map_fd("tcptop_bytes"));
  if (!conns) return std::unexpected(conns.error());
  auto total = [](const ks_tcptop_bytes& b) { return b.sent + b.received; };
  size_t shown = std::min<size_t>(conns->size(), args.number("--top"));
  std::partial_sort(
      conns->begin(), conns->begin() + shown, conns->end(),
      [&](const auto& a, const auto& b) { return total(a.second) > total(b.second); });
  const ks_event_header hdr =
      snapshot_header(KS_EVENT_TCPTOP, sizeof(TcptopRecord));  // one time for all
  for (size_t i = 0; i < shown; ++i) {
    const auto& [key, bytes] = (*conns)[i];
    TcptopRecord r{};
    r.hdr = hdr;
    r.hdr.tgid = key.tgid;
    std::memcpy(r.hdr.comm, key.comm, sizeof(r.hdr.comm));
    r.ends = key.ends;
    r.sent = bytes.sent;
    r.received = bytes.received;
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& tcptop_tool() {
  static const ToolDef<TcptopRecord> tool({
      .info = {"tcptop",
               "TCP bytes sent and received per process and connection, the busiest first",
               {"kscope trace tcptop --interval 1", "kscope trace tcptop -T 5 -o json -d 10"}},
      .flags = kFlags,
      // Counted where a send or receive call returns, from what it returned. The sock
      // tracepoints (Linux 6.3+) see every socket call; fexit and kretprobes on
      // tcp_sendmsg() and tcp_recvmsg() stand in where they are missing.
      .hooks = {{"tracepoint",
                 Hook::tracepoint,
                 {"tp_sock_send_length", "tp_sock_recv_length"},
                 "sock:sock_{send,recv}_length",
                 {}},
                {"tp_btf",
                 Hook::tp_btf,
                 {"btf_sock_send_length", "btf_sock_recv_length"},
                 "tp_btf sock_{send,recv}_length",
                 {}},
                {"raw_tp",
                 Hook::raw_tp,
                 {"raw_sock_send_length", "raw_sock_recv_length"},
                 "raw_tp sock_{send,recv}_length",
                 {}},
                {"fentry",
                 Hook::fentry,
                 {"fexit_tcp_sendmsg", "fexit_tcp_recvmsg"},
                 "fexit tcp_{sendmsg,recvmsg}",
                 {}},
                {"kprobe",
                 Hook::kprobe,
                 {"kprobe_tcp_sendmsg", "kretprobe_tcp_sendmsg", "kprobe_tcp_recvmsg",
                  "kretprobe_tcp_recvmsg"},
                 "kprobe and kretprobe tcp_{sendmsg,recvmsg}",
                 {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<TcptopRecord>::Decode { return decode; },
      .open = open,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
