#include "pipeline/trace_run.h"

#include <fmt/format.h>

#include "bpf/log.h"
#include "bpf/ring_buffer.h"
#include "pipeline/session.h"

namespace kscope {

void TraceSinkBase::on_record(std::span<const std::byte> record) {
  if (done_) return;  // --count reached: the rest of this drain is not wanted
  if (recorder_) recorder_->write(record);
  auto shown = handle(record);
  if (!shown) {
    ++stats_.malformed;
    if (!warned_malformed_) log::warn("malformed record skipped: {}", shown.error().message);
    warned_malformed_ = true;
    return;
  }
  if (!*shown) {
    ++stats_.filtered;
    return;
  }
  if (++stats_.shown == options_.count.value_or(0)) {
    done_ = true;
    if (stop_) stop_();
  }
}

void TraceSinkBase::report_lost(uint64_t total) {
  if (total <= stats_.lost) return;
  uint64_t delta = total - stats_.lost;
  stats_.lost = total;
  if (options_.format == Format::json) {
    fmt::format_to(std::back_inserter(out_.buffer()), "{{\"type\":\"lost\",\"lost\":{},\"total_lost\":{}}}\n",
                   delta, total);
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
  Session session(*rb, SessionOptions{.tick = std::chrono::milliseconds(100), .duration = options.duration},
                  [&] {
                    check_lost();
                    sink.output().flush();
                  });
  sink.set_stop([&] { session.stop(); });
  sink.header();
  auto r = session.run();
  sink.set_stop(nullptr);
  sink.stats().signal = session.signal();
  sink.output().flush();
  if (!r) return std::unexpected(r.error());
  if (lost_error) return std::unexpected(*lost_error);
  return sink.stats();
}

Result<TraceStats> run_replay(const std::string& path, TraceSinkBase& sink) {
  auto file = ReplayFile::open(path);
  if (!file) return std::unexpected(file.error());
  sink.header();
  auto n = file->records(sink);
  sink.output().flush();
  if (!n) return std::unexpected(n.error());
  return sink.stats();
}

}  // namespace kscope
