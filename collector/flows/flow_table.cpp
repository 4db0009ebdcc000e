#include "flows/flow_table.h"

#include <algorithm>

namespace kscope::flows {

FlowTable::FlowTable(FlowTimeouts timeouts, std::function<std::string(uint64_t)> container_of)
    : timeouts_(timeouts), container_of_(std::move(container_of)) {}

void FlowTable::emit(Entry& e, EndReason why, const RecordOut& out) {
  FlowRecord r = e.pending;
  r.end = why;
  out(std::move(r));
  e.pending.sequence++;
  e.pending.packets = e.pending.bytes = 0;
  e.pending.first_ns = e.pending.last_ns = 0;
  e.pending.tcp_flags = 0;
}

void FlowTable::sweep(std::span<const FlowDelta> deltas, const OverflowDelta& overflow,
                      uint8_t point, uint64_t now_ns, std::vector<FlowRecord>& out) {
  merge(deltas);
  close_sweep(overflow, point, now_ns, [&out](FlowRecord&& r) { out.push_back(std::move(r)); });
}

void FlowTable::merge(std::span<const FlowDelta> deltas) {
  for (const auto& d : deltas) {
    const ks_flow_counts& c = d.counts;
    auto [it, fresh] = flows_.try_emplace(d.key);
    Entry& e = it->second;
    FlowRecord& p = e.pending;
    if (fresh) {
      p.key = d.key;
      p.flow_start_ns = c.first_ns;
      e.period_start_ns = c.first_ns;
    }
    if (p.first_ns == 0 || c.first_ns < p.first_ns) p.first_ns = c.first_ns;
    p.last_ns = std::max<uint64_t>(p.last_ns, c.last_ns);
    p.packets += c.packets;
    p.bytes += c.bytes;
    p.tcp_flags |= c.tcp_flags;
    e.total_packets += c.packets;
    e.total_bytes += c.bytes;
    e.touched = true;
    // The socket's view: the owner once known stays; RTT and retransmits are the latest.
    if ((c.flags & KS_FLOW_OWNER_KNOWN) && !(p.owner_flags & KS_FLOW_OWNER_KNOWN)) {
      p.owner = c.owner;
      p.container_id = container_of_ ? container_of_(c.owner.cgroup_id) : std::string();
    }
    if (c.flags & KS_FLOW_TCP_SOCK) {
      p.srtt_us = c.srtt_us;
      p.retransmits = c.total_retrans;
    }
    if (c.socket_cookie) p.socket_cookie = c.socket_cookie;
    p.owner_flags |= c.flags;
    if ((c.tcp_flags & (KS_TCP_FIN | KS_TCP_RST)) && !e.fin_or_rst) {
      e.fin_or_rst = true;
      ++ending_;
    }
  }
}

void FlowTable::close_sweep(const OverflowDelta& overflow, uint8_t point, uint64_t now_ns,
                            const RecordOut& out) {
  for (auto it = flows_.begin(); it != flows_.end();) {
    Entry& e = it->second;
    bool touched = std::exchange(e.touched, false);
    uint64_t last = e.pending.last_ns ? e.pending.last_ns : e.period_start_ns;
    EndReason end = EndReason::none;
    if (e.fin_or_rst && !touched)
      end = EndReason::end_of_flow;
    else if (!touched && now_ns > last && now_ns - last >= timeouts_.idle_ns)
      end = EndReason::idle_timeout;
    if (end != EndReason::none) {
      emit(e, end, out);
      if (e.fin_or_rst) --ending_;
      it = flows_.erase(it);
      continue;
    }
    if (now_ns - e.period_start_ns >= timeouts_.active_ns && e.pending.packets) {
      emit(e, EndReason::active_timeout, out);
      e.period_start_ns = now_ns;
    }
    ++it;
  }

  for (uint8_t dir : {uint8_t{KS_FLOW_INGRESS}, uint8_t{KS_FLOW_EGRESS}}) {
    if (!overflow.packets[dir]) continue;
    FlowRecord r;
    r.key.point = point;
    r.key.direction = dir;
    r.packets = overflow.packets[dir];
    r.bytes = overflow.bytes[dir];
    r.first_ns = r.last_ns = now_ns;
    r.end = EndReason::lack_of_resources;
    out(std::move(r));
  }
}

void FlowTable::end_all(uint64_t, std::vector<FlowRecord>& out) {
  auto push = [&out](FlowRecord&& r) { out.push_back(std::move(r)); };
  for (auto& [key, e] : flows_) emit(e, EndReason::forced_end, push);
  flows_.clear();
  ending_ = 0;
}

void FlowTable::for_each(const std::function<void(const FlowRecord&)>& f) const {
  for (const auto& [key, e] : flows_) {
    FlowRecord r = e.pending;
    r.packets = e.total_packets;
    r.bytes = e.total_bytes;
    f(r);
  }
}

}  // namespace kscope::flows
