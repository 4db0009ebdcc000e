// The one-shot trace pipeline: records -> decode -> filter (what the probe did not apply) ->
// render, with the --count stop, the lost-event reports and the run's totals. Live and
// replay runs share it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/record_sink.h"
#include "base/result.h"
#include "filter/filter.h"
#include "render/renderer.h"
#include "sources/probe.h"
#include "sources/record_file.h"

namespace kscope {

struct TraceOptions {
  Format format = Format::table;
  // Stop after this many events shown; for an aggregating tool, after this many intervals.
  std::optional<uint64_t> count;
  std::optional<std::chrono::milliseconds> duration;
  // Aggregating tools: a snapshot every interval (without one, a single one at the end).
  std::optional<std::chrono::milliseconds> interval;
  bool aggregating = false;
};

// An aggregating tool's snapshot: what its probe's maps hold, as records into the sink.
using SnapshotFn = std::function<Result<void>(RecordSink&)>;

struct TraceStats {
  uint64_t shown = 0;      // events rendered
  uint64_t filtered = 0;   // decoded but not wanted
  uint64_t malformed = 0;  // records that failed to decode
  uint64_t lost = 0;       // failed ring buffer writes in the kernel
  uint64_t missed = 0;     // probe runs the kernel's recursion guard skipped
  // The tool's own kernel counters (ProbeCounter), as (kind, total), in declared order.
  std::vector<std::pair<std::string_view, uint64_t>> counted;
  uint64_t partial = 0;    // shown events the probe could only partly read (flagged in them)
  uint64_t intervals = 0;  // snapshots an aggregating tool took
  int signal = 0;          // the signal that ended the run, or 0
  bool output_closed = false;  // the reader of stdout went away (`kscope trace exec | head`)
};

class TraceSinkBase : public RecordSink {
 public:
  // `counters`: the tool's own kernel counters, reported beside lost and missed.
  TraceSinkBase(const TraceOptions& options, Output& out,
                std::span<const ProbeCounter> counters = {})
      : options_(options), out_(out), counters_(counters) {
    for (const auto& c : counters) stats_.counted.emplace_back(c.kind, 0);
  }

  void on_record(std::span<const std::byte> record) final;
  // Report a growth of the kernel's counters: a JSON record in the stream, or a warning.
  void report_lost(uint64_t total);
  void report_missed(uint64_t total);
  void report_counted(size_t counter, uint64_t total);  // counters()[counter]
  std::span<const ProbeCounter> counters() const { return counters_; }
  void set_stop(std::function<void()> stop) { stop_ = std::move(stop); }
  void set_recorder(RecordWriter* w) { recorder_ = w; }
  virtual void header() = 0;

  TraceStats& stats() { return stats_; }
  Output& output() { return out_; }

 protected:
  enum class Handled { shown, shown_partial, filtered };
  // Decodes, filters and renders. Errors count as malformed.
  virtual Result<Handled> handle(std::span<const std::byte> record) = 0;
  const TraceOptions& options_;
  Output& out_;

 private:
  void finish();
  std::span<const ProbeCounter> counters_;
  TraceStats stats_;
  std::function<void()> stop_;
  RecordWriter* recorder_ = nullptr;
  bool done_ = false;
  bool warned_malformed_ = false;
};

template <class Event>
class TraceSink final : public TraceSinkBase {
 public:
  using Decode = std::function<Result<Event>(std::span<const std::byte>)>;

  // `filter` holds what the probe did not apply (everything, on a replay); `partial` says
  // whether an event is flagged as partly read.
  TraceSink(const TraceOptions& options, Output& out, std::string_view type,
            std::span<const Field<Event>> fields, Decode decode, CompiledFilter<Event> filter,
            bool (*partial)(const Event&), std::span<const ProbeCounter> counters = {})
      : TraceSinkBase(options, out, counters),
        renderer_(options.format, type, fields, out),
        decode_(std::move(decode)),
        filter_(std::move(filter)),
        partial_(partial) {}

  void header() override { renderer_.header(); }

 protected:
  Result<Handled> handle(std::span<const std::byte> record) override {
    auto e = decode_(record);
    if (!e) return std::unexpected(e.error());
    if (!filter_.matches(*e)) return Handled::filtered;
    renderer_.render(*e);
    return partial_ && partial_(*e) ? Handled::shown_partial : Handled::shown;
  }

 private:
  Renderer<Event> renderer_;
  Decode decode_;
  CompiledFilter<Event> filter_;
  bool (*partial_)(const Event&);
};

// Drains the probe's ring buffer until --count, --duration, SIGINT, SIGTERM or a closed
// stdout. With `snapshot` (an aggregating tool), also takes a snapshot every --interval and
// one at the end, unless the last interval just took it.
Result<TraceStats> run_live(LiveProbe& probe, TraceSinkBase& sink, const TraceOptions& options,
                            const SnapshotFn& snapshot = {});
// Feeds a recorded file through the sink.
Result<TraceStats> run_replay(ReplayFile& file, TraceSinkBase& sink);

}  // namespace kscope
