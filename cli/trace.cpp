// `kscope trace <tool>`: one-shot tracing. Every tool takes the same task filters, stop
// conditions and output options; the tool table supplies names, summaries and examples.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "bpf/capabilities.h"
#include "bpf/log.h"
#include "commands.h"
#include "filter/task_filter.h"
#include "pipeline/trace_run.h"
#include "sources/exec_source.h"
#include "sources/open_source.h"
#include "tools.h"

namespace kscope::cli {
namespace {

struct CommonFlags {
  std::optional<uint32_t> pid, uid;
  std::optional<std::string> comm, cgroup, hook;
  bool failed = false;
  std::optional<double> duration;
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

void add_common(CLI::App& cmd, CommonFlags& f, std::string_view failed_help) {
  cmd.add_option("-p,--pid", f.pid, "Only this process (host pid)");
  cmd.add_option("-u,--uid", f.uid, "Only this user id");
  cmd.add_option("-c,--comm", f.comm, "Only tasks with this command name (up to 15 bytes)");
  cmd.add_option("--cgroup", f.cgroup, "Only this cgroup v2 (path or id)");
  cmd.add_flag("-x,--failed", f.failed, std::string(failed_help));
  cmd.add_option("-d,--duration", f.duration, "Stop after this many seconds")
      ->check(kPositive);
  cmd.add_option("-n,--count", f.count, "Stop after this many events")->check(kPositive);
  cmd.add_option("-o,--output", f.format, "Output: table, or json (NDJSON, one object per line)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd.add_option("--hook", f.hook, "Use this hook alternative instead of the first that works");
  cmd.add_option("--buffer-size", f.buffer_size,
                 "Ring buffer bytes (power of two; default 16777216)");
  cmd.add_option("--record", f.record, "Also write the raw records to FILE, for --replay");
  cmd.add_option("--replay", f.replay, "Read records from FILE instead of the kernel");
}

Result<ProbeConfig> probe_config(const ToolSpec& tool, const CommonFlags& f) {
  ProbeConfig c;
  c.filter.tgid = f.pid;
  c.filter.uid = f.uid;
  if (f.comm) {
    auto comm = parse_comm(*f.comm);
    if (!comm) return std::unexpected(comm.error());
    c.filter.comm = *comm;
  }
  if (f.cgroup) {
    auto id = resolve_cgroup(*f.cgroup);
    if (!id) return std::unexpected(id.error());
    c.filter.cgroup_id = *id;
  }
  if (f.pid && *f.pid == 0) return fail("--pid 0 matches nothing", "give a process id above 0");
  c.failed = f.failed;
  c.hook = f.hook;
  if (f.hook)
    if (auto alt = find_hook(tool, *f.hook); !alt) return std::unexpected(alt.error());
  if (auto v = validate_ring_bytes(f.buffer_size); !v) return std::unexpected(v.error());
  c.ring_bytes = static_cast<uint32_t>(f.buffer_size);
  c.wakeup_bytes = c.ring_bytes / 4;
  return c;
}

TraceOptions trace_options(const CommonFlags& f) {
  TraceOptions o;
  o.format = f.format == "json" ? Format::json : Format::table;
  o.count = f.count;
  if (f.duration)
    o.duration = std::chrono::milliseconds(static_cast<int64_t>(*f.duration * 1000));
  return o;
}

void print_summary(std::string_view tool, const TraceStats& s) {
  fmt::print(stderr, "kscope: trace {}: {} events shown, {} lost{}{}\n", tool, s.shown, s.lost,
             s.malformed ? fmt::format(", {} malformed", s.malformed) : "",
             s.signal ? fmt::format(" (stopped by signal {})", s.signal) : "");
}

// The run shared by every tool: the live probe (or a replay), the sink, the summary.
int run_trace(std::string_view tool, const CommonFlags& f, const TraceOptions& options,
              TraceSinkBase& sink, const std::function<Result<std::unique_ptr<LiveProbe>>()>& open) {
  std::optional<RecordWriter> recorder;
  if (!f.record.empty()) {
    auto w = RecordWriter::create(f.record);
    if (!w) return report(w.error());
    recorder.emplace(std::move(*w));
    sink.set_recorder(&*recorder);
  }
  Result<TraceStats> stats;
  if (!f.replay.empty()) {
    stats = run_replay(f.replay, sink);
  } else {
    if (auto p = require_tracing_privileges(); !p) return report(p.error());
    auto probe = open();
    if (!probe) return report(probe.error());
    log::info("trace {}: attached via {} ({})", tool, (*probe)->hook().name,
              (*probe)->hook().attach_points);
    stats = run_live(**probe, sink, options);
  }
  if (!stats) return report(stats.error());
  if (recorder)
    if (auto closed = recorder->close(); !closed) return report(closed.error());
  print_summary(tool, *stats);
  return 0;
}

// One trace tool's run: the shared flags, its decoder, its live probe, and `extra`: the
// tool's own filters (--failed, ...) in user space, for a replay, which bypasses the probe.
template <class Event>
int run_tool(const ToolSpec& spec, const CommonFlags& flags, std::span<const Field<Event>> fields,
             typename TraceSink<Event>::Decode decode, std::function<bool(const Event&)> extra,
             const std::function<Result<std::unique_ptr<LiveProbe>>(const ProbeConfig&)>& open) {
  auto config = probe_config(spec, flags);
  if (!config) return report(config.error());
  Output out(STDOUT_FILENO);
  const TraceOptions options = trace_options(flags);
  typename TraceSink<Event>::Keep keep;
  if (!flags.replay.empty())
    keep = [filter = config->filter, extra](const Event& e) {
      return filter.matches(e.hdr) && extra(e);
    };
  TraceSink<Event> sink(options, out, spec.name, fields, std::move(decode), std::move(keep));
  return run_trace(spec.name, flags, options, sink, [&] { return open(*config); });
}

void add_exec(CLI::App& trace, Command& run) {
  const ToolSpec& spec = *find_tool("exec");
  auto* cmd = trace.add_subcommand(std::string(spec.name), std::string(spec.summary));
  auto flags = std::make_shared<CommonFlags>();
  auto limits = std::make_shared<ArgLimits>();
  add_common(*cmd, *flags, "Also show failed execs (by default only successful ones)");
  cmd->add_option("--max-args", limits->max_args, "Show at most this many arguments (default 128)");
  cmd->add_option("--max-arg-len", limits->max_arg_len,
                  "Cut each argument to this many bytes (default 1024)");
  cmd->footer(fmt::format(
      "Columns: TIME PCOMM PID PPID UID RET ARGS. A cut argv ends in '...' (JSON: args_truncated).\n"
      "Examples:\n  kscope trace exec\n  {}\n  kscope trace exec -o json --count 10", spec.example));
  cmd->callback([&run, &spec, flags, limits] {
    run = [&spec, flags, limits]() -> int {
      if (auto v = validate(*limits); !v) return report(v.error());
      return run_tool<ExecEvent>(
          spec, *flags, exec_fields(),
          [l = *limits](std::span<const std::byte> r) { return decode_exec(r, l); },
          [failed = flags->failed](const ExecEvent& e) { return exec_wanted(e, failed); },
          [limits](const ProbeConfig& c) { return open_exec_probe(c, *limits); });
    };
  });
}

void add_open(CLI::App& trace, Command& run) {
  const ToolSpec& spec = *find_tool("open");
  auto* cmd = trace.add_subcommand(std::string(spec.name), std::string(spec.summary));
  auto flags = std::make_shared<CommonFlags>();
  auto prefix = std::make_shared<std::string>();
  add_common(*cmd, *flags, "Only failed opens");
  cmd->add_option("--path", *prefix, "Only paths that start with PREFIX (as passed to open)");
  cmd->footer(fmt::format(
      "Columns: TIME PID COMM UID FD ERR FLAGS MODE PATH. FD is -1 when the open failed.\n"
      "Examples:\n  kscope trace open\n  {}\n  kscope trace open --comm nginx -o json",
      spec.example));
  cmd->callback([&run, &spec, flags, prefix] {
    run = [&spec, flags, prefix]() -> int {
      if (auto v = validate_path_prefix(*prefix); !v) return report(v.error());
      return run_tool<OpenEvent>(
          spec, *flags, open_fields(), decode_open,
          [failed = flags->failed, p = *prefix](const OpenEvent& e) {
            return open_wanted(e, failed, p);
          },
          [prefix](const ProbeConfig& c) { return open_open_probe(c, *prefix); });
    };
  });
}

}  // namespace

void add_trace(CLI::App& app, Command& run) {
  auto* trace = app.add_subcommand("trace", "One-shot tracing: print events, then exit");
  trace->require_subcommand(1);
  std::string examples = "Examples:";
  for (const auto& tool : tool_table()) examples += fmt::format("\n  {}", tool.example);
  trace->footer(examples);
  add_exec(*trace, run);
  add_open(*trace, run);
}

}  // namespace kscope::cli
