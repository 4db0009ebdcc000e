#include "exporters/collect/event_export.h"

#include "render/json_writer.h"

namespace kscope::collect {

std::string redact(std::string_view arg, std::span<const std::regex> patterns) {
  std::string text(arg);
  for (const auto& re : patterns) {
    std::string out;
    size_t done = 0;  // text[0, done) is in out
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
      const std::smatch& m = *it;
      if (m.length(0) == 0) continue;
      // The spans to hide: each group that took part, else the whole match.
      std::vector<std::pair<size_t, size_t>> spans;
      for (size_t g = 1; g < m.size(); ++g)
        if (m[g].matched && m.length(g) > 0)
          spans.emplace_back(static_cast<size_t>(m.position(g)), static_cast<size_t>(m.length(g)));
      if (spans.empty())
        spans.emplace_back(static_cast<size_t>(m.position(0)), static_cast<size_t>(m.length(0)));
      for (auto [pos, len] : spans) {
        if (pos < done) continue;  // nested groups: the outer one hid it
        out.append(text, done, pos - done);
        out += "*****";
        done = pos + len;
      }
    }
    out.append(text, done, std::string::npos);
    text = std::move(out);
  }
  return text;
}

EventExport::EventExport(const Tool& tool, std::span<const std::string> patterns,
                         std::string node_name)
    : tool_(tool.info().name), fields_(tool.fields()) {
  for (const auto& p : patterns) patterns_.emplace_back(p);  // checked when the config loaded
  fmt::memory_buffer head;
  JsonWriter w(head);
  w.begin_object().member("schema", sinks::kEventSchema).member("node_name", std::string_view(node_name));
  prefix_.assign(head.data(), head.size());  // `{"schema":...,"node_name":"..."`
  encoder_ = RowEncoder::create(Format::json, tool_, fields_, out_);
}

sinks::EventItem EventExport::render(const EventRecord& r) {
  sinks::EventItem e{.tool = tool_};
  std::vector<std::string> redacted;
  encoder_->begin_row();
  const auto& entries = r.entries();
  for (size_t i = 0; i < entries.size() && i < fields_.size(); ++i) {
    const auto& entry = entries[i];
    Value v = view_of(entry.value);
    if (const auto* argv = std::get_if<OwnedArgv>(&entry.value); argv && !patterns_.empty()) {
      redacted.clear();
      for (const auto& a : argv->args) redacted.push_back(redact(a, patterns_));
      v = ArgvView{redacted, argv->truncated};
    }
    encoder_->field(i, v, "");
    if (entry.key == "pid") {
      if (const auto* p = std::get_if<PidInNs>(&entry.value)) e.pid = p->host;
      else if (const auto* n = std::get_if<int64_t>(&entry.value)) e.pid = static_cast<uint32_t>(*n);
    } else if (entry.key == "comm") {
      if (const auto* c = std::get_if<std::string>(&entry.value)) e.comm = *c;
    } else if (entry.key == "reason" && tool_ == "drops") {
      if (const auto* c = std::get_if<std::string>(&entry.value)) e.reason = *c;
    }
  }
  encoder_->end_row();
  // The tool's line is `{"type":"exec",...}\n`: the prefix's members go before its own.
  auto& line = out_.buffer();
  e.json.reserve(prefix_.size() + line.size());
  e.json.append(prefix_).append(",").append(line.data() + 1, line.size() - 1);
  line.clear();
  return e;
}

}  // namespace kscope::collect
