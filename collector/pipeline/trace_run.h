// The one-shot trace pipeline: records -> decode -> (user-space filter) -> render, with the
// --count stop, the lost-event reports and the run's totals. Live and replay runs share it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "bpf/result.h"
#include "pipeline/record_sink.h"
#include "pipeline/replay_source.h"
#include "render/fields.h"
#include "sources/live_probe.h"

namespace kscope {

struct TraceOptions {
  Format format = Format::table;
  std::optional<uint64_t> count;  // stop after this many events shown
  std::optional<std::chrono::milliseconds> duration;
};

struct TraceStats {
  uint64_t shown = 0;      // events rendered
  uint64_t filtered = 0;   // decoded but not wanted
  uint64_t malformed = 0;  // records that failed to decode
  uint64_t lost = 0;       // failed ring buffer writes in the kernel
  int signal = 0;          // the signal that ended the run, or 0
};

class TraceSinkBase : public RecordSink {
 public:
  TraceSinkBase(const TraceOptions& options, Output& out) : options_(options), out_(out) {}

  void on_record(std::span<const std::byte> record) final;
  // Reports a growth of the kernel's lost counter: a JSON record in the stream, or a warning.
  void report_lost(uint64_t total);
  void set_stop(std::function<void()> stop) { stop_ = std::move(stop); }
  void set_recorder(RecordWriter* w) { recorder_ = w; }
  virtual void header() = 0;

  TraceStats& stats() { return stats_; }
  Output& output() { return out_; }

 protected:
  // Decodes and renders; false when the event was filtered out. Errors count as malformed.
  virtual Result<bool> handle(std::span<const std::byte> record) = 0;
  const TraceOptions& options_;
  Output& out_;

 private:
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
  using Keep = std::function<bool(const Event&)>;

  TraceSink(const TraceOptions& options, Output& out, std::string_view type,
            std::span<const Field<Event>> fields, Decode decode, Keep keep)
      : TraceSinkBase(options, out),
        renderer_(options.format, type, fields, out),
        decode_(std::move(decode)),
        keep_(std::move(keep)) {}

  void header() override { renderer_.header(); }

 protected:
  Result<bool> handle(std::span<const std::byte> record) override {
    auto e = decode_(record);
    if (!e) return std::unexpected(e.error());
    if (keep_ && !keep_(*e)) return false;
    renderer_.render(*e);
    return true;
  }

 private:
  Renderer<Event> renderer_;
  Decode decode_;
  Keep keep_;
};

// Drains the probe's ring buffer until --count, --duration, SIGINT or SIGTERM.
Result<TraceStats> run_live(LiveProbe& probe, TraceSinkBase& sink, const TraceOptions& options);
// Feeds a recorded file through the sink.
Result<TraceStats> run_replay(const std::string& path, TraceSinkBase& sink);

}  // namespace kscope
