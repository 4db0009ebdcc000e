// A sink on a thread of its own behind a bounded queue: the collector's loop hands it records
// and never waits for the destination. Past the queue, records are dropped and counted
// (sink.queue); a batch the destination refuses is counted (sink.write); both go into the
// sink's own stream with the next loss report, and into the collector's metrics.
#pragma once

#include <condition_variable>
#include <deque>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exporters/sinks/sink.h"
#include "flows/flow_filter.h"

namespace kscope::sinks {

class SinkRunner {
 public:
  // `queue`: records waiting at most (loss reports are never dropped); `events`: what the
  // sink takes, "flows" and the names of trace tools (exec...); `filters` pick among them.
  SinkRunner(std::string name, std::string kind, std::unique_ptr<Sink> sink, size_t queue,
             flows::FlowFilters filters, std::vector<std::string> events = {"flows"});
  ~SinkRunner();
  SinkRunner(const SinkRunner&) = delete;
  SinkRunner& operator=(const SinkRunner&) = delete;

  // From the collector's loop: the record goes in when it passes the filters and there is
  // room; never blocks on the destination.
  void offer(const flows::FlowRecord& r);
  void offer(const EventItem& e);
  void offer(LossReport r);
  // Writes what is queued (waiting at most `limit` for the destination), flushes, and ends
  // the thread. Idempotent.
  void stop(std::chrono::milliseconds limit);

  struct Totals {
    uint64_t records = 0;  // flow records and events written to the destination
    std::map<std::string, uint64_t> lost;  // loss point -> records, since start
    size_t queued = 0;
  };
  Totals totals() const;
  const std::string& name() const { return name_; }
  const std::string& kind() const { return kind_; }

 private:
  void run();
  void prepare(std::vector<Item>& batch);
  uint64_t settle(std::vector<Item>& batch, size_t whole, uint64_t recalled);
  void enqueue(Item item);

  std::string name_, kind_;
  std::unique_ptr<Sink> sink_;
  size_t capacity_;
  flows::FlowFilters filters_;
  std::vector<std::string> events_;
  bool takes_flows_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> queue_;   // guarded by mu_; a deque, so that a long queue never moves whole
  size_t queued_ = 0;  // flow records and events in queue_ (loss reports not counted)
  uint64_t dropped_ = 0;     // since the last report, guarded by mu_
  bool stopping_ = false;
  std::chrono::steady_clock::time_point deadline_{};  // of a stop: write no later than this
  // The runner thread's own counts; totals_ is guarded by mu_ for readers.
  uint64_t written_since_report_ = 0, failed_since_report_ = 0;
  LossReport unsent_;  // what the reports that did not reach the destination said, merged
  Totals totals_;
  // The runner thread's: whether its last write failed, and the records lost since they began to.
  bool failing_ = false;
  uint64_t lost_in_outage_ = 0;
  std::thread thread_;
};

}  // namespace kscope::sinks
