#include "flows/flow_record.h"

#include <array>
#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace kscope::flows {
namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpv6 = 58;

bool has_ports(uint8_t proto) { return proto == kTcp || proto == kUdp; }
bool is_icmp(uint8_t proto) { return proto == kIcmp || proto == kIcmpv6; }

std::string owner_flag_names(uint64_t bits) {
  std::string out;
  auto add = [&](uint64_t bit, std::string_view name) {
    if (!(bits & bit)) return;
    if (!out.empty()) out += '|';
    out += name;
  };
  add(KS_FLOW_OWNER_KNOWN, "owner");
  add(KS_FLOW_TCP_SOCK, "tcp_sock");
  add(KS_FLOW_SOCKET, "socket");
  return out;
}

std::string_view point_name(uint8_t point) {
  return point == KS_FLOW_POINT_TC ? "tc" : point == KS_FLOW_POINT_CGROUP ? "cgroup" : "";
}

std::string_view comm_view(const ks_flow_owner& o) {
  return std::string_view(o.comm, strnlen(o.comm, sizeof(o.comm)));
}

// Each value lives as long as the record; protocol names are static strings.
std::string_view protocol_view(uint8_t proto) {
  switch (proto) {
    case kTcp: return "tcp";
    case kUdp: return "udp";
    case kIcmp: return "icmp";
    case kIcmpv6: return "icmpv6";
    default: break;
  }
  static const std::array<std::string, 256> numbers = [] {
    std::array<std::string, 256> n;
    for (int i = 0; i < 256; ++i) n[i] = std::to_string(i);
    return n;
  }();
  return numbers[proto];
}

using F = Field<FlowRecord>;
const F kFields[] = {
    {{"time", "TIME", 8, FieldType::boot_time},
     [](const FlowRecord& r) { return uint_value(r.last_ns ? r.last_ns : r.first_ns); }},
    {{"flow_start", "", 0, FieldType::boot_time},
     [](const FlowRecord& r) { return uint_value(r.flow_start_ns); }},
    {{"first", "", 0, FieldType::boot_time},
     [](const FlowRecord& r) { return uint_value(r.first_ns); }},
    {{"last", "", 0, FieldType::boot_time},
     [](const FlowRecord& r) { return uint_value(r.last_ns); }},
    {{"point", "", 0, FieldType::text},
     [](const FlowRecord& r) { return Value(point_name(r.key.point)); }},
    {{"ifindex", "", 0, FieldType::integer},
     [](const FlowRecord& r) { return int_value(r.key.ifindex); }},
    {{"direction", "DIR", 3, FieldType::text},
     [](const FlowRecord& r) {
       return Value(std::string_view(r.key.direction == KS_FLOW_EGRESS ? "out" : "in"));
     }},
    {{"protocol", "PROTO", 6, FieldType::text},
     [](const FlowRecord& r) { return Value(protocol_view(r.key.proto)); }},
    {{"saddr", "SADDR", 15, FieldType::ip},
     [](const FlowRecord& r) { return Value(source_addr(r.key)); }},
    {{"sport", "SPORT", 5, FieldType::integer},
     [](const FlowRecord& r) { return int_value(has_ports(r.key.proto) ? r.key.sport : 0); }},
    {{"daddr", "DADDR", 15, FieldType::ip},
     [](const FlowRecord& r) { return Value(destination_addr(r.key)); }},
    {{"dport", "DPORT", 5, FieldType::integer},
     [](const FlowRecord& r) { return int_value(has_ports(r.key.proto) ? r.key.dport : 0); }},
    {{"icmp_type", "", 0, FieldType::integer},
     [](const FlowRecord& r) { return int_value(is_icmp(r.key.proto) ? r.key.dport >> 8 : 0); }},
    {{"icmp_code", "", 0, FieldType::integer},
     [](const FlowRecord& r) { return int_value(is_icmp(r.key.proto) ? r.key.dport & 0xff : 0); }},
    {{"packets", "PKTS", 8, FieldType::uinteger},
     [](const FlowRecord& r) { return uint_value(r.packets); }},
    {{"bytes", "BYTES", 10, FieldType::uinteger},
     [](const FlowRecord& r) { return uint_value(r.bytes); }},
    {{"tcp_flags", "FLAGS", 15, FieldType::flags, tcp_flag_names},
     [](const FlowRecord& r) { return uint_value(r.tcp_flags); }},
    {{"end_reason", "END", 8, FieldType::text},
     [](const FlowRecord& r) { return Value(end_reason_name(r.end)); }},
    {{"pair_id", "", 0, FieldType::uinteger},
     [](const FlowRecord& r) { return uint_value(r.overflow() ? 0 : pair_id(r.key)); }},
    {{"sequence", "", 0, FieldType::integer},
     [](const FlowRecord& r) { return int_value(r.sequence); }},
    {{"pid", "PID", 7, FieldType::integer},
     [](const FlowRecord& r) { return int_value(r.owner.tgid); }},
    {{"tid", "", 0, FieldType::integer},
     [](const FlowRecord& r) { return int_value(r.owner.pid); }},
    {{"comm", "COMM", 16, FieldType::text},
     [](const FlowRecord& r) { return Value(comm_view(r.owner)); }},
    {{"uid", "", 0, FieldType::integer},
     [](const FlowRecord& r) {
       return int_value((r.owner_flags & KS_FLOW_OWNER_KNOWN) ? int64_t{r.owner.uid} : -1);
     }},
    {{"cgroup_id", "", 0, FieldType::uinteger},
     [](const FlowRecord& r) { return uint_value(r.owner.cgroup_id); }},
    {{"container_id", "CONTAINER", 12, FieldType::text},
     [](const FlowRecord& r) { return Value(std::string_view(r.container_id)); }},
    {{"owner", "", 0, FieldType::flags, owner_flag_names},
     [](const FlowRecord& r) { return uint_value(r.owner_flags); }},
    {{"srtt_us", "", 0, FieldType::integer},
     [](const FlowRecord& r) { return int_value(r.srtt_us); }},
    {{"retransmits", "", 0, FieldType::integer},
     [](const FlowRecord& r) { return int_value(r.retransmits); }},
    {{"socket_cookie", "", 0, FieldType::uinteger},
     [](const FlowRecord& r) { return uint_value(r.socket_cookie); }},
};

}  // namespace

