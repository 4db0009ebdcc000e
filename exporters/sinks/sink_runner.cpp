#include "exporters/sinks/sink_runner.h"

#include <algorithm>

#include "base/log.h"

namespace kscope::sinks {

namespace {
// An idle sink flushes what it buffers this often, so a file or a socket is never far behind.
constexpr auto kFlushEvery = std::chrono::milliseconds(500);
// What the thread takes from the queue at a time: the batch a sink writes.
constexpr size_t kBatch = 4096;
}  // namespace

SinkRunner::SinkRunner(std::string name, std::string kind, std::unique_ptr<Sink> sink,
                       size_t queue, flows::FlowFilters filters, std::vector<std::string> events)
    : name_(std::move(name)), kind_(std::move(kind)), sink_(std::move(sink)), capacity_(queue),
      filters_(std::move(filters)), events_(std::move(events)),
      takes_flows_(std::find(events_.begin(), events_.end(), "flows") != events_.end()) {
  totals_.lost["sink.queue"] = 0;
  totals_.lost["sink.write"] = 0;
  thread_ = std::thread([this] { run(); });
}

SinkRunner::~SinkRunner() { stop(std::chrono::seconds(2)); }

void SinkRunner::offer(const flows::FlowRecord& r) {
  if (takes_flows_ && filters_.passes(r)) enqueue(r);
}

void SinkRunner::offer(const EventItem& e) {
  if (std::find(events_.begin(), events_.end(), e.tool) != events_.end() &&
      filters_.passes_event(e.pid, e.comm, e.reason))
    enqueue(e);
}

void SinkRunner::enqueue(Item item) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  if (queued_ >= capacity_) {
    ++dropped_;
    ++totals_.lost["sink.queue"];
    return;
  }
  queue_.push_back(std::move(item));
  ++queued_;
  if (queue_.size() == 1) wake_.notify_one();
}

void SinkRunner::offer(LossReport r) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  queue_.emplace_back(std::move(r));
  wake_.notify_one();
}

// Fills in each loss report what only this sink knows: the records it wrote since the last
// report, its own losses, and what earlier reports that never reached the destination said
// (unsent_). The counts assume the whole batch is written: settle() takes back what was not.
void SinkRunner::prepare(std::vector<Item>& batch) {
  for (auto& item : batch) {
    if (is_record(item)) {
      ++written_since_report_;
      continue;
    }
    auto& report = std::get<LossReport>(item);
    report.records = std::exchange(written_since_report_, 0);
    uint64_t dropped;
    {
      std::lock_guard lock(mu_);
      dropped = std::exchange(dropped_, 0);
    }
    report.lost.emplace_back("sink.queue", dropped);
    report.lost.emplace_back("sink.write", std::exchange(failed_since_report_, 0));
    size_t own = report.lost.size();
    sink_->take_losses(report);
    {
      std::lock_guard lock(mu_);
      for (size_t i = own; i < report.lost.size(); ++i)
        totals_.lost[report.lost[i].first] += report.lost[i].second;
    }
    report.absorb(std::exchange(unsent_, {}));
  }
}

// After the write: the batch's items from `whole` on did not reach the destination, and
// `recalled` records of earlier batches turned out lost. Those records count as sink.write;
// a report that was not written hands its counts to the next one (unsent_), less the records
// it counted written that were not. So each record is counted once, written or lost, and
// every loss reaches the first report that is written. Returns the records lost.
uint64_t SinkRunner::settle(std::vector<Item>& batch, size_t whole, uint64_t recalled) {
  uint64_t written = 0, lost = 0, lost_since_report = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (is_record(batch[i])) {
      if (i < whole) {
        ++written;
      } else {
        ++lost;
        ++lost_since_report;
      }
      continue;
    }
    if (i < whole) continue;
    auto& report = std::get<LossReport>(batch[i]);
    report.records -= lost_since_report;
    report.absorb({.lost = {{"sink.write", std::exchange(lost_since_report, 0)}}});
    unsent_.absorb(report);
  }
  written_since_report_ -= lost_since_report;
  failed_since_report_ += lost_since_report;
  // Recalled records were counted written by an earlier batch, maybe in a report already.
  written_since_report_ -= std::min(recalled, written_since_report_);
  failed_since_report_ += recalled;
  std::lock_guard lock(mu_);
  totals_.records += written;
  totals_.records -= std::min(recalled, totals_.records);
  totals_.lost["sink.write"] += lost + recalled;
  return lost + recalled;
}

void SinkRunner::run() {
  std::vector<Item> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, kFlushEvery, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) {
        if (stopping_) break;
        lock.unlock();
        if (auto f = sink_->flush(); !f) log::warn("sink {}: {}", name_, f.error().message);
        continue;
      }
      if (stopping_ && std::chrono::steady_clock::now() > deadline_) {
        // Out of time at shutdown: what is left is lost, and counted.
        totals_.lost["sink.queue"] += queued_;
        queue_.clear();
        queued_ = 0;
        break;
      }
      size_t n = std::min(kBatch, queue_.size());
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
      for (const auto& item : batch) queued_ -= is_record(item);
    }
    prepare(batch);
    auto w = sink_->write(batch);
    uint64_t lost = settle(batch, w ? batch.size() : sink_->whole_before_error(),
                           sink_->take_recalled());
    if (!w) {
      // Once per outage, not per batch: a destination down writes no line a batch to stderr.
      if (!failing_)
        log::warn("sink {}: {} (its records are lost, counted as sink.write, until it writes again)",
                  name_, w.error().message);
      failing_ = true;
      lost_in_outage_ += lost;
    } else if (failing_ && std::any_of(batch.begin(), batch.end(), is_record)) {
      // A warning, as the outage's start was: an operator who saw that needs to see its end.
      // Records must go through: a loss report alone can fit in what a full disk has left.
      log::warn("sink {}: writes again, {} records lost meanwhile", name_, lost_in_outage_);
      failing_ = false;
      lost_in_outage_ = 0;
    }
    batch.clear();
  }
  if (auto f = sink_->flush(); !f) log::warn("sink {}: {}", name_, f.error().message);
}

void SinkRunner::stop(std::chrono::milliseconds limit) {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    deadline_ = std::chrono::steady_clock::now() + limit;
    wake_.notify_one();
  }
  thread_.join();
}

SinkRunner::Totals SinkRunner::totals() const {
  std::lock_guard lock(mu_);
  Totals t = totals_;
  t.queued = queued_;
  return t;
}

}  // namespace kscope::sinks
