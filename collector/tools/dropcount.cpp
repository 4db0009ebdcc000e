// trace dropcount: the packet drops trace drops shows one by one, counted in the kernel by
// reason, dropping function and network namespace, and printed (most first) every
// --interval and at the end. The kernel side is probes/dropcount.bpf.c,
// probes/common/kfree_skb.bpf.h and probes/drops.h.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "bpf/map_read.h"
#include "drop_reasons.h"
#include "dropcount.skel.h"
#include "drops.h"
#include "model/header_fields.h"
#include "registry/tool.h"

KSCOPE_SKELETON(dropcount_bpf);

namespace kscope::tools {
namespace {

namespace dr = drop_reasons;

struct DropCount {
  ks_event_header hdr;  // raw's, where the header's fields look for it
  ks_drop_count_event raw;
  std::string reason;
  std::string location;
  std::string protocol;  // the ethertype: "IPv4", "ARP", "0x88cc"; "" for none
  std::string proto;     // from the IP header: "tcp", "udp", "icmp", "47"; "" unread
};

const FlagSpec kFlags[] = {dr::kReasonFlag, dr::kAllReasonsFlag, dr::kNetnsFlag};

Result<DropCount> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_DROP_COUNT || record.size() != sizeof(ks_drop_count_event))
    return fail(fmt::format("not a dropcount record (type {}, {} bytes)", h->type, record.size()));
  DropCount c;
  std::memcpy(&c.raw, record.data(), sizeof(c.raw));
  c.hdr = c.raw.hdr;
  c.reason = dr::reason_name(c.raw.key.reason);
  c.location = dr::location_name(c.raw.key.location);
  c.protocol = dr::ethertype_name(c.raw.key.protocol);
  c.proto = dr::l4_name(c.raw.key.family, c.raw.key.l4proto);
  return c;
}

using F = Field<DropCount>;
const F kFields[] = {
    header_fields::time<DropCount>(),
    {{"count", "COUNT", 8, FieldType::uinteger},
     [](const DropCount& c) { return uint_value(c.raw.count); }},
    {{"reason", "REASON", 18, FieldType::text},
     [](const DropCount& c) { return Value(std::string_view(c.reason)); }},
    {{"reason_code", "", 0, FieldType::integer},
     [](const DropCount& c) { return int_value(c.raw.key.reason); }},
    {{"protocol", "", 0, FieldType::text},
     [](const DropCount& c) { return Value(std::string_view(c.protocol)); }},
    {{"proto", "PROTO", 6, FieldType::text},
     [](const DropCount& c) { return Value(std::string_view(c.proto)); }},
    {{"netns", "NETNS", 10, FieldType::integer},
     [](const DropCount& c) { return int_value(c.raw.key.netns); }},
    {{"location", "LOCATION", 0, FieldType::text},
     [](const DropCount& c) { return Value(std::string_view(c.location)); }},
    {{"location_addr", "", 0, FieldType::uinteger},
     [](const DropCount& c) { return uint_value(c.raw.key.location); }},
};

const ProbeCounter kCounters[] = {
    {"drop_uncounted", "uncounted",
     "drops not counted: the map of counts was full (10240 reasons, functions and namespaces)"},
};

// One record per (reason, function, namespace, protocol), the most frequent first.
Result<void> snapshot(LiveProbe& probe, const ToolArgs&, RecordSink& sink) {
  auto counts = take_percpu_map<ks_drop_count_key, uint64_t>(
      probe.map_fd("drop_counts"), [](uint64_t& sum, const uint64_t& n) { sum += n; });
  if (!counts) return std::unexpected(counts.error());
  std::stable_sort(counts->begin(), counts->end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const ks_event_header hdr = snapshot_header(KS_EVENT_DROP_COUNT, sizeof(ks_drop_count_event));
  for (const auto& [key, n] : *counts) {
    ks_drop_count_event r{};
    r.hdr = hdr;
    r.key = key;
    r.count = n;
    emit_record(sink, r);
  }
  return {};
}

}  // namespace

const Tool& dropcount_tool() {
  static const ToolDef<DropCount> tool({
      .info = {"dropcount",
               "packet drops counted in the kernel by reason, function and network namespace",
               {"kscope trace dropcount --interval 5",
                "kscope trace dropcount --all-reasons -d 10 -o json"}},
      .flags = kFlags,
      .hooks = dr::hooks(),
      .fields = kFields,
      .add_clauses = dr::add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<DropCount>::Decode { return decode; },
      .open = dr::open<dropcount_bpf>,
      .counters = kCounters,
      .snapshot = snapshot,
  });
  return tool;
}

}  // namespace kscope::tools
