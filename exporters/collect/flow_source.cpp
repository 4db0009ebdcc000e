#include "exporters/collect/flow_source.h"

#include <net/if.h>

#include <algorithm>

#include "base/boot_clock.h"
#include "flows.h"

namespace kscope::collect {
namespace {

uint64_t ns(std::chrono::milliseconds d) { return static_cast<uint64_t>(d.count()) * 1'000'000; }

// How soon a flow that saw a FIN or RST is looked at again (flows/flow_table.h).
constexpr uint64_t kEndingSweepNs = 200'000'000;

}  // namespace

Result<std::unique_ptr<FlowSource>> FlowSource::open(const FlowsConfig& config,
                                                     prom::MetricSet& metrics, Workload& workload,
                                                     flows::CgroupPaths* cgroups) {
  std::unique_ptr<FlowSource> s(new FlowSource(config, workload));
  flows::FlowProbeOptions o{.interface = config.interface, .cgroup = config.cgroup,
                            .max_flows = config.max_flows};
  auto probe = flows::FlowProbe::open(o);
  if (!probe) return std::unexpected(probe.error());
  s->probe_ = std::move(*probe);
  s->table_ = std::make_unique<flows::FlowTable>(
      flows::FlowTimeouts{.idle_ns = ns(config.idle_timeout), .active_ns = ns(config.active_timeout)},
      [cgroups](uint64_t cgroup_id) {
        return cgroups ? cgroups->container_of(cgroup_id, boot_now_ns()) : std::string();
      });
  auto rb = RingBuffer::create(s->probe_->ring_fd(), *s);
  if (!rb) return std::unexpected(rb.error());
  s->ring_.emplace(std::move(*rb));
  auto fill = RingFill::open(s->probe_->ring_fd());
  if (!fill) return std::unexpected(fill.error());
  s->fill_.emplace(std::move(*fill));
  auto labels = label_names({"direction", "protocol", "interface"}, workload);
  auto find_or_add = [&](prom::MetricSpec spec) { return &metrics.add(std::move(spec)); };
  s->packets_ = find_or_add({"kscope_flow_packets_total",
                             "IP packets of flows, by direction, protocol, interface and the "
                             "workload owning the local socket",
                             prom::MetricKind::counter, labels, {}});
  s->bytes_ = find_or_add({"kscope_flow_bytes_total",
                           "IP-layer bytes (IPFIX octetDeltaCount) of flows, by direction, "
                           "protocol, interface and workload",
                           prom::MetricKind::counter, labels, {}});
  s->flows_ = find_or_add({"kscope_flows_total",
                           "Flows (unidirectional 5-tuples) seen, counted in the sweep that first finds each",
                           prom::MetricKind::counter, labels, {}});
  s->last_sweep_ns_ = boot_now_ns();
  return s;
}

FlowSource::~FlowSource() = default;

const std::string& FlowSource::interface_name(uint32_t ifindex) {
  auto it = interfaces_.find(ifindex);
  if (it != interfaces_.end()) return it->second;
  char name[IF_NAMESIZE] = {};
  std::string text = ifindex == 0 ? "" : if_indextoname(ifindex, name) ? name : std::to_string(ifindex);
  return interfaces_.emplace(ifindex, std::move(text)).first->second;
}

void FlowSource::count(const ks_flow_key& key, const ks_flow_counts& c, bool is_new) {
  values_.clear();
  values_.emplace_back(key.direction == KS_FLOW_INGRESS ? "ingress" : "egress");
  values_.push_back(flows::protocol_name(key.proto));
  values_.push_back(interface_name(key.ifindex));
  bool known = c.flags & KS_FLOW_OWNER_KNOWN;
  uint64_t cgroup = known ? c.owner.cgroup_id : 0;
  std::string_view comm = known ? std::string_view(c.owner.comm, strnlen(c.owner.comm, sizeof(c.owner.comm)))
                                : std::string_view();
  workload_.append(comm, cgroup, values_);
  packets_->add(values_, static_cast<double>(c.packets), cgroup);
  bytes_->add(values_, static_cast<double>(c.bytes), cgroup);
  if (is_new) flows_->add(values_, 1, cgroup);
}

// The metrics take each sweep's exact deltas as they come (not the records, which a long
// flow makes only every active timeout); the table keeps the flows for their timeouts.
Result<void> FlowSource::sweep(uint64_t now) {
  flows::OverflowDelta overflow;
  auto each = [&](std::span<const flows::FlowDelta> slice) {
    for (const auto& d : slice) count(d.key, d.counts, !table_->contains(d.key));
    records_ += slice.size();
    table_->merge(slice);
  };
  if (auto s = probe_->sweep(each, overflow); !s) return s;
  // Packets no kernel table had room for: in the totals, without a flow's labels.
  for (uint8_t dir : {KS_FLOW_INGRESS, KS_FLOW_EGRESS}) {
    if (!overflow.packets[dir]) continue;
    values_.assign(3 + workload_.names().size(), "");
    values_[0] = dir == KS_FLOW_INGRESS ? "ingress" : "egress";
    packets_->add(values_, static_cast<double>(overflow.packets[dir]));
    bytes_->add(values_, static_cast<double>(overflow.bytes[dir]));
    overflow_packets_ += overflow.packets[dir];
  }
  table_->close_sweep(overflow, probe_->point(), now, [this](flows::FlowRecord&& r) {
    if (record_out_) record_out_(std::move(r));
  });
  last_sweep_ns_ = now;
  return {};
}

Result<void> FlowSource::collect(bool force) {
  max_fill_ = std::max(max_fill_, fill_->fill());
  if (auto n = ring_->consume(); !n) return std::unexpected(n.error());
  uint64_t now = boot_now_ns();
  bool due = force || poked_ || now - last_sweep_ns_ >= ns(config_.sweep_interval) ||
             (table_->ending() && now - last_sweep_ns_ >= kEndingSweepNs);
  if (!due) return {};
  poked_ = false;
  return sweep(now);
}

Result<void> FlowSource::finish() {
  uint64_t now = boot_now_ns();
  auto swept = sweep(now);
  if (record_out_) {
    std::vector<flows::FlowRecord> ended;
    table_->end_all(now, ended);
    for (auto& r : ended) record_out_(std::move(r));
  }
  return swept;
}

size_t FlowSource::shed() {
  size_t n = table_->size();
  table_->clear();
  return n;
}

std::vector<LossPoint> FlowSource::losses() const {
  return {{"table_full", overflow_packets_}, {"notification_ring", probe_->lost_notifications()}};
}

}  // namespace kscope::collect
