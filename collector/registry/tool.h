// A trace tool, as the CLI, `trace --list`, doctor, the tests and the fuzzers see it: one
// type-erased interface over the declaration in the tool's one file, collector/tools/NAME.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "filter/filter.h"
#include "model/event_record.h"
#include "model/field.h"
#include "pipeline/trace_run.h"
#include "sources/hooks.h"
#include "sources/probe.h"

namespace kscope {

enum class FlagKind { boolean, number, text };

// One of a tool's own flags. The CLI turns the spec into an option with its validator (the
// range below), so each flag is declared and validated in one place.
struct FlagSpec {
  std::string_view names;  // CLI11 style: "-x,--failed", "--max-args"
  std::string_view help;
  FlagKind kind = FlagKind::boolean;
  uint64_t min = 0, max = 0, def = 0;  // FlagKind::number: the accepted range and the default
};

// The values of a tool's own flags, one slot per FlagSpec, looked up by the flag's long name.
class ToolArgs {
 public:
  struct Slot {
    bool on = false;
    uint64_t number = 0;
    std::string text;
  };
  explicit ToolArgs(std::span<const FlagSpec> specs);
  bool flag(std::string_view long_name) const { return slot(long_name).on; }
  uint64_t number(std::string_view long_name) const { return slot(long_name).number; }
  const std::string& text(std::string_view long_name) const { return slot(long_name).text; }
  Slot& slot_at(size_t i) { return slots_[i]; }
  Slot& set(std::string_view long_name) { return const_cast<Slot&>(slot(long_name)); }

 private:
  const Slot& slot(std::string_view long_name) const;
  std::span<const FlagSpec> specs_;
  std::vector<Slot> slots_;
};

// "--max-args" for "-n,--max-args".
std::string_view long_name(const FlagSpec& spec);

struct ToolInfo {
  std::string_view name;     // "exec" -> `kscope trace exec`
  std::string_view summary;  // one line, for --help and --list
  std::vector<std::string_view> examples;
};

class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolInfo& info() const = 0;
  // Whether it reads other processes after attaching (their /proc/PID/maps and binaries, and
  // /proc/kallsyms, to name stack frames): `kscope trace` keeps CAP_SYS_PTRACE,
  // CAP_DAC_READ_SEARCH and CAP_SYSLOG for such a tool, and no capability for the others.
  virtual bool symbolizes() const { return false; }
  virtual std::span<const FlagSpec> flags() const = 0;
  virtual std::span<const HookAlternative> hooks() const = 0;
  virtual std::vector<FieldInfo> fields() const = 0;
  // The probe's own counters of what it could not count or send (besides lost_events).
  virtual std::span<const ProbeCounter> counters() const = 0;
  // Adds the clauses the tool's own flags mean (e.g. --failed, --path) to the run's filter.
  virtual Result<void> add_clauses(const ToolArgs& args, Filter& filter) const = 0;
  // Loads and attaches the probe; the probe claims the clauses it compiles.
  virtual Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args) const = 0;
  // The pipeline for this tool's records: decode, what `filter` leaves to user space (all of
  // it when `live` is false: a replay has no probe), render.
  virtual Result<std::unique_ptr<TraceSinkBase>> sink(const TraceOptions& options, Output& out,
                                                      const ToolArgs& args, const Filter& filter,
                                                      bool live) const = 0;
  // One record decoded into owned field values: for tests and fuzzing.
  virtual Result<EventRecord> decode(std::span<const std::byte> record,
                                     const ToolArgs& args) const = 0;
  // An aggregating tool counts in its probe's maps instead of sending records.
  virtual bool aggregates() const = 0;
  // What the maps hold now, as records into `sink`, and the maps emptied for the next
  // interval. Only for a tool that aggregates().
  virtual Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) const = 0;
};

// An aggregating probe still has the common ring buffer (and its lost_events), written by
// nothing: one page is enough.
inline constexpr uint32_t kAggregatingRingBytes = 4096;

// What a tool's file declares; ToolDef turns it into a Tool.
template <class Event>
struct ToolSpec {
  using Decode = std::function<Result<Event>(std::span<const std::byte>)>;
  ToolInfo info;
  std::span<const FlagSpec> flags;
  std::vector<HookAlternative> hooks;
  std::span<const Field<Event>> fields;
  Result<void> (*add_clauses)(const ToolArgs&, Filter&);
  Decode (*decoder)(const ToolArgs&);  // may capture the tool's limits
  Result<std::unique_ptr<LiveProbe>> (*open)(ProbeSetup&, const ToolArgs&,
                                             std::span<const HookAlternative>);
  bool (*partial)(const Event&) = nullptr;  // flagged as partly read by the probe
  std::span<const ProbeCounter> counters = {};  // the probe's own counters, reported
  // Aggregating tools (histograms, top-N tables, per-connection counts): the probe counts in
  // its maps and sends no records. Every --interval, and once at the end, the run calls
  // snapshot(), which reads the maps into records of the tool's own layout (the common
  // header first, ts_ns the time of the snapshot, CLOCK_BOOTTIME), hands each to the sink,
  // and empties the maps. The records then take the same road as ring buffer records:
  // decoder, filter, renderer, --record and --replay. --count counts intervals.
  Result<void> (*snapshot)(LiveProbe&, const ToolArgs&, RecordSink&) = nullptr;
};

template <class Event>
class ToolDef final : public Tool {
 public:
  explicit ToolDef(ToolSpec<Event> spec) : s_(std::move(spec)) {}
  const ToolInfo& info() const override { return s_.info; }
  std::span<const FlagSpec> flags() const override { return s_.flags; }
  std::span<const HookAlternative> hooks() const override { return s_.hooks; }
  std::vector<FieldInfo> fields() const override { return field_infos(s_.fields); }
  std::span<const ProbeCounter> counters() const override { return s_.counters; }
  Result<void> add_clauses(const ToolArgs& args, Filter& filter) const override {
    return s_.add_clauses(args, filter);
  }
  Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs& args) const override {
    if (s_.snapshot) setup.ring_bytes = kAggregatingRingBytes;
    return s_.open(setup, args, s_.hooks);
  }
  bool aggregates() const override { return s_.snapshot != nullptr; }
  Result<void> snapshot(LiveProbe& probe, const ToolArgs& args, RecordSink& sink) const override {
    if (!s_.snapshot) return fail(fmt::format("trace {} does not aggregate", s_.info.name));
    return s_.snapshot(probe, args, sink);
  }
  Result<std::unique_ptr<TraceSinkBase>> sink(const TraceOptions& options, Output& out,
                                              const ToolArgs& args, const Filter& filter,
                                              bool live) const override {
    auto compiled = CompiledFilter<Event>::compile(filter, s_.fields, live);
    if (!compiled) return std::unexpected(compiled.error());
    return std::make_unique<TraceSink<Event>>(options, out, s_.info.name, s_.fields,
                                              s_.decoder(args), std::move(*compiled), s_.partial,
                                              s_.counters);
  }
  Result<EventRecord> decode(std::span<const std::byte> record, const ToolArgs& args) const override {
    auto e = s_.decoder(args)(record);
    if (!e) return std::unexpected(e.error());
    return to_record(*e, s_.fields);
  }

 private:
  ToolSpec<Event> s_;
};

}  // namespace kscope
