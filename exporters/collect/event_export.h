// Trace events for the sinks that asked for them (sinks[].events): each decoded record
// rendered once, as `kscope trace TOOL -o json` renders it, with the schema and the node in
// front, and the arguments redacted by the configured patterns before any sink sees them.
#pragma once

#include <memory>
#include <regex>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "exporters/sinks/flow_json.h"
#include "exporters/sinks/sink.h"
#include "model/event_record.h"
#include "registry/tool.h"
#include "render/encoder.h"
#include "render/output.h"

namespace kscope::collect {

// "--password=hunter2" with '(?:password)=(\S+)' -> "--password=*****": each capture group's
// text is replaced, or the whole match when the pattern has no group.
std::string redact(std::string_view arg, std::span<const std::regex> patterns);

class EventExport {
 public:
  EventExport(const Tool& tool, std::span<const std::string> patterns, std::string node_name);
  sinks::EventItem render(const EventRecord& r);

 private:
  std::string tool_;
  std::vector<FieldInfo> fields_;
  std::vector<std::regex> patterns_;
  std::string prefix_;  // {"schema":...,"node_name":..., before the tool's own members
  Output out_;
  std::unique_ptr<RowEncoder> encoder_;
};

}  // namespace kscope::collect
