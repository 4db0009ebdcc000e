// Which flow records pass, combined as `hubble observe` combines its filters: a record passes
// when it matches any allow filter (or there is none) and no deny filter. Within one filter
// every kind given must match (AND); the values of one kind are alternatives (OR).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "flows/flow_record.h"

namespace kscope::flows {

struct Cidr {
  IpAddr net;          // its host bits zero
  unsigned prefix = 0;  // 0..32 or 0..128
  bool contains(const IpAddr& a) const;
  bool operator==(const Cidr&) const = default;
};

// "10.0.0.0/8", "fd00::/64", or an address alone (a /32 or /128). The error says why not.
Result<Cidr> parse_cidr(std::string_view text);

struct FlowFilter {
  std::vector<Cidr> ips;              // source or destination
  std::vector<Cidr> source_ips;       // source only (hubble's --from-ip)
  std::vector<Cidr> destination_ips;  // destination only (--to-ip)
  std::vector<uint16_t> ports;        // source or destination (TCP and UDP)
  std::vector<uint8_t> protocols;
  std::vector<uint32_t> pids;         // the owner's process id
  std::vector<std::string> comms;
  std::vector<std::string> drop_reasons;  // of drop events (the drops tool): matches no flow
  bool empty() const {
    return ips.empty() && source_ips.empty() && destination_ips.empty() && ports.empty() &&
           protocols.empty() && pids.empty() && comms.empty() && drop_reasons.empty();
  }
  bool matches(const FlowRecord& r) const;
  bool operator==(const FlowFilter&) const = default;
};

struct FlowFilters {
  std::vector<FlowFilter> allow;
  std::vector<FlowFilter> deny;
  bool passes(const FlowRecord& r) const;
  // A trace event of a process (exec, drops...): the same semantics, where a filter that names
  // addresses, ports or protocols matches no event, and one that names drop reasons only a
  // drop event of one of them (`reason`: "" for events of other tools).
  bool passes_event(uint32_t pid, std::string_view comm, std::string_view reason) const;
  bool operator==(const FlowFilters&) const = default;
};

}  // namespace kscope::flows
