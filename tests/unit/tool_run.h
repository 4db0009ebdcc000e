// Records through a tool's own sink, as `kscope trace NAME --replay` runs them: decode, the
// filter (all of it: no probe claimed anything), render into a captured Output.
#pragma once

#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "captured_output.h"
#include "records.h"
#include "registry/registry.h"

namespace kscope::test {

inline const Tool& tool(std::string_view name) {
  const Tool* t = find_tool(name);
  if (!t) throw std::runtime_error("no tool " + std::string(name) + " in the registry");
  return *t;
}

struct Shown {
  std::string text;
  TraceStats stats;
};

struct RunOptions {
  Format format = Format::json;
  bool header = false;
  bool live = false;  // true: the clauses a probe claimed are not checked again
  std::optional<uint64_t> count;
};

inline Shown run_records(const Tool& t, std::initializer_list<Bytes> records, const Filter& filter,
                       const ToolArgs& args, RunOptions o = {}) {
  TraceOptions options{.format = o.format, .count = o.count};
  Captured c;
  auto sink = t.sink(options, c.out(), args, filter, o.live);
  if (!sink) throw std::runtime_error("sink: " + sink.error().message);
  if (o.header) (*sink)->header();
  for (const Bytes& r : records) (*sink)->on_record(r);
  return {c.text(), (*sink)->stats()};
}

// With the tool's default flags and no filter: every record that decodes is shown.
inline Shown run_records(std::string_view name, std::initializer_list<Bytes> records,
                       RunOptions o = {}) {
  const Tool& t = tool(name);
  return run_records(t, records, Filter{}, ToolArgs(t.flags()), o);
}

}  // namespace kscope::test
