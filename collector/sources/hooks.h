// A tool's hook alternatives: groups of programs of one probe object, in order of
// preference (tracepoints first), each with the hook type and kernel helpers it needs.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "bpf/features.h"

namespace kscope {

struct HelperNeed {
  int id;                 // BPF_FUNC_*
  std::string_view name;  // for the reason, e.g. "bpf_task_pt_regs (Linux 5.15)"
};

// A tracepoint field without which an alternative works but is inexact.
struct TracepointFieldNeed {
  std::string_view event;  // "sched/sched_process_exit"
  std::string_view field;
  std::string_view what;   // e.g. "group_dead in sched_process_exit"
};

struct HookAlternative {
  std::string_view name;              // what --hook, --list and doctor call it
  Hook hook;                          // the hook type it needs
  std::vector<std::string> programs;  // the programs of the probe object it loads
  std::string_view attach_points;     // e.g. "syscalls:sys_{enter,exit}_execve"
  std::vector<HelperNeed> helpers;    // helpers its programs call that older kernels lack
  // Where the kernel lacks this, the alternative is inexact (the tool's docs say how), and
  // every alternative that is exact here is tried before it.
  std::optional<TracepointFieldNeed> exact_with = std::nullopt;
};

// The alternative called `name`, or an error listing the tool's alternatives.
Result<const HookAlternative*> find_hook(std::string_view tool,
                                         std::span<const HookAlternative> hooks,
                                         std::string_view name);

// Whether the feature probes say this alternative can work here: its hook type loads and
// attaches, and the kernel has every helper it calls. The reason says what is missing.
// Without probe_hook_type the hook type is not probed (the caller's own load is the test),
// but a hook type already known to be missing still fails.
FeatureResult assess_hook(const HookAlternative& alt, Features& features,
                          bool probe_hook_type = true);

// Why `alt` is inexact on this kernel, or nothing when it is exact here.
std::optional<std::string> inexact_here(const HookAlternative& alt, Features& features);

// The alternatives in the order a run tries them: those exact here first, then the inexact
// ones, each group in the tool's order.
std::vector<const HookAlternative*> rank_hooks(std::span<const HookAlternative> hooks,
                                               Features& features);

struct HookChoice {
  const HookAlternative* alt;
  std::string status;  // "chosen", "skipped" (missing, before the chosen one), "fallback"
                       // (after it), "missing" (none works)
  FeatureResult feature;
  std::optional<std::string> inexact;  // why its events are inexact here
};

// Every alternative, in the order a run tries them, with what the feature probes say of it,
// and the one a run will use (null when none can work): what `trace --list` and `doctor`
// show.
std::vector<HookChoice> predict_hooks(std::span<const HookAlternative> hooks, Features& features);

}  // namespace kscope
