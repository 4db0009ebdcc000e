// One registry tool running inside the collector: its probe loaded and attached as
// `kscope trace` would, its records decoded and fed to its metrics (tool_metrics.h), and
// what it lost counted per loss point for the collector's own metrics.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "bpf/ring_buffer.h"
#include "bpf/ring_fill.h"
#include "exporters/collect/tool_metrics.h"

namespace kscope::collect {

// Losses by where they happened: the kscope_probe_lost_total{point} values.
struct LossPoint {
  std::string point;  // ring_reserve, decode, recursion, or the probe counter's kind
  uint64_t total = 0;
};

// Loss totals over the sources that count one thing in turn: a reload that reopens a source
// (the flow engine with other settings, a tool turned off and on again) starts it at 0. What
// the closed ones counted is carried, so that the totals never go back (the sinks' in-band
// reports are their growth) and a report after the last one closed still has them.
class LossTotals {
 public:
  // A source closed, with its final counts.
  void close(std::vector<LossPoint> losses) { closed_ = this->losses(std::move(losses)); }
  // The running source's counts (none: empty) with those of the sources closed before it.
  std::vector<LossPoint> losses(std::vector<LossPoint> running) const;
  // Whether a source ever closed (and so its loss points are still reported).
  bool any() const { return !closed_.empty(); }

 private:
  std::vector<LossPoint> closed_;
};

class ToolSource final : public RecordSink {
 public:
  static Result<std::unique_ptr<ToolSource>> open(const ToolBinding& binding, Feed feed);
  ~ToolSource() override;

  const ToolBinding& binding() const { return binding_; }
  const LiveProbe& probe() const { return *probe_; }
  // The ring buffer's epoll fd (event tools), or -1.
  int epoll_fd() const;
  // Drains the ring buffer (event tools) or empties the kernel's aggregates into the metrics.
  Result<void> collect();
  uint64_t events() const { return events_; }
  // The fullest the ring buffer was at a drain since the last call (-1: no ring, the tool
  // aggregates in its maps).
  double take_max_fill();
  // Every loss point, read now from the probe's counters.
  Result<std::vector<LossPoint>> losses() const;

  void on_record(std::span<const std::byte> record) override;
  // Each decoded record also goes here (the sinks that take this tool's events); empty: none.
  void set_tap(Feed tap) { tap_ = std::move(tap); }
  const Tool& tool() const { return *tool_; }

 private:
  ToolSource(const ToolBinding& b, Feed feed) : binding_(b), feed_(std::move(feed)) {}
  const ToolBinding& binding_;
  const Tool* tool_ = nullptr;
  std::unique_ptr<ToolArgs> args_;
  Feed feed_;
  Feed tap_;
  std::unique_ptr<LiveProbe> probe_;
  std::optional<RingBuffer> ring_;
  std::optional<RingFill> fill_;
  double max_fill_ = 0;
  uint64_t events_ = 0, undecoded_ = 0;
};

}  // namespace kscope::collect
