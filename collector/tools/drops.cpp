// trace drops: every packet the kernel drops, with the reason named as the running
// kernel's BTF names it, the dropping function, and the packet's protocol, addresses and
// ports (tcpdrop, dropwatch). The whole user side of the tool; the kernel side is
// probes/drops.bpf.c, probes/common/kfree_skb.bpf.h and probes/drops.h.
#include <cstring>

#include <fmt/format.h>

#include "drop_reasons.h"
#include "drops.h"
#include "drops.skel.h"
#include "flows/flow_record.h"
#include "model/header_fields.h"
#include "registry/tool.h"

KSCOPE_SKELETON(drops_bpf);

namespace kscope::tools {
namespace {

namespace dr = drop_reasons;

struct DropEvent {
  ks_event_header hdr;  // raw's, where the header's fields look for it
  ks_drop_event raw;
  IpAddr saddr, daddr;
  std::string protocol;  // the ethertype: "IPv4", "ARP", "0x88cc"; "" for none
  std::string proto;     // from the IP header: "tcp", "udp", "icmp", "47"; "" unread
  std::string reason;    // "NO_SOCKET"
  std::string location;  // "tcp_v4_rcv+0x2a4"
};

const FlagSpec kFlags[] = {dr::kReasonFlag, dr::kAllReasonsFlag, dr::kNetnsFlag};

IpAddr ip_of(const uint8_t (&bytes)[16], uint8_t family) {
  IpAddr a;
  if (family != 4 && family != 6) return a;
  a.family = family;
  std::memcpy(a.bytes.data(), bytes, family == 4 ? 4 : 16);
  return a;
}

Result<DropEvent> decode(std::span<const std::byte> record) {
  auto h = read_header(record);
  if (!h) return std::unexpected(h.error());
  if (h->type != KS_EVENT_DROP || record.size() != sizeof(ks_drop_event))
    return fail(fmt::format("not a drops record (type {}, {} bytes)", h->type, record.size()));
  DropEvent e;
  std::memcpy(&e.raw, record.data(), sizeof(e.raw));
  e.hdr = e.raw.hdr;
  e.saddr = ip_of(e.raw.saddr, e.raw.family);
  e.daddr = ip_of(e.raw.daddr, e.raw.family);
  e.protocol = dr::ethertype_name(e.raw.protocol);
  e.proto = dr::l4_name(e.raw.family, e.raw.l4proto);
  e.reason = dr::reason_name(e.raw.reason);
  e.location = dr::location_name(e.raw.location);
  return e;
}

namespace hf = header_fields;
using F = Field<DropEvent>;
const F kFields[] = {
    hf::time<DropEvent>(),
    hf::pid<DropEvent>(),
    hf::tid<DropEvent>(),
    hf::comm<DropEvent>(),
    {{"uid", "", 0, FieldType::integer}, [](const DropEvent& e) { return int_value(e.hdr.uid); }},
    hf::cgroup_id<DropEvent>(),
    {{"protocol", "", 0, FieldType::text},
     [](const DropEvent& e) { return Value(std::string_view(e.protocol)); }},
    {{"proto", "PROTO", 6, FieldType::text},
     [](const DropEvent& e) { return Value(std::string_view(e.proto)); }},
    {{"saddr", "SADDR", 15, FieldType::ip}, [](const DropEvent& e) { return Value(e.saddr); }},
    {{"sport", "SPORT", 5, FieldType::integer},
     [](const DropEvent& e) { return int_value(e.raw.sport); }},
    {{"daddr", "DADDR", 15, FieldType::ip}, [](const DropEvent& e) { return Value(e.daddr); }},
    {{"dport", "DPORT", 5, FieldType::integer},
     [](const DropEvent& e) { return int_value(e.raw.dport); }},
    // byte 13 of the TCP header, as the flow records keep it
    {{"tcp_flags", "FLAGS", 7, FieldType::flags, flows::tcp_flag_names},
     [](const DropEvent& e) { return uint_value(e.raw.tcp_flags); }},
    {{"len", "", 0, FieldType::integer}, [](const DropEvent& e) { return int_value(e.raw.len); }},
    {{"ifindex", "", 0, FieldType::integer},
     [](const DropEvent& e) { return int_value(e.raw.ifindex); }},
    {{"netns", "", 0, FieldType::integer},
     [](const DropEvent& e) { return int_value(e.raw.netns); }},
    {{"reason", "REASON", 18, FieldType::text},
     [](const DropEvent& e) { return Value(std::string_view(e.reason)); }},
    {{"reason_code", "", 0, FieldType::integer},
     [](const DropEvent& e) { return int_value(e.raw.reason); }},
    {{"location", "LOCATION", 0, FieldType::text},
     [](const DropEvent& e) { return Value(std::string_view(e.location)); }},
    {{"location_addr", "", 0, FieldType::uinteger},
     [](const DropEvent& e) { return uint_value(e.raw.location); }},
};

}  // namespace

const Tool& drops_tool() {
  static const ToolDef<DropEvent> tool({
      .info = {"drops",
               "every packet the kernel drops: its reason (by the kernel's BTF), where, and its flow",
               {"kscope trace drops", "kscope trace drops --reason NO_SOCKET -o json",
                "kscope trace drops --all-reasons --netns /run/netns/web"}},
      .flags = kFlags,
      .hooks = dr::hooks(),
      .fields = kFields,
      .add_clauses = dr::add_clauses,
      .decoder = [](const ToolArgs&) -> ToolSpec<DropEvent>::Decode { return decode; },
      .open = dr::open<drops_bpf>,
  });
  return tool;
}

}  // namespace kscope::tools
