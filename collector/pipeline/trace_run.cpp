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
  if (++stats_.shown == options_.count.value_or(0) || out_.closed()) finish();
}

void TraceSinkBase::finish() {
  done_ = true;
  stats_.output_closed = out_.closed();
  if (stop_) stop_();
}

void TraceSinkBase::report_lost(uint64_t total) {
  if (total <= stats_.lost) return;
  uint64_t delta = total - stats_.lost;
  stats_.lost = total;
  if (options_.format == Format::json) {
    JsonWriter j(out_.buffer());
    j.begin_object().member("type", "lost").member("lost", delta).member("total_lost", total);
    j.end_object().end_line();
  } else {
    log::warn("{} events lost: the ring buffer was full (raise --buffer-size, or filter more)",
              delta);
  }
}

Result<TraceStats> run_live(LiveProbe& probe, TraceSinkBase& sink, const TraceOptions& options) {
  auto rb = RingBuffer::create(probe.events_fd(), sink);
  if (!rb) return std::unexpected(rb.error());
  std::optional<Error> lost_error;
  auto check_lost = [&] {
    auto lost = read_percpu_sum(probe.lost_fd());
    if (lost) sink.report_lost(*lost);
    else if (!lost_error) lost_error = lost.error();
  };
  std::optional<Session> session;
  auto flush = [&] {
    sink.output().flush();
    if (sink.output().closed()) {
      sink.stats().output_closed = true;
      session->stop();
    }
  };
  session.emplace(*rb, SessionOptions{.tick = std::chrono::milliseconds(100), .duration = options.duration},
                  [&] {
                    check_lost();
                    flush();
                  },
                  flush);
  sink.set_stop([&] { session->stop(); });
  sink.header();
  auto r = session->run();
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
