// The collector's own metrics, declared once: what each probe received and lost per loss
// point, the series budget, the scrape's duration, the flow table, and the process's CPU,
// memory and build. Read fresh at every scrape; never folded by the budget.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exporters/collect/sink_set.h"
#include "exporters/collect/tool_source.h"
#include "exporters/prometheus/metric_set.h"

namespace kscope::collect {

struct ProbeState {
  std::string probe;  // the tool, or "flows"
  std::string hook;   // the hook alternative it attached through
  uint64_t records = 0;
  std::vector<LossPoint> losses;
  std::vector<object::ProgramStats> programs;  // only while bpf_stats is on
  double ring_fill = -1;                        // the fullest since the last scrape; -1: no ring
  std::vector<object::MapStats> maps;
};

struct SelfState {
  std::vector<ProbeState> probes;
  double last_scrape_seconds = 0;
  uint64_t scrape_errors = 0;
  Refusals metrics_refusals, stream_refusals;
  size_t active_flows = 0;
  uint64_t reloads = 0, reload_failures = 0;
  // The memory budget: what is used and allowed, whether the collector sheds load and why,
  // and what it shed.
  uint64_t accounted_bytes = 0, anon_bytes = 0, anon_limit = 0, bpf_bytes = 0, bpf_limit = 0;
  bool degraded_memory = false, degraded_bpf_memory = false;
  uint64_t shed_flows = 0, shed_sources = 0;
  std::vector<SinkState> sinks;
};

class SelfMetrics {
 public:
  explicit SelfMetrics(prom::MetricSet& self);
  // Sets every self metric from `state` and from `budgeted`, the set the budget governs.
  void update(const SelfState& state, const prom::MetricSet& budgeted);

 private:
  prom::Metric &records_, &lost_, &probe_info_, &runs_, &run_time_, &ring_fill_, &map_entries_,
      &map_capacity_, &series_, &series_limit_, &folded_, &expired_,
      &scrape_, &scrape_errors_, &unauthorized_, &tls_failures_, &flows_, &memory_, &memory_limit_, &degraded_, &shed_, &reloads_, &reload_failures_, &cpu_, &rss_, &fds_,
      &start_, &build_, &sink_records_, &sink_lost_, &sink_queued_;
};

}  // namespace kscope::collect
