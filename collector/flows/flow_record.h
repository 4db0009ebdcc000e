// A flow record: one unidirectional flow's counts over one stretch of time, as `kscope flows`
// prints it and as later exporters (Prometheus, IPFIX, Kafka) take it. A long flow becomes a
// series of records whose packets and bytes sum exactly to what passed.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "flows.h"
#include "model/field.h"

namespace kscope::flows {

// Why a record was made: IPFIX's flowEndReason values (RFC 7270 / IANA), 0 for none.
enum class EndReason : uint8_t {
  none = 0,
  idle_timeout = 1,       // no packet for the idle timeout
  active_timeout = 2,     // the flow goes on: this record covers the last active period
  end_of_flow = 3,        // a FIN or RST passed and the flow went quiet
  forced_end = 4,         // kscope stopped
  lack_of_resources = 5,  // the overflow record: packets of flows no table had room for
};
std::string_view end_reason_name(EndReason r);

struct FlowKeyHash {
  size_t operator()(const ks_flow_key& k) const;
};
struct FlowKeyEq {
  bool operator()(const ks_flow_key& a, const ks_flow_key& b) const;
};

// The key of a flow from its parts (ICMP: type << 8 | code as dport).
ks_flow_key flow_key(const IpAddr& saddr, uint16_t sport, const IpAddr& daddr, uint16_t dport,
                     uint8_t proto, uint8_t direction, uint8_t point, uint32_t ifindex);

// The same number for a flow and its reverse, and (but for hash collisions) for no other:
// the record's pair_id, so that a consumer pairs both directions up.
uint64_t pair_id(const ks_flow_key& k);

// The key of the same conversation's other direction at the same observation point:
// addresses and ports swapped, direction flipped; ICMP echo request and reply swapped.
ks_flow_key reverse_key(const ks_flow_key& k);

struct FlowRecord {
  ks_flow_key key{};
  uint64_t packets = 0;   // this record's delta
  uint64_t bytes = 0;     // IP-layer octets, this record's delta
  uint64_t first_ns = 0;  // CLOCK_BOOTTIME: the first packet this record counts (0: none)
  uint64_t last_ns = 0;   // the last one
  uint64_t flow_start_ns = 0;  // the flow's first packet, in its first record
  uint64_t tcp_flags = 0;      // union over this record's packets
  EndReason end = EndReason::none;
  uint32_t sequence = 0;       // this flow's records, from 0
  uint32_t owner_flags = 0;    // KS_FLOW_OWNER_KNOWN, KS_FLOW_TCP_SOCK, KS_FLOW_SOCKET
  ks_flow_owner owner{};
  std::string container_id;    // from the owner's cgroup path; "" when none
  uint32_t srtt_us = 0;
  uint32_t retransmits = 0;
  uint64_t socket_cookie = 0;
  bool overflow() const { return end == EndReason::lack_of_resources; }
};

// Every field a flow record has, declared once: the table and NDJSON of `kscope flows`,
// its filters, and the exporters read records through these.
std::span<const Field<FlowRecord>> flow_fields();

// The key's addresses as IpAddr.
IpAddr source_addr(const ks_flow_key& k);
IpAddr destination_addr(const ks_flow_key& k);
// The names of the KS_TCP_* bits, bit 0 (FIN) first: the header's order.
inline constexpr std::string_view kTcpFlagNames[] = {"FIN", "SYN", "RST", "PSH",
                                                      "ACK", "URG", "ECE", "CWR"};
// "SYN|ACK": the names of the bits set, in header order.
std::string tcp_flag_names(uint64_t bits);

// "tcp", "udp", "icmp", "icmpv6", else the number.
std::string protocol_name(uint8_t proto);
// The protocol number a name or number spells, or -1.
int parse_protocol(std::string_view text);

}  // namespace kscope::flows
