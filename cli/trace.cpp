// `kscope trace <tool>`: one-shot tracing. The subcommands, their flags, --help and
// `trace --list` are built from the tool registry; this file knows no tool by name.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "base/log.h"
#include "bpf/capabilities.h"
#include "commands.h"
#include "doctor/doctor.h"
#include "filter/task_filter.h"
#include "registry/registry.h"
#include "render/time_format.h"

namespace kscope::cli {
namespace {

// The flags every tool takes.
struct CommonFlags {
  TaskFlags task;
  std::optional<std::string> hook;
  std::optional<double> duration;
  std::optional<double> interval;
  std::optional<uint64_t> count;
  std::string format = "table";
  uint64_t buffer_size = 16u << 20;
  std::string replay, record;
};

// CLI11's PositiveNumber prints its range as a 300-digit double; this says it in words.
const CLI::Validator kPositive(
    [](const std::string& s) -> std::string {
      try {
        size_t used = 0;
        if (!s.empty() && s[0] != '-' && std::stod(s, &used) > 0 && used == s.size()) return {};
      } catch (const std::exception&) {
      }
      return "'" + s + "' is not a number above 0";
    },
    "POSITIVE");

void add_common(CLI::App& cmd, CommonFlags& f, bool aggregating) {
  cmd.add_option("-p,--pid", f.task.pid, "Only this process (host pid)");
  cmd.add_option("-u,--uid", f.task.uid, "Only this user id");
  cmd.add_option("-c,--comm", f.task.comm, "Only tasks with this command name (up to 15 bytes)");
  cmd.add_option("--cgroup", f.task.cgroup, "Only this cgroup v2 (path or id)");
  cmd.add_option("-d,--duration", f.duration, "Stop after this many seconds")->check(kPositive);
  if (aggregating) {
    cmd.add_option("-i,--interval", f.interval,
                   "Print (and reset) the counts every this many seconds; without it, once at the end")
        ->check(kPositive);
    cmd.add_option("-n,--count", f.count, "Stop after this many intervals")->check(kPositive);
  } else {
    cmd.add_option("-n,--count", f.count, "Stop after this many events")->check(kPositive);
  }
  cmd.add_option("-o,--output", f.format, "Output: table, or json (NDJSON, one object per line)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd.add_option("--hook", f.hook, "Use this hook alternative instead of the first that works");
  cmd.add_option("--buffer-size", f.buffer_size,
                 "Ring buffer bytes (power of two; default 16777216)");
  cmd.add_option("--record", f.record, "Also write the raw records to FILE, for --replay");
  cmd.add_option("--replay", f.replay, "Read records from FILE instead of the kernel");
}

// The tool's own flags, from its FlagSpecs: each validated here, once.
void add_tool_flags(CLI::App& cmd, const Tool& tool, ToolArgs& args) {
  auto specs = tool.flags();
  for (size_t i = 0; i < specs.size(); ++i) {
    const FlagSpec& s = specs[i];
    auto& slot = args.slot_at(i);
    std::string names(s.names), help(s.help);
    switch (s.kind) {
      case FlagKind::boolean: cmd.add_flag(names, slot.on, help); break;
      case FlagKind::number:
        cmd.add_option(names, slot.number, fmt::format("{} ({}..{}, default {})", help, s.min, s.max, s.def))
            ->check(CLI::Range(s.min, s.max));
        break;
      case FlagKind::text: cmd.add_option(names, slot.text, help); break;
    }
  }
}

std::string tool_footer(const Tool& tool) {
  std::string columns, keys;
  for (const auto& f : tool.fields()) {
    if (!f.column.empty()) columns += fmt::format(" {}", f.column);
    keys += fmt::format(" {}", f.key);
  }
  std::string s = fmt::format("Columns:{}\nJSON keys: type{}\nHooks, in order of preference:", columns, keys);
  for (const auto& h : tool.hooks()) s += fmt::format("\n  {:<11} {}", h.name, h.attach_points);
  s += "\nExamples:";
  for (auto e : tool.info().examples) s += fmt::format("\n  {}", e);
  return s;
}

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

TraceOptions trace_options(const CommonFlags& f, bool aggregating) {
  TraceOptions o;
  o.format = f.format == "json" ? Format::json : Format::table;
  o.count = f.count;
  if (f.duration) o.duration = ms(*f.duration);
  if (f.interval) o.interval = ms(*f.interval);
  o.aggregating = aggregating;
  return o;
}

void print_summary(const Tool& t, const TraceStats& s) {
  std::string_view tool = t.info().name;
  std::string counted;  // the tool's own counters that counted anything: ", 2 argv_missing"
  for (const auto& [kind, n] : s.counted)
    if (n) counted += fmt::format(", {} {}", n, kind);
  fmt::print(stderr, "kscope: trace {}: {}{} {} shown, {} lost{}{}{}{}{}{}\n", tool,
             s.intervals ? fmt::format("{} interval{}, ", s.intervals, s.intervals == 1 ? "" : "s") : "",
             s.shown, t.aggregates() ? "rows" : "events", s.lost, s.missed ? fmt::format(", {} missed", s.missed) : "", counted,
             s.partial ? fmt::format(", {} partly read", s.partial) : "",
             s.malformed ? fmt::format(", {} malformed", s.malformed) : "",
             s.signal ? fmt::format(" (stopped by signal {})", s.signal) : "",
             s.output_closed ? " (output closed)" : "");
}

int run_tool(const Tool& tool, const CommonFlags& f, const ToolArgs& args) {
  std::string_view name = tool.info().name;
  if (f.interval && *f.interval < 0.1)
    return report(Error{fmt::format("--interval {}: the shortest interval is 0.1 s", *f.interval),
                        "counts are read every 100 ms; pick --interval 0.1 or more"});
  Filter filter;
  if (auto r = add_task_clauses(f.task, filter); !r) return report(r.error());
  if (auto r = tool.add_clauses(args, filter); !r) return report(r.error());
  if (f.hook)
    if (auto alt = find_hook(name, tool.hooks(), *f.hook); !alt) return report(alt.error());
  if (auto v = validate_ring_bytes(f.buffer_size); !v) return report(v.error());

  std::optional<ReplayFile> replay;
  if (!f.replay.empty()) {
    auto file = ReplayFile::open(f.replay);
    if (!file) return report(file.error());
    if (file->header().tool != name)
      return report(Error{fmt::format("{} was recorded by trace {}, not trace {}", f.replay,
                                      file->header().tool, name),
                          fmt::format("replay it with: kscope trace {} --replay {}",
                                      file->header().tool, f.replay)});
    use_boot_wall_offset(file->header().boot_wall_offset_ns);
    replay.emplace(std::move(*file));
  }
  std::optional<RecordWriter> recorder;
  if (!f.record.empty()) {
    auto w = RecordWriter::create(f.record, name,
                                  replay ? replay->header().boot_wall_offset_ns
                                         : this_boot_wall_offset_ns());
    if (!w) return report(w.error());
    recorder.emplace(std::move(*w));
  }

  std::unique_ptr<LiveProbe> probe;
  if (!replay) {
    if (auto p = require_tracing_privileges(); !p) return report(p.error());
    ProbeSetup setup{.tool = name, .filter = &filter, .hook = f.hook,
                     .ring_bytes = static_cast<uint32_t>(f.buffer_size),
                     .wakeup_bytes = static_cast<uint32_t>(f.buffer_size / 4)};
    auto opened = tool.open(setup, args);
    if (!opened) return report(opened.error());
    probe = std::move(*opened);
    log::info("trace {}: attached via {} ({})", name, probe->hook().name, probe->hook().attach_points);
    // Attached: reading ring buffers and maps through the fds held needs no capability
    // (Linux 5.19 and later ask for CAP_BPF only to create maps and load programs); naming
    // stack frames reads other processes and kallsyms.
    give_up_capabilities(fmt::format("trace {}", name),
                         tool.symbolizes() ? cap_bit(CAP_SYS_PTRACE) |
                                                      cap_bit(CAP_DAC_READ_SEARCH) |
                                                      cap_bit(CAP_SYSLOG)
                                                : 0);
  }

  Output out(STDOUT_FILENO);
  const TraceOptions options = trace_options(f, tool.aggregates());
  auto sink = tool.sink(options, out, args, filter, /*live=*/probe != nullptr);
  if (!sink) return report(sink.error());
  if (recorder) (*sink)->set_recorder(&*recorder);
  SnapshotFn snapshot;
  if (probe && tool.aggregates())
    snapshot = [&](RecordSink& s) { return tool.snapshot(*probe, args, s); };
  auto stats = probe ? run_live(*probe, **sink, options, snapshot) : run_replay(*replay, **sink);
  if (!stats) return report(stats.error());
  if (recorder)
    if (auto closed = recorder->close(); !closed) return report(closed.error());
  print_summary(tool, *stats);
  return 0;
}

void add_tool(CLI::App& trace, const Tool& tool, Command& run) {
  auto* cmd = trace.add_subcommand(std::string(tool.info().name), std::string(tool.info().summary));
  auto flags = std::make_shared<CommonFlags>();
  auto args = std::make_shared<ToolArgs>(tool.flags());
  add_common(*cmd, *flags, tool.aggregates());
  add_tool_flags(*cmd, tool, *args);
  cmd->footer(tool_footer(tool));
  cmd->callback([&run, &tool, flags, args] {
    run = [&tool, flags, args] { return run_tool(tool, *flags, *args); };
  });
}

// `kscope trace --list`: every tool, the hook it will use on this kernel, and why.
int list_tools() {
  fmt::memory_buffer out;
  const size_t w = tool_column_width();
  fmt::format_to(std::back_inserter(out), "{:<{}}{:<12}{}\n", "TOOL", w, "HOOK", "WHY");
  bool privileged = require_tracing_privileges().has_value();
  for (const auto& row : doctor::tool_rows(Features::system())) {
    std::string_view name = row.tool->info().name;
    if (!privileged) {
      fmt::format_to(std::back_inserter(out), "{:<{}}{:<12}{}\n", name, w, "?",
                     "not probed: needs CAP_BPF and CAP_PERFMON (run as root)");
      continue;
    }
    const auto* chosen = row.chosen();
    if (!chosen) {
      fmt::format_to(std::back_inserter(out), "{:<{}}{:<12}{}\n", name, w, "none", row.why_none());
      continue;
    }
    std::string why;
    for (const auto& a : row.alternatives) {
      if (&a == chosen) break;
      why += fmt::format("{} skipped: {}; ", a.alt->name, a.feature.reason);
    }
    why += fmt::format("{} {} ({})", chosen->alt->name,
                       why.empty() ? "is the first choice and works here" : "works here",
                       chosen->alt->attach_points);
    if (chosen->inexact) why += fmt::format("; inexact here: {}", *chosen->inexact);
    fmt::format_to(std::back_inserter(out), "{:<{}}{:<12}{}\n", name, w, chosen->alt->name, why);
    fmt::format_to(std::back_inserter(out), "{:<{}}{:<12}{}\n", "", w, "",
                   row.tool->info().summary);
  }
  fmt::print("{}", fmt::to_string(out));
  return 0;
}

}  // namespace

void add_trace(CLI::App& app, Command& run) {
  auto* trace = app.add_subcommand("trace", "One-shot tracing: print events, then exit");
  auto list = std::make_shared<bool>(false);
  trace->add_flag("-l,--list", *list, "List every tool and the hook it will use on this kernel");
  std::string examples = "Examples:\n  kscope trace --list";
  for (const Tool* tool : all_tools()) {
    examples += fmt::format("\n  {}", tool->info().examples.front());
    add_tool(*trace, *tool, run);
  }
  trace->footer(examples);
  trace->require_subcommand(0, 1);
  trace->allow_extras();  // a word that names no tool: said below, with the tools there are
  trace->callback([trace, list, &run] {
    if (*list) {
      run = list_tools;
      return;
    }
    if (!trace->remaining().empty()) {
      std::string word = trace->remaining().front(), names;
      for (const Tool* tool : all_tools())
        names += fmt::format("{}{}", names.empty() ? "" : " ", tool->info().name);
      run = [word, names] {
        report(Error{fmt::format("trace has no tool '{}'", word),
                     fmt::format("the tools are: {} (`kscope trace --list` says which work here)", names)});
        return 2;
      };
      return;
    }
    if (trace->get_subcommands().empty())
      throw CLI::RequiredError("a tool: kscope trace <tool>, or kscope trace --list");
  });
}

}  // namespace kscope::cli
