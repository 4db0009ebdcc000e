#include "exporters/collect/tool_source.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "base/log.h"
#include "registry/registry.h"

namespace kscope::collect {

// A ring for the bursts between the collector's drains (every 200 ms, and when a quarter of
// it waits). Its pages are mapped into the collector twice (the kernel maps the data area
// twice, so that a record never wraps) and count in its resident memory: 1 MiB, not the 16
// of `kscope trace`, keeps 9 event probes at 18 MiB. What does not fit is counted lost.
constexpr uint32_t kRingBytes = 1u << 20;

Result<std::unique_ptr<ToolSource>> ToolSource::open(const ToolBinding& binding, Feed feed) {
  std::unique_ptr<ToolSource> s(new ToolSource(binding, std::move(feed)));
  s->tool_ = find_tool(binding.tool);
  if (!s->tool_) return fail(fmt::format("collect: no tool '{}' in the registry", binding.tool));
  s->args_ = std::make_unique<ToolArgs>(s->tool_->flags());
  binding.configure(*s->args_);
  Filter filter;
  if (auto c = s->tool_->add_clauses(*s->args_, filter); !c) return std::unexpected(c.error());
  ProbeSetup setup{.tool = binding.tool, .filter = &filter, .ring_bytes = kRingBytes,
                   .wakeup_bytes = kRingBytes / 4};
  auto probe = s->tool_->open(setup, *s->args_);
  if (!probe) return std::unexpected(probe.error());
  s->probe_ = std::move(*probe);
  // The metrics count what the probe sends: a clause it left to user space would count
  // records the tool's own filter drops.
  for (size_t i = 0; i < filter.size(); ++i)
    if (!filter.claimed(i))
      return fail(fmt::format("collect: trace {} left '{}' to user space", binding.tool,
                              filter.clause(i).key));
  if (!s->tool_->aggregates()) {
    auto rb = event_ring(*s->probe_, *s);
    if (!rb) return std::unexpected(rb.error());
    s->ring_.emplace(std::move(*rb));
    auto fill = RingFill::open(s->probe_->events_fd());
    if (!fill) return std::unexpected(fill.error());
    s->fill_.emplace(std::move(*fill));
  }
  return s;
}

ToolSource::~ToolSource() = default;

int ToolSource::epoll_fd() const { return ring_ ? ring_->epoll_fd() : -1; }

void ToolSource::on_record(std::span<const std::byte> record) {
  ++events_;
  auto r = tool_->decode(record, *args_);
  if (!r) {
    ++undecoded_;
    return;
  }
  if (tap_) tap_(*r);
  if (!feed_) return;  // a tool only the sinks asked for: no metrics
  try {
    feed_(*r);
  } catch (const std::exception& e) {
    // A binding asking for a field its tool lacks: a bug, counted and said once.
    if (undecoded_++ == 0) log::error("collect: {}: {}", binding_.tool, e.what());
  }
}

Result<void> ToolSource::collect() {
  if (ring_) {
    max_fill_ = std::max(max_fill_, fill_->fill());
    auto n = ring_->consume();
    if (!n) return std::unexpected(n.error());
    return {};
  }
  return tool_->snapshot(*probe_, *args_, *this);
}

double ToolSource::take_max_fill() {
  if (!fill_) return -1;
  return std::exchange(max_fill_, 0.0);
}

Result<std::vector<LossPoint>> ToolSource::losses() const {
  std::vector<LossPoint> out;
  auto lost = read_percpu_sum(probe_->lost_fd());
  if (!lost) return std::unexpected(lost.error());
  out.push_back({"ring_reserve", *lost});
  for (const ProbeCounter& c : tool_->counters()) {
    auto n = read_percpu_sum(probe_->map_fd(c.map));
    if (!n) return std::unexpected(n.error());
    out.push_back({std::string(c.kind), *n});
  }
  auto missed = probe_->missed();
  if (!missed) return std::unexpected(missed.error());
  out.push_back({"recursion", *missed});
  out.push_back({"decode", undecoded_});
  return out;
}

std::vector<LossPoint> LossTotals::losses(std::vector<LossPoint> running) const {
  for (const auto& c : closed_) {
    auto it = std::find_if(running.begin(), running.end(),
                           [&](const LossPoint& l) { return l.point == c.point; });
    if (it == running.end()) running.push_back(c);
    else it->total += c.total;
  }
  return running;
}

}  // namespace kscope::collect
