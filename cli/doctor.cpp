// `kscope doctor`: what this kernel and this process allow, found by really loading and
// attaching a tiny program per hook type, and which hook every tool will use here and why.
#include <linux/capability.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bpf/capabilities.h"
#include "bpf/features.h"
#include "bpf/tracefs.h"
#include "commands.h"
#include "render/json.h"
#include "render/output.h"
#include "tools.h"

namespace kscope::cli {
namespace {

constexpr const char* kBtfPath = "/sys/kernel/btf/vmlinux";

constexpr std::array<const char*, 41> kCapNames = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",         "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",      "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",     "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",   "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",          "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",   "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",  "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

// The capabilities kscope's work touches, and what each is for.
struct NeededCap {
  int cap;
  const char* why;
};
constexpr std::array<NeededCap, 6> kNeededCaps = {{
    {CAP_BPF, "load BPF programs, create maps"},
    {CAP_PERFMON, "attach tracing and perf_event programs"},
    {CAP_SYS_ADMIN, "all of the above on kernels before 5.8; mount tracefs"},
    {CAP_NET_ADMIN, "attach tc and xdp programs"},
    {CAP_SYS_RESOURCE, "raise the memlock limit on kernels without memcg accounting"},
    {CAP_SYS_PTRACE, "read other processes' /proc entries for enrichment"},
}};

std::string cap_name(int cap) {
  return cap >= 0 && cap < static_cast<int>(kCapNames.size()) ? kCapNames[cap]
                                                              : fmt::format("cap_{}", cap);
}

int kernel_last_cap() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int last = static_cast<int>(kCapNames.size()) - 1;
  f >> last;
  return last < 0 || last > 63 ? 63 : last;
}

// One alternative of a tool, as doctor explains it.
struct AlternativeRow {
  const HookAlternative* alt;
  const FeatureResult* feature;
  // "chosen"; "skipped" (missing, before the chosen one); "fallback" (after it); "missing"
  // (none works)
  std::string status;
};

struct ToolRow {
  const ToolSpec* tool;
  Result<const HookAlternative*> chosen;
  std::vector<AlternativeRow> alternatives;
};

struct Report {
  std::string release, machine;
  Result<TracefsStatus> tracefs;
  Result<std::string> bpffs;
  Capabilities caps;
  int last_cap = 40;
  std::vector<std::pair<Hook, const FeatureResult*>> hooks;
  std::vector<ToolRow> tools;
  std::optional<Error> fatal;  // why kscope cannot work here at all
};

const FeatureResult& feature(const Report& r, Hook h) {
  for (const auto& [hook, result] : r.hooks)
    if (hook == h) return *result;
  static const FeatureResult kNone{false, "not probed"};
  return kNone;
}

// The first reason kscope cannot work here at all, if any.
std::optional<Error> fatal_reason(const Report& r) {
  if (auto p = require_tracing_privileges(r.caps); !p) return p.error();
  if (const auto& btf = feature(r, Hook::btf); !btf.works)
    return Error{"kernel BTF is missing: " + btf.reason,
                 "kscope needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (it provides "
                 "/sys/kernel/btf/vmlinux)"};
  if (const auto& rb = feature(r, Hook::ringbuf); !rb.works)
    return Error{"BPF ring buffers do not work: " + rb.reason,
                 "kscope needs Linux 5.8 or newer (BPF_MAP_TYPE_RINGBUF)"};
  const auto& tp = feature(r, Hook::tracepoint);
  if (!tp.works && !feature(r, Hook::raw_tp).works && !feature(r, Hook::tp_btf).works)
    return Error{"no tracepoint hook works (tracepoint, raw_tp, tp_btf): " + tp.reason,
                 r.tracefs ? "kscope needs CONFIG_TRACEPOINTS and CONFIG_BPF_EVENTS"
                           : r.tracefs.error().hint};
  return std::nullopt;
}

Report collect() {
  Report r;
  struct utsname u;
  if (::uname(&u) == 0) {
    r.release = u.release;
    r.machine = u.machine;
  }
  // Before the probes: the tracepoint probe would mount tracefs itself, and then doctor
  // could no longer tell who mounted it.
  r.tracefs = ensure_tracefs();
  r.bpffs = bpffs_mount();
  r.caps = current_capabilities();
  r.last_cap = kernel_last_cap();

  Features& features = Features::system();
  for (Hook h : kAllHooks) r.hooks.emplace_back(h, &features.probe(h));

  for (const ToolSpec& tool : tool_table()) {
    ToolRow row{&tool, choose_hook(tool, features), {}};
    const HookAlternative* chosen = row.chosen ? *row.chosen : nullptr;
    bool before = true;
    for (const auto& alt : tool.hooks) {
      const FeatureResult& f = features.probe(alt.hook);
      std::string status = &alt == chosen ? "chosen"
                           : !chosen      ? "missing"
                           : before       ? "skipped"
                                          : "fallback";
      if (&alt == chosen) before = false;
      row.alternatives.push_back({&alt, &f, std::move(status)});
    }
    r.tools.push_back(std::move(row));
  }
  r.fatal = fatal_reason(r);
  return r;
}

// ---- table ----

void render_table(const Report& r, fmt::memory_buffer& out) {
  auto line = [&](std::string_view key, std::string_view value) {
    fmt::format_to(std::back_inserter(out), "{:<14}{}\n", key, value);
  };
  line("kernel", fmt::format("{} ({})", r.release, r.machine));
  const auto& btf = feature(r, Hook::btf);
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
  for (const auto& n : kNeededCaps)
    caps += fmt::format("{}{} {}", caps.empty() ? "" : ", ", cap_name(n.cap),
                        r.caps.has(n.cap) ? "yes" : "no");
  line("capabilities", caps);
  std::vector<std::string> held, lacking;
  for (int c = 0; c <= r.last_cap; ++c) (r.caps.has(c) ? held : lacking).push_back(cap_name(c));
  line("", fmt::format("CapEff {:#018x}: {} of {} held{}", r.caps.effective, held.size(),
                       r.last_cap + 1,
                       lacking.empty() || held.empty() ? ""
                       : held.size() >= lacking.size() ? fmt::format(", all but {}",
                                                                     fmt::join(lacking, ", "))
                                                       : fmt::format(": {}",
                                                                     fmt::join(held, ", "))));

  fmt::format_to(std::back_inserter(out), "\n{:<12}{:<9}{}\n", "HOOK", "STATUS", "DETAIL");
  for (const auto& [hook, result] : r.hooks)
    fmt::format_to(std::back_inserter(out), "{:<12}{:<9}{}\n", hook_name(hook),
                   result->works ? "works" : "missing", result->reason);

  fmt::format_to(std::back_inserter(out), "\n{:<8}{:<12}{}\n", "TOOL", "HOOK", "ATTACH POINTS");
  for (const auto& t : r.tools) {
    if (!t.chosen) {
      fmt::format_to(std::back_inserter(out), "{:<8}{:<12}{}\n", t.tool->name, "none",
                     t.chosen.error().message);
      continue;
    }
    fmt::format_to(std::back_inserter(out), "{:<8}{:<12}{}\n", t.tool->name, (*t.chosen)->name,
                   (*t.chosen)->attach_points);
    for (const auto& a : t.alternatives) {
      if (a.status == "skipped")
        fmt::format_to(std::back_inserter(out), "{:<8}  skipped {}: {} {}: {}\n", "",
                       a.alt->name, hook_name(a.alt->hook), "missing", a.feature->reason);
      else if (a.status == "fallback")
        fmt::format_to(std::back_inserter(out), "{:<8}  fallback {} ({}): {}\n", "", a.alt->name,
                       a.feature->works ? "works" : "missing", a.alt->attach_points);
    }
  }
}

// ---- json ----

// A small writer for one pretty-printed JSON object: it places the commas and indentation.
class Json {
 public:
  explicit Json(fmt::memory_buffer& out) : out_(out) {}