IpAddr source_addr(const ks_flow_key& k) {
  IpAddr a;
  a.family = k.family;
  std::memcpy(a.bytes.data(), k.saddr, 16);
  return a;
}

IpAddr destination_addr(const ks_flow_key& k) {
  IpAddr a;
  a.family = k.family;
  std::memcpy(a.bytes.data(), k.daddr, 16);
  return a;
}

std::string tcp_flag_names(uint64_t bits) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    if (bits & (1u << i)) {
      if (!out.empty()) out += '|';
      out += kTcpFlagNames[i];
    }
  return out;
}

std::string_view end_reason_name(EndReason r) {
  switch (r) {
    case EndReason::none: return "";
    case EndReason::idle_timeout: return "idle";
    case EndReason::active_timeout: return "active";
    case EndReason::end_of_flow: return "end";
    case EndReason::forced_end: return "forced";
    case EndReason::lack_of_resources: return "overflow";
  }
  return "";
}

size_t FlowKeyHash::operator()(const ks_flow_key& k) const {
  // FNV-1a over the key's bytes: the key is zeroed before it is filled (no padding).
  const auto* p = reinterpret_cast<const unsigned char*>(&k);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < sizeof(k); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

bool FlowKeyEq::operator()(const ks_flow_key& a, const ks_flow_key& b) const {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

ks_flow_key flow_key(const IpAddr& saddr, uint16_t sport, const IpAddr& daddr, uint16_t dport,
                     uint8_t proto, uint8_t direction, uint8_t point, uint32_t ifindex) {
  ks_flow_key k{};
  std::memcpy(k.saddr, saddr.bytes.data(), sizeof(k.saddr));
  std::memcpy(k.daddr, daddr.bytes.data(), sizeof(k.daddr));
  k.family = saddr.family;
  k.sport = sport;
  k.dport = dport;
  k.proto = proto;
  k.direction = direction;
  k.point = point;
  k.ifindex = ifindex;
  return k;
}

uint64_t pair_id(const ks_flow_key& k) {
  // The egress side's key names the pair: a flow and its reverse hash the same key.
  ks_flow_key canonical = k.direction == KS_FLOW_EGRESS ? k : reverse_key(k);
  return FlowKeyHash()(canonical);
}

ks_flow_key reverse_key(const ks_flow_key& k) {
  ks_flow_key r = k;
  std::memcpy(r.saddr, k.daddr, sizeof(r.saddr));
  std::memcpy(r.daddr, k.saddr, sizeof(r.daddr));
  r.direction = k.direction == KS_FLOW_EGRESS ? KS_FLOW_INGRESS : KS_FLOW_EGRESS;
  if (has_ports(k.proto)) {
    r.sport = k.dport;
    r.dport = k.sport;
  } else if (is_icmp(k.proto)) {
    // Echo request <-> reply: ICMP 8 <-> 0, ICMPv6 128 <-> 129; other types answer alike.
    uint8_t type = k.dport >> 8, code = k.dport & 0xff;
    if (k.proto == kIcmp && (type == 8 || type == 0)) type = type == 8 ? 0 : 8;
    if (k.proto == kIcmpv6 && (type == 128 || type == 129)) type = type == 128 ? 129 : 128;
    r.dport = static_cast<uint16_t>(type << 8 | code);
  }
  return r;
}

std::span<const Field<FlowRecord>> flow_fields() { return kFields; }

std::string protocol_name(uint8_t proto) { return std::string(protocol_view(proto)); }

int parse_protocol(std::string_view text) {
  if (text == "tcp") return kTcp;
  if (text == "udp") return kUdp;
  if (text == "icmp") return kIcmp;
  if (text == "icmpv6") return kIcmpv6;
  int n = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < 0 || n > 255) return -1;
  return n;
}

}  // namespace kscope::flows
