// The hook alternatives of the syscall tools (trace syscount, trace syslat), whose probes
// take theirs from probes/common/syscall_timing.bpf.h: tp_btf first, as it runs the program
// straight from the tracepoint, where the raw_syscalls tracepoint first builds its record
// (six arguments) for every syscall. A call's start lives in its task's storage, which every
// hook reaches the same way.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "sources/hooks.h"

namespace kscope::tools {

inline std::vector<HookAlternative> syscall_hooks() {
  const std::vector<HelperNeed> helpers = {
      {BPF_FUNC_task_storage_get, "bpf_task_storage_get in tracing programs (Linux 5.12)"},
      {BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf (Linux 5.11)"}};
  return {{"tp_btf", Hook::tp_btf, {"btf_sys_enter", "btf_sys_exit"}, "tp_btf sys_enter, sys_exit",
           helpers},
          {"raw_tp", Hook::raw_tp, {"raw_sys_enter", "raw_sys_exit"}, "raw_tp sys_enter, sys_exit",
           helpers},
          {"tracepoint", Hook::tracepoint, {"tp_sys_enter", "tp_sys_exit"},
           "raw_syscalls:sys_enter, sys_exit", helpers}};
}

}  // namespace kscope::tools