  Json& open(std::string_view key, char bracket) {
    item(key);
    out_.push_back(bracket);
    first_.push_back(true);
    return *this;
  }
  Json& close(char bracket) {
    bool empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_.push_back(bracket);
    return *this;
  }
  Json& str(std::string_view key, std::string_view v) {
    item(key);
    append_json_string(out_, v);
    return *this;
  }
  Json& boolean(std::string_view key, bool v) {
    item(key);
    fmt::format_to(std::back_inserter(out_), "{}", v);
    return *this;
  }
  Json& null(std::string_view key) {
    item(key);
    fmt::format_to(std::back_inserter(out_), "null");
    return *this;
  }
  Json& error(std::string_view key, const std::optional<Error>& e) {
    if (!e) return null(key);
    return open(key, '{').str("message", e->message).str("hint", e->hint).close('}');
  }

 private:
  // Starts a member (key non-empty) or an array element (key empty).
  void item(std::string_view key) {
    if (!first_.empty()) {
      if (!first_.back()) out_.push_back(',');
      first_.back() = false;
      newline();
    }
    if (!key.empty()) {
      append_json_string(out_, key);
      fmt::format_to(std::back_inserter(out_), ": ");
    }
  }
  void newline() {
    out_.push_back('\n');
    for (size_t i = 0; i < first_.size(); ++i) fmt::format_to(std::back_inserter(out_), "  ");
  }

