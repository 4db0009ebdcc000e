#include "tools.h"

#include <fmt/format.h>

namespace kscope {
namespace {

// Both syscall tools prefer the per-syscall tracepoints, which fire only for the syscalls
// traced; the raw sys_enter/sys_exit fallback sees every syscall and filters by number, for
// kernels built without CONFIG_FTRACE_SYSCALLS.
const std::vector<ToolSpec> kTools = {
    {"exec", "every execve/execveat: pid, ppid, uid, result and the full argv",
     "kscope trace exec --failed --max-args 32",
     {
         {"tracepoint", Hook::tracepoint,
          {"tp_enter_execve", "tp_enter_execveat", "tp_exit_execve", "tp_exit_execveat"},
          "syscalls:sys_{enter,exit}_{execve,execveat}"},
         {"tp_btf", Hook::tp_btf, {"btf_sys_enter", "btf_sys_exit"}, "tp_btf sys_enter, sys_exit"},
     }},
    {"open", "every openat/openat2: flags, mode, fd or errno, and the path",
     "kscope trace open --path /etc --failed",
     {
         {"tracepoint", Hook::tracepoint, {"tp_exit_openat", "tp_exit_openat2"},
          "syscalls:sys_exit_{openat,openat2}"},
         {"tp_btf", Hook::tp_btf, {"btf_sys_exit"}, "tp_btf sys_exit"},
     }},
};

}  // namespace

std::span<const ToolSpec> tool_table() { return kTools; }

const ToolSpec* find_tool(std::string_view name) {
  for (const auto& t : kTools)
    if (t.name == name) return &t;
  return nullptr;
}

Result<const HookAlternative*> find_hook(const ToolSpec& tool, std::string_view name) {
  std::string names;
  for (const auto& alt : tool.hooks) {
    if (alt.name == name) return &alt;
    names += (names.empty() ? "" : ", ") + std::string(alt.name);
  }
  return fail(fmt::format("--hook {}: trace {} has no such hook", name, tool.name),
              fmt::format("choose one of: {}", names));
}

Result<const HookAlternative*> choose_hook(const ToolSpec& tool, Features& features,
                                          std::optional<std::string_view> forced) {
  if (forced) {
    auto alt = find_hook(tool, *forced);
    if (!alt) return alt;
    const auto& r = features.probe((*alt)->hook);
    if (!r.works)
      return fail(fmt::format("--hook {}: {} does not work on this kernel: {}", (*alt)->name,
                              hook_name((*alt)->hook), r.reason),
                  "leave --hook out to use the first hook that works; `kscope doctor` lists them");
    return alt;
  }
  std::string why;
  for (const auto& alt : tool.hooks) {
    const auto& r = features.probe(alt.hook);
    if (r.works) return &alt;
    why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", alt.name, r.reason);
  }
  return fail(fmt::format("trace {} cannot attach on this kernel ({})", tool.name, why),
              "`kscope doctor` shows which hook types this kernel supports");
}

}  // namespace kscope
