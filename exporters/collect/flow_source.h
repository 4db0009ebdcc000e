// The flow engine inside the collector: the kernel's exact counts swept into a flow table
// every sweep interval (and at every scrape, so that a scrape sees every packet so far),
// and each record's packets and bytes added to the flow metrics by direction, protocol,
// interface and workload.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "bpf/ring_buffer.h"
#include "bpf/ring_fill.h"
#include "exporters/collect/tool_source.h"
#include "flows/flow_probe.h"
#include "flows/flow_table.h"

namespace kscope::collect {

// The flow engine's counters over the engines a collector runs in turn: a reload that changes
// sources.flows opens a new engine, which counts from 0, and stop() closes the last one before
// its final loss report. What closed engines counted is carried, so that
// kscope_probe_lost_total and the sinks' in-band reports (growth of these totals) never go
// back, and the report at stop still has the run's losses.
class FlowTotals {
 public:
  // An engine closed, with its final counts.
  void close(uint64_t records, std::vector<LossPoint> losses) {
    records_ += records;
    losses_.close(std::move(losses));
  }
  // The running engine's counts (none: empty) with those of the engines closed before it.
  std::vector<LossPoint> losses(std::vector<LossPoint> running) const {
    return losses_.losses(std::move(running));
  }
  uint64_t records(uint64_t running) const { return records_ + running; }
  // Whether an engine ever ran (and so its loss points are reported).
  bool any() const { return losses_.any(); }

 private:
  uint64_t records_ = 0;
  LossTotals losses_;
};

class FlowSource final : public RecordSink {
 public:
  static Result<std::unique_ptr<FlowSource>> open(const FlowsConfig& config,
                                                  prom::MetricSet& metrics, Workload& workload,
                                                  flows::CgroupPaths* cgroups);
  ~FlowSource() override;

  const FlowsConfig& config() const { return config_; }
  const flows::FlowProbe& probe() const { return *probe_; }
  int epoll_fd() const { return ring_->epoll_fd(); }
  // Sweeps when the sweep interval has passed, a FIN or RST asked for it, or `force`.
  Result<void> collect(bool force);
  // The last counts, at shutdown or before a reload opens the flow engine anew.
  Result<void> finish();
  size_t flows() const { return table_->size(); }
  // The flow counts read from the kernel so far (one per flow per sweep that saw it).
  uint64_t records() const { return records_; }
  std::string_view hook() const { return config_.interface.empty() ? "cgroup_skb" : "tc"; }
  std::vector<LossPoint> losses() const;
  // The fullest the FIN/RST ring was at a drain since the last call.
  double take_max_fill() { return std::exchange(max_fill_, 0.0); }
  // The memory budget's second step: forgets every flow of the table (their counts are in
  // the metrics already; a flow seen again counts in kscope_flows_total again). Returns how
  // many were dropped.
  size_t shed();

  void on_record(std::span<const std::byte>) override { poked_ = true; }
  // Where the table's records go (the sinks): every record a sweep ends or reports, and at
  // finish() the forced end of every flow left.
  void set_record_out(flows::FlowTable::RecordOut out) { record_out_ = std::move(out); }

 private:
  FlowSource(const FlowsConfig& c, Workload& w) : config_(c), workload_(w) {}
  Result<void> sweep(uint64_t now);
  void count(const ks_flow_key& key, const ks_flow_counts& c, bool is_new);
  const std::string& interface_name(uint32_t ifindex);

  FlowsConfig config_;
  Workload& workload_;
  std::unique_ptr<flows::FlowProbe> probe_;
  std::unique_ptr<flows::FlowTable> table_;
  std::optional<RingBuffer> ring_;
  std::optional<RingFill> fill_;
  double max_fill_ = 0;
  prom::Metric* packets_ = nullptr;
  prom::Metric* bytes_ = nullptr;
  prom::Metric* flows_ = nullptr;
  std::map<uint32_t, std::string> interfaces_;
  std::vector<std::string> values_;
  uint64_t last_sweep_ns_ = 0;
  uint64_t overflow_packets_ = 0;
  uint64_t records_ = 0;
  bool poked_ = false;
  flows::FlowTable::RecordOut record_out_;
};

}  // namespace kscope::collect
