// The flow log's record schema, version 1 (docs/flows.md): one JSON object per line. Field
// names are Hubble's where Hubble has the field (time, IP.source, l4.TCP.source_port,
// traffic_direction, node_name, interface, is_reply...), plus what Hubble's flows do not
// carry: packets, bytes, the owning process and the end reason. The same text goes to files,
// stdout, the live stream and Kafka.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/result.h"
#include "exporters/sinks/sink.h"

namespace kscope::sinks {

inline constexpr std::string_view kFlowSchema = "kscope.flow.v1";
inline constexpr std::string_view kLossSchema = "kscope.loss.v1";
inline constexpr std::string_view kEventSchema = "kscope.event.v1";  // trace events (EventItem)

// Which top-level fields a record keeps (a field mask); empty keeps them all.
class FieldMask {
 public:
  FieldMask() = default;
  // Names from flow_json_fields(); the error names an unknown one and the nearest known.
  static Result<FieldMask> parse(const std::vector<std::string>& names);
  bool keeps(std::string_view field) const;
  bool all() const { return names_.empty(); }

 private:
  std::vector<std::string> names_;
};

// The top-level fields of a flow record, in the order they are written.
const std::vector<std::string_view>& flow_json_fields();

// One flow record as a line, newline included.
void append_flow_json(fmt::memory_buffer& out, const flows::FlowRecord& r, const Context& ctx,
                      const FieldMask& mask = {});
// One loss report as a line, newline included; `sink` names the sink it was written to.
void append_loss_json(fmt::memory_buffer& out, const LossReport& r, std::string_view sink,
                      std::string_view node_name);
// Either, by what the item holds.
void append_item_json(fmt::memory_buffer& out, const Item& item, const Context& ctx,
                      std::string_view sink, const FieldMask& mask = {});

}  // namespace kscope::sinks
