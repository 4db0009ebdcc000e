// Which registry tools feed which metrics, declared once: for each, the configuration's
// source it belongs to, the tool and its flags, the metrics it declares and how one record
// of the tool updates them. Event tools' records come from their ring buffers as they
// happen; aggregating tools' (histograms kept in the kernel) at every scrape, emptied into
// the series' cumulative counts.
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "exporters/collect/workload.h"
#include "exporters/prometheus/metric_set.h"
#include "model/event_record.h"
#include "registry/tool.h"

namespace kscope::collect {

using Feed = std::function<void(const EventRecord&)>;

struct ToolBinding {
  std::string_view source;  // the key under sources: in the configuration
  std::string_view tool;    // the registry's tool
  void (*configure)(ToolArgs&);
  // Declares the metrics; the returned feed updates them from one record of the tool.
  Feed (*declare)(prom::MetricSet&, Workload&);
};

std::span<const ToolBinding> tool_bindings();

// The source of a tool run only because a sink takes its events (sinks[].events): no metrics.
inline constexpr std::string_view kSinkSource = "sinks";
// That binding for an event tool of the registry; nullptr for an unknown or aggregating tool.
const ToolBinding* event_binding(std::string_view tool);

// Whether a source of the configuration is on.
bool source_enabled(const Config& c, std::string_view source);

}  // namespace kscope::collect
