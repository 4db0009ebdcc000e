// The tool table: every trace tool, its summary, and its hook alternatives in order of
// preference. Listing, --help, `kscope doctor` and hook selection all read this one table.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpf/features.h"
#include "bpf/result.h"

namespace kscope {

struct HookAlternative {
  std::string_view name;                 // what `--hook` and doctor call it
  Hook hook;                             // the feature it needs
  std::vector<std::string> programs;     // the programs of the probe object it loads
  std::string_view attach_points;        // for doctor, e.g. "syscalls:sys_enter_execve, ..."
};

struct ToolSpec {
  std::string_view name;     // "exec" -> `kscope trace exec`
  std::string_view summary;
  std::string_view example;
  std::vector<HookAlternative> hooks;
};

std::span<const ToolSpec> tool_table();
const ToolSpec* find_tool(std::string_view name);

// The alternative called `name`, or an error listing the tool's alternatives.
Result<const HookAlternative*> find_hook(const ToolSpec& tool, std::string_view name);

// The first alternative whose hook works here, or the one named by `forced` (--hook), with
// an error that names what is missing when none can work.
Result<const HookAlternative*> choose_hook(const ToolSpec& tool, Features& features,
                                          std::optional<std::string_view> forced = {});

}  // namespace kscope
