// A sink takes the collector's flow records (and, at the end of every report window, a loss
// report) to one destination: a file, the live stream, an IPFIX collector, Kafka. Each sink
// runs on a thread of its own behind a bounded queue (SinkRunner), so that no destination
// can stall the collector or another sink: past the queue, that sink's records are dropped,
// counted, and written into its own stream in the next loss report.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.h"
#include "flows/flow_record.h"

namespace kscope::sinks {

// What every stage lost in one report window, in band: a consumer of any one output tells a
// complete window from an incomplete one without scraping metrics. Loss points (docs/flows.md):
//   kernel.table_full        packets of new flows the kernel's table had no room for (they
//                            are in the overflow record's totals, without their 5-tuple)
//   kernel.notification_ring FIN/RST notices lost (the flow still ends, at the idle timeout)
//   collector.memory_shed    flows the memory budget forgot (their next packets start anew)
//   sink.queue               this sink's records dropped because its queue was full
//   sink.write               this sink's records its destination refused (write errors)
//   and what a sink adds of its own (e.g. kafka.delivery_failed).
struct LossReport {
  uint64_t window_start_ns = 0;  // CLOCK_REALTIME: the window is [start, end)
  uint64_t window_end_ns = 0;
  uint64_t records = 0;          // flow records and events this sink wrote in the window
  std::vector<std::pair<std::string, uint64_t>> lost;  // loss point, count in the window
  bool complete() const {
    for (const auto& [point, n] : lost)
      if (n) return false;
    return true;
  }
  // Takes in an earlier report that never reached the destination, so that what it counted
  // is said by this one: its window, records and each loss point (by name) add up.
  void absorb(const LossReport& earlier) {
    if (earlier.window_start_ns && (!window_start_ns || earlier.window_start_ns < window_start_ns))
      window_start_ns = earlier.window_start_ns;
    records += earlier.records;
    for (const auto& [point, n] : earlier.lost) {
      auto it = std::find_if(lost.begin(), lost.end(), [&](const auto& l) { return l.first == point; });
      if (it == lost.end()) lost.emplace_back(point, n);
      else it->second += n;
    }
  }
};

// A trace event a sink asked for (sinks[].events: exec, exit...): rendered once by the
// collector, as `kscope trace TOOL -o json` writes it with schema and node_name in front.
struct EventItem {
  std::string tool;  // "exec"
  uint32_t pid = 0;  // the process, for filters and Kafka keys (0: none)
  std::string comm;
  std::string reason;  // a drop event's reason (NO_SOCKET...), for filters; "" for others
  std::string json;    // one line, newline included
};

using Item = std::variant<flows::FlowRecord, LossReport, EventItem>;

// Records a consumer counts: flow records and events, not loss reports.
inline bool is_record(const Item& item) { return !std::holds_alternative<LossReport>(item); }

// What every record of this collector shares.
struct Context {
  std::string node_name;       // the host name
  int64_t boot_to_wall_ns = 0;  // CLOCK_REALTIME - CLOCK_BOOTTIME: a record's times are boot ns
  uint64_t wall_ns(uint64_t boot_ns) const {
    // Unsigned: the same sum where it fits, and defined (wrapping) where a bad record's time
    // would overflow a signed one (found by tests/fuzz/ipfix_fuzz).
    return boot_ns ? boot_ns + static_cast<uint64_t>(boot_to_wall_ns) : 0;
  }
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Sends a batch, in order, on the sink's own thread. An error means the batch's items from
  // whole_before_error() on were not delivered: the runner counts their records as sink.write
  // losses, carries their loss reports' counts to the next report, and goes on.
  virtual Result<void> write(std::span<const Item> batch) = 0;
  // After a write() that failed: how many items at the front of the batch are in the
  // destination whole (none of the rest is, not even in part). A sink that cannot tell says 0.
  virtual size_t whole_before_error() const { return 0; }
  // Records of earlier batches that write() took without an error but that turned out lost,
  // since the last call (a UDP datagram that only the next send learns was refused): the
  // runner moves them from written to sink.write.
  virtual uint64_t take_recalled() { return 0; }
  // Pushes out what the sink buffers; called when its queue runs empty and at shutdown.
  virtual Result<void> flush() { return {}; }
  // Loss points of the sink's own (past its queue) since the last call, appended to the
  // report the runner is about to hand write(); e.g. records its library could not deliver.
  virtual void take_losses(LossReport&) {}
};

}  // namespace kscope::sinks
