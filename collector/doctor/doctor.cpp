#include "doctor/doctor.h"

#include <linux/capability.h>
#include <sys/utsname.h>

#include <array>
#include <fstream>

#include <fmt/format.h>

#include "registry/registry.h"

namespace kscope::doctor {
namespace {

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
constexpr std::array<NeededCap, 6> kNeededCaps = {{
    {CAP_BPF, "load BPF programs, create maps"},
    {CAP_PERFMON, "attach tracing and perf_event programs"},
    {CAP_SYS_ADMIN, "all of the above on kernels before 5.8; mount tracefs"},
    {CAP_NET_ADMIN, "attach tc and xdp programs"},
    {CAP_SYS_RESOURCE, "raise the memlock limit on kernels without memcg accounting"},
    {CAP_SYS_PTRACE, "read other processes' /proc entries for enrichment"},
}};

int kernel_last_cap() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int last = static_cast<int>(kCapNames.size()) - 1;
  f >> last;
  return last < 0 || last > 63 ? 63 : last;
}

// The first reason kscope cannot work here at all, if any.
std::optional<Error> fatal_reason(const Report& r) {
  if (auto p = require_tracing_privileges(r.caps); !p) return p.error();
  if (const auto& btf = r.feature(Hook::btf); !btf.works)
    return Error{"kernel BTF is missing: " + btf.reason,
                 "kscope needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (it provides "
                 "/sys/kernel/btf/vmlinux)"};
  if (const auto& rb = r.feature(Hook::ringbuf); !rb.works)
    return Error{"BPF ring buffers do not work: " + rb.reason,
                 "kscope needs Linux 5.8 or newer (BPF_MAP_TYPE_RINGBUF)"};
  const auto& tp = r.feature(Hook::tracepoint);
  if (!tp.works && !r.feature(Hook::raw_tp).works && !r.feature(Hook::tp_btf).works)
    return Error{"no tracepoint hook works (tracepoint, raw_tp, tp_btf): " + tp.reason,
                 r.tracefs ? "kscope needs CONFIG_TRACEPOINTS and CONFIG_BPF_EVENTS"
                           : r.tracefs.error().hint};
  return std::nullopt;
}

}  // namespace

std::span<const NeededCap> needed_caps() { return kNeededCaps; }

std::string cap_name(int cap) {
  return cap >= 0 && cap < static_cast<int>(kCapNames.size()) ? kCapNames[cap]
                                                              : fmt::format("cap_{}", cap);
}

const FeatureResult& Report::feature(Hook h) const {
  for (const auto& [hook, result] : hooks)
    if (hook == h) return *result;
  static const FeatureResult kNone{false, "not probed"};
  return kNone;
}

const HookChoice* ToolRow::chosen() const {
  for (const auto& a : alternatives)
    if (a.status == "chosen") return &a;
  return nullptr;
}

std::string ToolRow::why_none() const {
  std::string why;
  for (const auto& a : alternatives)
    why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", a.alt->name, a.feature.reason);
  return why;
}

std::vector<ToolRow> tool_rows(Features& features) {
  std::vector<ToolRow> rows;
  for (const Tool* tool : all_tools()) rows.push_back({tool, predict_hooks(tool->hooks(), features)});
  return rows;
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

  r.tools = tool_rows(features);
  r.fatal = fatal_reason(r);
  return r;
}

}  // namespace kscope::doctor
