// trace tcpretranscount: the retransmits trace tcpretrans shows one by one, counted in the
// kernel per connection and printed (most first) every --interval and at the end
// (tcpretrans -c from bcc). The kernel side is probes/tcpretranscount.bpf.c,
// probes/common/tcp_retransmit.bpf.h and probes/tcpretrans.h.
#include <algorithm>

#include "bpf/map_read.h"
#include "registry/tool.h"
#include "tcp_fields.h"
#include "tcp_retransmits.h"
#include "tcpretrans.h"
#include "tcpretranscount.skel.h"

KSCOPE_SKELETON(tcpretranscount_bpf);

namespace kscope::tools {
namespace {

using Count = ks_tcpretrans_count_event;  // fixed-size: the record is the row

const FlagSpec kFlags[] = {tcp_retransmits::kFailedFlag};

Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  f.add({"failed", Op::eq, int64_t{a.flag("--failed")}, a.flag("--failed") ? "--failed" : "without --failed"});
  return {};
}

Result<Count> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<Count>(record, KS_EVENT_TCPRETRANS_COUNT, "tcpretranscount");
}

using F = Field<Count>;
const F kFields[] = {
    {{"time", "TIME", 8, FieldType::boot_time}, [](const Count& c) { return uint_value(c.hdr.ts_ns); }},
    tcp::laddr<Count>(),
    tcp::lport<Count>(),
    tcp::raddr<Count>(),
    tcp::rport<Count>(),
    {{"count", "RETRANSMITS", 0, FieldType::uinteger}, [](const Count& c) { return uint_value(c.count); }},
    {{"failed", "", 0, FieldType::boolean}, [](const Count& c) { return Value(c.failed != 0); }},
};

const ProbeCounter kCounters[] = {
    {"tcpretrans_uncounted", "uncounted",
     "retransmits not counted: the map of counts was full (10240 connections)"},
};

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  return load_live_probe<tcpretranscount_bpf>(
      setup, hooks,
      [&](Skeleton<tcpretranscount_bpf>& skel, const HookAlternative&) -> Result<void> {
        const Clause* c = setup.filter->claim("failed", Op::eq);
        skel->rodata->failed_only = c && std::get<int64_t>(c->operand) != 0;
        return {};
      });
}

// One record per connection, the most retransmits first.
Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) {
  auto counts = take_map<ks_tcp_endpoints, uint64_t>(probe.map_fd("tcpretrans_counts"));
  if (!counts) return std::unexpected(counts.error());
  std::stable_sort(counts->begin(), counts->end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const ks_event_header hdr = snapshot_header(KS_EVENT_TCPRETRANS_COUNT, sizeof(Count));
  for (const auto& [ends, n] : *counts) {
    Count r{};
    r.hdr = hdr;
    r.ends = ends;
    r.count = n;
    r.failed = args.flag("--failed");
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& tcpretranscount_tool() {
  static const ToolDef<Count> tool({
      .info = {"tcpretranscount",
               "TCP retransmits counted in the kernel per connection, most first, every interval",
               {"kscope trace tcpretranscount --interval 5", "kscope trace tcpretranscount -d 10 -o json"}},
      .flags = kFlags,
      .hooks = tcp_retransmits::hooks(),
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<Count>::Decode { return decode; },
      .open = open,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