  fmt::memory_buffer& out_;
  std::vector<bool> first_;
};

void render_json(const Report& r, fmt::memory_buffer& out) {
  Json j(out);
  j.open("", '{');
  j.boolean("ok", !r.fatal).error("error", r.fatal);
  j.open("kernel", '{').str("release", r.release).str("machine", r.machine).close('}');

  const auto& btf = feature(r, Hook::btf);
  j.open("btf", '{').str("path", kBtfPath).boolean("works", btf.works).str("detail", btf.reason);
  j.close('}');

  j.open("tracefs", '{');
  if (r.tracefs)
    j.boolean("ok", true).str("path", r.tracefs->path).boolean("mounted_by_us",
                                                                r.tracefs->mounted_by_us);
  else
    j.boolean("ok", false).null("path").boolean("mounted_by_us", false)
        .error("error", r.tracefs.error());
  j.close('}');

  j.open("bpffs", '{');
  if (r.bpffs)
    j.boolean("ok", true).str("path", *r.bpffs);
  else
    j.boolean("ok", false).null("path").error("error", r.bpffs.error());
  j.close('}');

  j.open("capabilities", '{').str("effective", fmt::format("{:#018x}", r.caps.effective));
  j.boolean("tracing_allowed", require_tracing_privileges(r.caps).has_value());
  j.open("needed", '{');
  for (const auto& n : kNeededCaps)
    j.open(cap_name(n.cap), '{').boolean("held", r.caps.has(n.cap)).str("for", n.why).close('}');
  j.close('}');
  j.open("held", '[');
  for (int c = 0; c < 64; ++c)
    if (r.caps.has(c)) j.str("", cap_name(c));
  j.close(']');
  j.open("missing", '[');
  for (int c = 0; c <= r.last_cap; ++c)
    if (!r.caps.has(c)) j.str("", cap_name(c));
  j.close(']');
  j.close('}');

  j.open("hooks", '{');
  for (const auto& [hook, result] : r.hooks)
    j.open(hook_name(hook), '{').boolean("works", result->works).str("reason", result->reason)
        .close('}');
  j.close('}');

  j.open("tools", '{');
  for (const auto& t : r.tools) {
    j.open(t.tool->name, '{');
    if (t.chosen)
      j.str("hook", (*t.chosen)->name).str("attach_points", (*t.chosen)->attach_points)
          .null("error");
    else
      j.null("hook").null("attach_points").error("error", t.chosen.error());
    j.open("alternatives", '[');
    for (const auto& a : t.alternatives)
      j.open("", '{')
          .str("name", a.alt->name)
          .str("hook", hook_name(a.alt->hook))
          .str("status", a.status)
          .boolean("works", a.feature->works)
          .str("reason", a.feature->reason)
          .close('}');
    j.close(']');
    j.close('}');
  }
  j.close('}');
  j.close('}');
  out.push_back('\n');
}

int run_doctor(const std::string& format) {
  Report r = collect();
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
