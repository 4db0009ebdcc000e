#include "flows/flow_filter.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace kscope::flows {
namespace {

IpAddr addr(const uint8_t (&bytes)[16], uint8_t family) {
  IpAddr a;
  a.family = family;
  std::memcpy(a.bytes.data(), bytes, 16);
  return a;
}

template <class T>
bool any_of(const std::vector<T>& values, const T& v) {
  return values.empty() || std::find(values.begin(), values.end(), v) != values.end();
}

bool has_ports(uint8_t proto) { return proto == 6 || proto == 17; }

bool any_contains(const std::vector<Cidr>& cidrs, const IpAddr& a) {
  return std::any_of(cidrs.begin(), cidrs.end(), [&](const Cidr& c) { return c.contains(a); });
}

}  // namespace

bool Cidr::contains(const IpAddr& a) const {
  if (a.family != net.family) return false;
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), net.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == net.bytes[full];
}

Result<Cidr> parse_cidr(std::string_view text) {
  Cidr c;
  std::string_view host = text;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) host = text.substr(0, slash);
  c.net = parse_ip(host);
  if (c.net.family == 0)
    return fail(fmt::format("'{}' is not an IP address or CIDR", text),
                "give an address (10.0.0.1, fd00::1) or a network (10.0.0.0/8, fd00::/64)");
  unsigned max = c.net.family == 4 ? 32 : 128;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), c.prefix);
    if (ec != std::errc() || end != len.data() + len.size() || len.empty() || c.prefix > max)
      return fail(fmt::format("'{}': the prefix length must be 0 to {}", text, max),
                  "e.g. 10.0.0.0/8 or fd00::/64");
  }
  // The host bits are cleared, so 10.1.2.3/8 means 10.0.0.0/8.
  unsigned full = c.prefix / 8, rest = c.prefix % 8;
  size_t bytes = c.net.family == 4 ? 4 : 16;
  for (size_t i = full; i < bytes; ++i) {
    if (i == full && rest) {
      c.net.bytes[i] &= static_cast<uint8_t>(0xff << (8 - rest));
    } else {
      c.net.bytes[i] = 0;
    }
  }
  return c;
}

bool FlowFilter::matches(const FlowRecord& r) const {
  if (!drop_reasons.empty()) return false;  // drop reasons are for drop events
  IpAddr s = addr(r.key.saddr, r.key.family), d = addr(r.key.daddr, r.key.family);
  if (!ips.empty() && !any_contains(ips, s) && !any_contains(ips, d)) return false;
  if (!source_ips.empty() && !any_contains(source_ips, s)) return false;
  if (!destination_ips.empty() && !any_contains(destination_ips, d)) return false;
  if (!ports.empty()) {
    if (!has_ports(r.key.proto)) return false;
    if (std::find(ports.begin(), ports.end(), r.key.sport) == ports.end() &&
        std::find(ports.begin(), ports.end(), r.key.dport) == ports.end())
      return false;
  }
  if (!any_of(protocols, r.key.proto)) return false;
  if (!pids.empty() &&
      (!(r.owner_flags & KS_FLOW_OWNER_KNOWN) || !any_of(pids, r.owner.tgid)))
    return false;
  if (!comms.empty()) {
    std::string comm(r.owner.comm, strnlen(r.owner.comm, sizeof(r.owner.comm)));
    if (!(r.owner_flags & KS_FLOW_OWNER_KNOWN) || !any_of(comms, comm)) return false;
  }
  return true;
}

bool FlowFilters::passes(const FlowRecord& r) const {
  if (!allow.empty() &&
      std::none_of(allow.begin(), allow.end(), [&](const FlowFilter& f) { return f.matches(r); }))
    return false;
  return std::none_of(deny.begin(), deny.end(), [&](const FlowFilter& f) { return f.matches(r); });
}

bool FlowFilters::passes_event(uint32_t pid, std::string_view comm, std::string_view reason) const {
  auto matches = [&](const FlowFilter& f) {
    if (!f.ips.empty() || !f.source_ips.empty() || !f.destination_ips.empty() ||
        !f.ports.empty() || !f.protocols.empty())
      return false;
    if (!f.drop_reasons.empty() &&
        std::find(f.drop_reasons.begin(), f.drop_reasons.end(), reason) == f.drop_reasons.end())
      return false;
    if (!f.pids.empty() && !any_of(f.pids, pid)) return false;
    return f.comms.empty() || std::find(f.comms.begin(), f.comms.end(), comm) != f.comms.end();
  };
  if (!allow.empty() && std::none_of(allow.begin(), allow.end(), matches)) return false;
  return std::none_of(deny.begin(), deny.end(), matches);
}

}  // namespace kscope::flows
