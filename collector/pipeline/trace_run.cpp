#include "pipeline/trace_run.h"

#include "base/log.h"
#include "bpf/ring_buffer.h"
#include "pipeline/session.h"
#include "render/json_writer.h"

namespace kscope {

void TraceSinkBase::on_record(std::span<const std::byte> record) {
  if (done_) return;  // --count reached, or nobody reads: the rest of this drain is not wanted
  if (recorder_) recorder_->write(record);
  auto handled = handle(record);
  if (!handled) {
    ++stats_.malformed;
    if (!warned_malformed_) log::warn("malformed record skipped: {}", handled.error().message);
    warned_malformed_ = true;
    return;
  }
  if (*handled == Handled::filtered) {
    ++stats_.filtered;
    return;
  }
  stats_.partial += *handled == Handled::shown_partial;
  ++stats_.shown;
  if ((!options_.aggregating && stats_.shown == options_.count.value_or(0)) || out_.closed())
    finish();
}

void TraceSinkBase::finish() {
  done_ = true;
  stats_.output_closed = out_.closed();
  if (stop_) stop_();
}

namespace {

// One growth of a kernel counter: {"type":"lost","lost":N,"total_lost":T} in the stream, or a
// warning on stderr in table mode.
void report_growth(const TraceOptions& options, Output& out, std::string_view kind,
                   uint64_t& seen, uint64_t total, std::string_view why) {
  if (total <= seen) return;
  uint64_t delta = total - seen;
  seen = total;
  if (options.format == Format::json) {
    JsonWriter j(out.buffer());
    std::string total_key = fmt::format("total_{}", kind);
    j.begin_object().member("type", kind).member(kind, delta).member(total_key, total);
    j.end_object().end_line();
  } else {
    log::warn("{} events {}: {}", delta, kind, why);
  }
}

}  // namespace

void TraceSinkBase::report_lost(uint64_t total) {
  report_growth(options_, out_, "lost", stats_.lost, total,
                "the ring buffer was full (raise --buffer-size, or filter more)");
}

void TraceSinkBase::report_missed(uint64_t total) {
  report_growth(options_, out_, "missed", stats_.missed, total,
                "the kernel skipped the probe while another run of it held the CPU");
}

void TraceSinkBase::report_counted(size_t counter, uint64_t total) {
  const ProbeCounter& c = counters_[counter];
  report_growth(options_, out_, c.kind, stats_.counted[counter].second, total, c.why);
}

Result<TraceStats> run_live(LiveProbe& probe, TraceSinkBase& sink, const TraceOptions& options,
                            const SnapshotFn& snapshot) {
  auto rb = event_ring(probe, sink);
  if (!rb) return std::unexpected(rb.error());
  std::optional<Error> lost_error;
  std::optional<Session> session;
  using Clock = std::chrono::steady_clock;
  auto next_snapshot = Clock::now() + options.interval.value_or(std::chrono::milliseconds(0));
  bool last_taken = false;  // the final interval's snapshot is out: none at the end
  auto take_snapshot = [&] {
    if (auto r = snapshot(sink); !r && !lost_error) lost_error = r.error();
    ++sink.stats().intervals;
    last_taken = options.count && sink.stats().intervals >= *options.count;
    if (last_taken) session->stop();
  };
  auto check_counters = [&] {
    auto lost = read_percpu_sum(probe.lost_fd());
    if (lost) sink.report_lost(*lost);
    else if (!lost_error) lost_error = lost.error();
    auto missed = probe.missed();
    if (missed) sink.report_missed(*missed);
    else if (!lost_error) lost_error = missed.error();
    for (size_t i = 0; i < sink.counters().size(); ++i) {
      auto n = read_percpu_sum(probe.map_fd(sink.counters()[i].map));
      if (n) sink.report_counted(i, *n);
      else if (!lost_error) lost_error = n.error();
    }
  };
  auto flush = [&] {
    sink.output().flush();
    if (sink.output().closed()) {
      sink.stats().output_closed = true;
      session->stop();
    }
  };
  session.emplace(*rb, SessionOptions{.tick = std::chrono::milliseconds(100), .duration = options.duration},
                  [&] {
                    check_counters();
                    if (snapshot && options.interval && !last_taken && Clock::now() >= next_snapshot) {
                      take_snapshot();
                      next_snapshot += *options.interval;
                    }
                    flush();
                  },
                  flush);
  sink.set_stop([&] { session->stop(); });
  sink.header();
  auto r = session->run();
  if (snapshot && !last_taken && !sink.output().closed()) {
    take_snapshot();
    check_counters();
  }
  sink.set_stop(nullptr);
  sink.stats().signal = session->signal();
  sink.output().flush();
  if (!r) return std::unexpected(r.error());
  if (lost_error) return std::unexpected(*lost_error);
  return sink.stats();
}

Result<TraceStats> run_replay(ReplayFile& file, TraceSinkBase& sink) {
  sink.header();
  auto n = file.records(sink);
  sink.output().flush();
  if (!n) return std::unexpected(n.error());
  return sink.stats();
}

}  // namespace kscope
