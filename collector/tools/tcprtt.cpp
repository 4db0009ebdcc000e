// trace tcprtt: the smoothed round-trip time of TCP connections as log2 histograms kept in
// the kernel (tcprtt of libbpf-tools), in total, per remote address (-a) or per local address
// (-b), with the ports and addresses filtered in the kernel. The kernel side is
// probes/tcprtt.bpf.c and probes/tcprtt.h.
#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "bpf/map_read.h"
#include "model/header_fields.h"
#include "registry/tool.h"
#include "tcp_fields.h"
#include "tcprtt.h"
#include "tcprtt.skel.h"

KSCOPE_SKELETON(tcprtt_bpf);

namespace kscope::tools {
namespace {

using TcprttRecord = ks_tcprtt_record;  // fixed-size: the record is the event

const FlagSpec kFlags[] = {
    {"-a,--by-remote", "One histogram per remote address"},
    {"-b,--by-local", "One histogram per local address"},
    {"-m,--milliseconds", "Count milliseconds instead of microseconds"},
    {"--lport", "Only connections with this local port (0: any)", FlagKind::number, 0, 65535, 0},
    {"--rport", "Only connections with this remote port (0: any)", FlagKind::number, 0, 65535, 0},
    {"--laddr", "Only connections with this local address (IPv4 or IPv6)", FlagKind::text},
    {"--raddr", "Only connections with this remote address (IPv4 or IPv6)", FlagKind::text},
};

uint32_t by_of(const ToolArgs& a) {
  return a.flag("--by-remote")  ? KS_TCPRTT_REMOTE
         : a.flag("--by-local") ? KS_TCPRTT_LOCAL
                                : KS_TCPRTT_TOTAL;
}

// --laddr or --raddr as the probe compares it; family 0 when the flag is not given.
Result<IpAddr> addr_flag(const ToolArgs& a, std::string_view name) {
  const std::string& text = a.text(name);
  if (text.empty()) return IpAddr{};
  IpAddr ip = parse_ip(text);
  if (ip.family == 0)
    return fail(fmt::format("{} {}: not an IPv4 or IPv6 address", name, text),
                "give an address such as 10.0.0.1 or fe80::1");
  return ip;
}

// The flags are knobs of the probe, not clauses: a histogram has no port to compare. The task
// filters the probe can apply are the socket's uid and cgroup; a sample is taken in whatever
// task the CPU was in, so no process can be asked for.
Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  if (a.flag("--by-remote") && a.flag("--by-local"))
    return fail("--by-remote and --by-local both given",
                "pick one: -a per remote address, -b per local address");
  for (auto name : {"--laddr", "--raddr"})
    if (auto ip = addr_flag(a, name); !ip) return std::unexpected(ip.error());
  for (auto [key, flag] : {std::pair{"pid", "--pid"}, std::pair{"comm", "--comm"}})
    if (f.find(key, Op::eq))
      return fail(fmt::format("trace tcprtt cannot filter by {}: the kernel samples a connection's "
                              "RTT as segments arrive, in no process of its own",
                              flag),
                  "filter by --lport, --rport, --laddr, --raddr, or the socket's owner with --uid "
                  "or --cgroup");
  return {};
}

Result<TcprttRecord> decode(std::span<const std::byte> record) {
  return tcp::decode_fixed<TcprttRecord>(record, KS_EVENT_TCPRTT, "tcprtt");
}

uint64_t count(const TcprttRecord& r) {
  return std::accumulate(std::begin(r.hist.slots), std::end(r.hist.slots), uint64_t{0});
}

bool msecs(const TcprttRecord& r) { return r.flags & KS_TCPRTT_MSECS; }
std::string_view unit(const TcprttRecord& r) { return msecs(r) ? "msecs" : "usecs"; }

std::string_view scope(const TcprttRecord& r) {
  switch (r.by) {
    case KS_TCPRTT_REMOTE:
      return "remote";
    case KS_TCPRTT_LOCAL:
      return "local";
    default:
      return "total";
  }
}

// In the histogram's unit, as libbpf-tools' -e prints it.
uint64_t average(const TcprttRecord& r) {
  uint64_t n = count(r);
  return n ? r.hist.sum_ns / n / (msecs(r) ? 1000000 : 1000) : 0;
}

namespace hf = header_fields;
using F = Field<TcprttRecord>;
const F kFields[] = {
    hf::time<TcprttRecord>(),
    {{"scope", "", 0, FieldType::text}, [](const TcprttRecord& r) { return Value(scope(r)); }},
    {{"addr", "ADDR", 15, FieldType::ip},
     [](const TcprttRecord& r) { return Value(tcp::ip_of(r.key.addr, r.key.family)); }},
    {{"count", "COUNT", 8, FieldType::uinteger},
     [](const TcprttRecord& r) { return uint_value(count(r)); }},
    {{"avg", "AVG", 8, FieldType::uinteger},
     [](const TcprttRecord& r) { return uint_value(average(r)); }},
    {{"sum_ns", "", 0, FieldType::uinteger},
     [](const TcprttRecord& r) { return uint_value(r.hist.sum_ns); }},
    {{"unit", "", 0, FieldType::text}, [](const TcprttRecord& r) { return Value(unit(r)); }},
    {{"hist", "HIST", 0, FieldType::log2_hist},
     [](const TcprttRecord& r) { return Value(hist_of(r.hist, unit(r))); }},
};

const ProbeCounter kCounters[] = {
    {"tcprtt_hists_full", "hists_full",
     "samples not counted: the map of histograms was full (10240 addresses)"},
};

// An address knob of the probe's rodata (const volatile there, as every knob).
template <class Family, class Bytes>
void copy_addr(const IpAddr& ip, Family& family, Bytes& bytes) {
  static_assert(sizeof(bytes) == 16);
  family = ip.family;
  std::memcpy(const_cast<uint8_t*>(bytes), ip.bytes.data(), sizeof(bytes));
}

Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args,
                                        std::span<const HookAlternative> hooks) {
  auto laddr = addr_flag(args, "--laddr");
  auto raddr = addr_flag(args, "--raddr");
  if (!laddr || !raddr) return std::unexpected(!laddr ? laddr.error() : raddr.error());
  return load_live_probe<tcprtt_bpf>(
      setup, hooks, [&](Skeleton<tcprtt_bpf>& skel, const HookAlternative& alt) -> Result<void> {
        // Before the tcp_probe record named its socket, the tracepoint cannot see the
        // socket's owner: a later alternative, which gets the socket, takes --uid and --cgroup.
        if (alt.hook == Hook::tracepoint &&
            (setup.filter->find("uid", Op::eq) || setup.filter->find("cgroup_id", Op::eq)))
          if (auto& f = setup.features->tracepoint_field("tcp/tcp_probe", "skaddr",
                                                         "the socket in tcp_probe's record");
              !f.works)
            return fail(fmt::format("--uid and --cgroup need the socket: {}", f.reason));
        auto* ro = skel->rodata;
        ro->by = by_of(args);
        ro->msecs = args.flag("--milliseconds");
        ro->want_lport = args.number("--lport");
        ro->want_rport = args.number("--rport");
        copy_addr(*laddr, ro->want_laddr_family, ro->want_laddr);
        copy_addr(*raddr, ro->want_raddr_family, ro->want_raddr);
        return {};
      });
}

