// `kscope doctor`: prints the report collector/doctor builds, as a table or as JSON.
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "doctor/doctor.h"
#include "registry/registry.h"
#include "render/json_writer.h"
#include "render/output.h"

namespace kscope::cli {
namespace {

using doctor::Report;

void render_table(const Report& r, fmt::memory_buffer& out) {
  auto line = [&](std::string_view key, std::string_view value) {
    fmt::format_to(std::back_inserter(out), "{:<14}{}\n", key, value);
  };
  line("kernel", fmt::format("{} ({})", r.release, r.machine));
  const auto& btf = r.feature(Hook::btf);
  line("btf", fmt::format("{}: {}", btf.works ? "works" : "MISSING", btf.reason));
  if (r.tracefs)
    line("tracefs", fmt::format("{} ({})", r.tracefs->path,
                                r.tracefs->mounted_by_us ? "mounted by kscope just now"
                                                         : "already mounted"));
  else
    line("tracefs", fmt::format("MISSING: {} (hint: {})", r.tracefs.error().message,
                                r.tracefs.error().hint));
  if (r.bpffs)
    line("bpffs", *r.bpffs);
  else
    line("bpffs", fmt::format("{} (hint: {})", r.bpffs.error().message, r.bpffs.error().hint));

  std::string caps;
  for (const auto& n : doctor::needed_caps())
    caps += fmt::format("{}{} {}", caps.empty() ? "" : ", ", doctor::cap_name(n.cap),
                        r.caps.has(n.cap) ? "yes" : "no");
  line("capabilities", caps);
  std::vector<std::string> held, lacking;
  for (int c = 0; c <= r.last_cap; ++c)
    (r.caps.has(c) ? held : lacking).push_back(doctor::cap_name(c));
  line("", fmt::format("CapEff {:#018x}: {} of {} held{}", r.caps.effective, held.size(),
                       r.last_cap + 1,
                       lacking.empty() || held.empty() ? ""
                       : held.size() >= lacking.size()
                           ? fmt::format(", all but {}", fmt::join(lacking, ", "))
                           : fmt::format(": {}", fmt::join(held, ", "))));

  fmt::format_to(std::back_inserter(out), "\n{:<12}{:<9}{}\n", "HOOK", "STATUS", "DETAIL");
  for (const auto& [hook, result] : r.hooks)
    fmt::format_to(std::back_inserter(out), "{:<12}{:<9}{}\n", hook_name(hook),
                   result->works ? "works" : "missing", result->reason);

  const size_t w = tool_column_width();
  fmt::format_to(std::back_inserter(out), "\n{:<{}}{:<12}{}\n", "TOOL", w, "HOOK", "ATTACH POINTS");
  for (const auto& t : r.tools) {
    const auto* chosen = t.chosen();
    if (!chosen) {
      fmt::format_to(std::back_inserter(out), "{:<{}}{:<12}{}\n", t.tool->info().name, w, "none",
                     t.why_none());
      continue;
    }
    fmt::format_to(std::back_inserter(out), "{:<{}}{:<12}{}\n", t.tool->info().name, w,
                   chosen->alt->name, chosen->alt->attach_points);
    for (const auto& a : t.alternatives) {
      if (a.inexact && a.feature.works)
        fmt::format_to(std::back_inserter(out), "{:<{}}  {} is inexact here, so tried late: {}\n",
                       "", w, a.alt->name, *a.inexact);
      if (a.status == "skipped")
        fmt::format_to(std::back_inserter(out), "{:<{}}  skipped {}: missing: {}\n", "", w,
                       a.alt->name, a.feature.reason);
      else if (a.status == "fallback")
        fmt::format_to(std::back_inserter(out), "{:<{}}  fallback {} ({}): {}\n", "", w,
                       a.alt->name, a.feature.works ? "works" : "missing", a.alt->attach_points);
    }
  }
}

void error_member(JsonWriter& j, std::string_view key, const std::optional<Error>& e) {
  j.key(key);
  if (!e) {
    j.null();
    return;
  }
  j.begin_object().member("message", e->message).member("hint", e->hint).end_object();
}

void render_json(const Report& r, fmt::memory_buffer& out) {
  JsonWriter j(out, 2);
  j.begin_object().member("ok", !r.fatal);
  error_member(j, "error", r.fatal);
  j.key("kernel").begin_object().member("release", r.release).member("machine", r.machine);
  j.end_object();

  const auto& btf = r.feature(Hook::btf);
  j.key("btf").begin_object().member("path", doctor::kBtfPath).member("works", btf.works);
  j.member("detail", btf.reason).end_object();

  j.key("tracefs").begin_object().member("ok", r.tracefs.has_value());
  j.key("path");
  r.tracefs ? j.value(r.tracefs->path) : j.null();
  j.member("mounted_by_us", r.tracefs && r.tracefs->mounted_by_us);
  if (!r.tracefs) error_member(j, "error", r.tracefs.error());
  j.end_object();

  j.key("bpffs").begin_object().member("ok", r.bpffs.has_value()).key("path");
  r.bpffs ? j.value(*r.bpffs) : j.null();
  if (!r.bpffs) error_member(j, "error", r.bpffs.error());
  j.end_object();

  j.key("capabilities").begin_object();
  j.member("effective", fmt::format("{:#018x}", r.caps.effective));
  j.member("tracing_allowed", require_tracing_privileges(r.caps).has_value());
  j.key("needed").begin_object();
  for (const auto& n : doctor::needed_caps())
    j.key(doctor::cap_name(n.cap)).begin_object().member("held", r.caps.has(n.cap))
        .member("for", n.why).end_object();
  j.end_object();
  j.key("held").begin_array();
  for (int c = 0; c < 64; ++c)
    if (r.caps.has(c)) j.value(doctor::cap_name(c));
  j.end_array();
  j.key("missing").begin_array();
  for (int c = 0; c <= r.last_cap; ++c)
    if (!r.caps.has(c)) j.value(doctor::cap_name(c));
  j.end_array();
  j.end_object();

  j.key("hooks").begin_object();
  for (const auto& [hook, result] : r.hooks)
    j.key(hook_name(hook)).begin_object().member("works", result->works)
        .member("reason", result->reason).end_object();
  j.end_object();

  j.key("tools").begin_object();
  for (const auto& t : r.tools) {
    const auto* chosen = t.chosen();
    j.key(t.tool->info().name).begin_object().key("hook");
    chosen ? j.value(chosen->alt->name) : j.null();
    j.key("attach_points");
    chosen ? j.value(chosen->alt->attach_points) : j.null();
    error_member(j, "error",
                 chosen ? std::nullopt
                        : std::optional<Error>(Error{
                              fmt::format("trace {} cannot attach on this kernel ({})",
                                          t.tool->info().name, t.why_none()),
                              "`kscope doctor` shows which hook types this kernel supports"}));
    j.key("alternatives").begin_array();
    for (const auto& a : t.alternatives) {
      j.begin_object()
          .member("name", a.alt->name)
          .member("hook", hook_name(a.alt->hook))
          .member("status", a.status)
          .member("works", a.feature.works)
          .member("reason", a.feature.reason);
      j.key("inexact");
      if (a.inexact) j.value(*a.inexact);
      else j.null();
      j.end_object();
    }
    j.end_array().end_object();
  }
  j.end_object();
  j.end_object().end_line();
}

int run_doctor(const std::string& format) {
  Report r = doctor::collect();
  {
    Output out(STDOUT_FILENO);
    if (format == "json")
      render_json(r, out.buffer());
    else
      render_table(r, out.buffer());
  }
  return r.fatal ? report(*r.fatal) : 0;
}

}  // namespace

void add_doctor(CLI::App& app, Command& run) {
  auto* cmd = app.add_subcommand(
      "doctor", "Check what this kernel supports: hooks, BTF, tracefs, capabilities, per tool");
  auto format = std::make_shared<std::string>("table");
  cmd->add_option("-o,--output", *format, "Output: table, or json (one object)")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->footer(
      "Each hook type is tested by loading and attaching a tiny program (network hooks only\n"
      "inside a private network namespace or a temporary cgroup). Exits 1 when kscope cannot\n"
      "work here at all (no privileges, no BTF, no ring buffers, no tracepoints).\n"
      "Examples:\n"
      "  kscope doctor\n"
      "  kscope doctor -o json | jq .hooks\n"
      "  kscope -v doctor          # also show libbpf's messages");
  cmd->callback([&run, format] { run = [format] { return run_doctor(*format); }; });
}

}  // namespace kscope::cli
