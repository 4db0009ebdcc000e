// What both fuzz targets feed records to: a tool's whole replay pipeline (decode, every
// clause, render as JSON and as a table) writing to /dev/null, under two sets of the tool's
// flags: its defaults, and every boolean on with every number at its minimum (the tightest
// limits cut the most).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "registry/registry.h"

namespace kscope::fuzz {

inline int dev_null() {
  static const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  return fd;
}

inline constexpr TraceOptions kJson{.format = Format::json};
inline constexpr TraceOptions kTable{.format = Format::table};

// Whether `args` add their clauses and make a sink in both formats, as `trace --replay` would.
inline bool pipelines_build(const Tool& tool, const ToolArgs& args) {
  Filter filter;
  if (!tool.add_clauses(args, filter)) return false;
  Output out(dev_null());
  for (const TraceOptions* o : {&kJson, &kTable})
    if (!tool.sink(*o, out, args, filter, /*live=*/false)) return false;
  return true;
}

// The tool's defaults, and a tight set: every flag on (numbers at their minimum) that can go
// with the flags before it in both formats (a flag the tool refuses beside them, as profile's
// --user-stacks-only beside --kernel-stacks-only or --folded beside -o json, stays off).
inline std::vector<ToolArgs> flag_sets(const Tool& tool) {
  std::vector<ToolArgs> sets{ToolArgs(tool.flags()), ToolArgs(tool.flags())};
  for (size_t i = 0; i < tool.flags().size(); ++i) {
    const FlagSpec& spec = tool.flags()[i];
    ToolArgs::Slot& tight = sets[1].slot_at(i);
    ToolArgs::Slot before = tight;
    tight.on = true;
    if (spec.kind == FlagKind::number) tight.number = spec.min;
    if (!pipelines_build(tool, sets[1])) tight = before;
  }
  return sets;
}

// Every pipeline of one tool: {defaults, tight} x {json, table}, each with the clauses its
// flags add, as `trace NAME --replay` builds them.
class ToolPipelines : public RecordSink {
 public:
  explicit ToolPipelines(const Tool& tool) : tool_(tool), out_(dev_null()) {
    for (ToolArgs& args : flag_sets(tool)) {
      auto& a = args_.emplace_back(std::make_unique<ToolArgs>(std::move(args)));
      auto& f = filters_.emplace_back(std::make_unique<Filter>());
      if (auto added = tool.add_clauses(*a, *f); !added) {  // the flag sets above are valid
        std::fprintf(stderr, "%s: %s\n", std::string(tool.info().name).c_str(),
                     added.error().message.c_str());
        std::abort();
      }
      for (const TraceOptions* o : {&kJson, &kTable}) {
        auto sink = tool.sink(*o, out_, *a, *f, /*live=*/false);
        if (!sink) {  // a tool's own clauses must bind to its own fields
          std::fprintf(stderr, "%s: %s\n", std::string(tool.info().name).c_str(),
                       sink.error().message.c_str());
          std::abort();
        }
        sinks_.push_back(std::move(*sink));
      }
    }
  }
  void on_record(std::span<const std::byte> record) override {
    for (const auto& a : args_) (void)tool_.decode(record, *a);
    for (auto& s : sinks_) s->on_record(record);
    out_.flush();
  }

 private:
  const Tool& tool_;
  Output out_;
  std::vector<std::unique_ptr<ToolArgs>> args_;
  std::vector<std::unique_ptr<Filter>> filters_;
  std::vector<std::unique_ptr<TraceSinkBase>> sinks_;
};

}  // namespace kscope::fuzz
