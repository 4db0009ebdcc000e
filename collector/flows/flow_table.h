// The user side of the flow engine: the flows seen so far, fed by each sweep's exact deltas
// from the kernel, and the records they end as: on FIN or RST once quiet, after the idle
// timeout, every active timeout while they go on, and at shutdown. No BPF here: the unit
// tests drive it with made-up deltas.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flows/flow_record.h"

namespace kscope::flows {

struct FlowTimeouts {
  uint64_t idle_ns = 15'000'000'000;    // no packet for this long: the flow ends
  uint64_t active_ns = 60'000'000'000;  // a flow going on reports at least this often
};

// A sweep's counts: what the kernel's table held when it was swapped out.
struct FlowDelta {
  ks_flow_key key{};
  ks_flow_counts counts{};
};

// Packets no kernel table had room for, since the last sweep, per direction.
struct OverflowDelta {
  uint64_t packets[2] = {0, 0};  // KS_FLOW_INGRESS, KS_FLOW_EGRESS
  uint64_t bytes[2] = {0, 0};
};

class FlowTable {
 public:
  // container_of: the container id of a cgroup id ("" for none); called once per new flow.
  FlowTable(FlowTimeouts timeouts, std::function<std::string(uint64_t)> container_of);

  // One sweep at `now_ns` (CLOCK_BOOTTIME): merges the deltas, then appends to `out` every
  // record this sweep ends or reports. `point` and the overflow say where the overflow
  // record was counted.
  void sweep(std::span<const FlowDelta> deltas, const OverflowDelta& overflow, uint8_t point,
             uint64_t now_ns, std::vector<FlowRecord>& out);
  // The same in parts, so that a big sweep need not hold all its deltas at once: merge()
  // each slice of the kernel's table as it is read, then close_sweep() ends and reports.
  using RecordOut = std::function<void(FlowRecord&&)>;
  void merge(std::span<const FlowDelta> deltas);
  void close_sweep(const OverflowDelta& overflow, uint8_t point, uint64_t now_ns,
                   const RecordOut& out);
  // Every flow ends (forced end), e.g. when kscope stops; after a last sweep.
  void end_all(uint64_t now_ns, std::vector<FlowRecord>& out);

  size_t size() const { return flows_.size(); }
  bool contains(const ks_flow_key& key) const { return flows_.contains(key); }
  // Forgets every flow without a record (the collector's memory budget).
  void clear() {
    flows_.clear();
    ending_ = 0;
  }
  // Some flow saw a FIN or RST and waits for a quiet sweep to end: sweep again soon.
  bool ending() const { return ending_ > 0; }
  // The flows now, with what each counted since its last record: for a live top-N view.
  void for_each(const std::function<void(const FlowRecord&)>& f) const;

 private:
  struct Entry {
    FlowRecord pending;          // counts since the last record
    uint64_t period_start_ns;    // when the current active period began
    uint64_t total_packets = 0;  // over the flow's life, for the live view
    uint64_t total_bytes = 0;
    bool fin_or_rst = false;
    bool touched = false;        // counted in this sweep
  };
  void emit(Entry& e, EndReason why, const RecordOut& out);

  FlowTimeouts timeouts_;
  std::function<std::string(uint64_t)> container_of_;
  std::unordered_map<ks_flow_key, Entry, FlowKeyHash, FlowKeyEq> flows_;
  size_t ending_ = 0;
};

}  // namespace kscope::flows