// One record per histogram, the total or one per address in address order.
Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) {
  auto hists = take_map<ks_tcprtt_key, ks_tcprtt_hist>(probe.map_fd("tcprtt_hists"));
  if (!hists) return std::unexpected(hists.error());
  auto order = [](const ks_tcprtt_key& k) { return std::pair(k.family, std::to_array(k.addr)); };
  std::sort(hists->begin(), hists->end(),
            [&](const auto& a, const auto& b) { return order(a.first) < order(b.first); });
  const ks_event_header hdr =
      snapshot_header(KS_EVENT_TCPRTT, sizeof(TcprttRecord));  // one time for all
  for (const auto& [key, value] : *hists) {
    TcprttRecord r{};
    r.hdr = hdr;
    r.key = key;
    r.by = by_of(args);
    r.flags = args.flag("--milliseconds") ? KS_TCPRTT_MSECS : 0;
    r.hist = value.hist;
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& tcprtt_tool() {
  static const ToolDef<TcprttRecord> tool({
      .info = {"tcprtt",
               "TCP smoothed round-trip time histograms, in total or per address",
               {"kscope trace tcprtt --by-remote --interval 1",
                "kscope trace tcprtt --rport 443 -o json -d 10"}},
      .flags = kFlags,
      // Each sample is taken as tcp_rcv_established() starts on a received segment: the
      // tcp_probe tracepoint fires there (its record carries srtt; tp_btf and raw_tp get the
      // socket), fentry and kprobe hook the function where tcp_probe is missing.
      .hooks = {{"tracepoint", Hook::tracepoint, {"tp_tcp_probe"}, "tcp:tcp_probe", {}},
                {"tp_btf", Hook::tp_btf, {"btf_tcp_probe"}, "tp_btf tcp_probe", {}},
                {"raw_tp", Hook::raw_tp, {"raw_tcp_probe"}, "raw_tp tcp_probe", {}},
                {"fentry",
                 Hook::fentry,
                 {"fentry_tcp_rcv_established"},
                 "fentry tcp_rcv_established",
                 {}},
                {"kprobe",
                 Hook::kprobe,
                 {"kprobe_tcp_rcv_established"},
                 "kprobe tcp_rcv_established",
                 {}}},
      .fields = kFields,
      .add_clauses = add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<TcprttRecord>::Decode { return decode; },
      .open = open,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
